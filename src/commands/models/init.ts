import {Flags} from '@oclif/core';
import {Ptv2Command} from '../../cli/base.js';
import {architectureFlags, architectureOf, checkNewCheckpoint} from '../../cli/model-flags.js';
import {UserError} from '../../errors.js';
import type {ByteLevelBpeVocab} from '../../model/bpe-vocab.js';
import type {TokenizerJsonVocab} from '../../model/checkpoint.js';

export default class ModelsInit extends Ptv2Command {
  static override description = `Write a randomly initialised BERT, RoBERTa or DeBERTa-v2 checkpoint in HuggingFace's format.

The directory holds config.json, model.safetensors, and vocab.txt for BERT, vocab.json + merges.txt for RoBERTa, or tokenizer.json for DeBERTa-v2. Tensor names and shapes are exactly those transformers writes (bert.encoder.layer.0.attention.self.query.weight, …), so the directory loads like any downloaded checkpoint. The vocabulary covers ptv2's built-in sample data: BERT's as whole words and characters (WordPiece), RoBERTa's as cased byte-level BPE merges learned on its text (counted by frequency, so words and names are single tokens), DeBERTa's as a Unigram model with one piece per word and per character. A DeBERTa-v2 checkpoint has DeBERTa-v3-base's settings (relative attention over 256 log buckets, shared attention keys, no absolute positions).`;

  static override examples = [
    '<%= config.bin %> models init --out runs/models/tiny-bert',
    '<%= config.bin %> models init --out runs/models/small-bert --layers 4 --hidden 256 --heads 4 --intermediate 1024',
    '<%= config.bin %> models init --type roberta --out runs/models/tiny-roberta',
    '<%= config.bin %> models init --type deberta-v2 --out runs/models/tiny-deberta',
  ];

  static override flags = {
    ...architectureFlags({default: 512, why: 'BERT\'s 512 holds any default input plus a prompt'}),
    type: Flags.string({description: 'architecture', options: ['bert', 'roberta', 'deberta-v2'], default: 'bert'}),
    seed: Flags.integer({description: 'initialisation seed', default: 42}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {flags} = await this.parse(ModelsInit);
    checkNewCheckpoint(flags);
    const {randomCheckpoint, writeCheckpoint} = await import('../../model/checkpoint.js');
    const {worldVocabulary} = await import('../../data/synthetic/index.js');
    const words = worldVocabulary();
    let vocab: string[] | ByteLevelBpeVocab | TokenizerJsonVocab;
    let tokenCount: number;
    if (flags.type === 'roberta') {
      const {buildCasedBpeVocab, MIN_BPE_VOCAB_SIZE} = await import('../../model/bpe-vocab.js');
      const {worldPieces} = await import('../../data/synthetic/index.js');
      if (flags.vocab !== undefined && flags.vocab < MIN_BPE_VOCAB_SIZE) {
        throw new UserError(
          `expected at least ${MIN_BPE_VOCAB_SIZE} tokens for RoBERTa (5 special tokens and 256 byte symbols), got ${flags.vocab}`,
          {field: '--vocab'},
          [`use --vocab ${MIN_BPE_VOCAB_SIZE} or more, or leave it out`],
        );
      }
      vocab = buildCasedBpeVocab(worldPieces(), flags.vocab);
      tokenCount = vocab.tokens.length;
    } else if (flags.type === 'deberta-v2') {
      const {buildUnigramVocab, minUnigramVocabSize} = await import('../../model/unigram-vocab.js');
      const least = minUnigramVocabSize(words);
      if (flags.vocab !== undefined && flags.vocab < least) {
        throw new UserError(`expected at least ${least} tokens for DeBERTa (5 special tokens, ▁ and the sample data's characters), got ${flags.vocab}`, {field: '--vocab'}, [
          `use --vocab ${least} or more, or leave it out`,
        ]);
      }
      vocab = buildUnigramVocab(words, flags.vocab);
      tokenCount = vocab.tokens.length;
    } else {
      const {buildWordPieceVocab} = await import('../../model/vocab.js');
      vocab = buildWordPieceVocab(words, flags.vocab);
      tokenCount = vocab.length;
    }
    // BPE learns at most --vocab tokens; the embedding keeps the asked-for rows all the same.
    const vocabSize = flags.vocab ?? tokenCount;
    const {config, weights} = randomCheckpoint({modelType: flags.type as 'bert' | 'roberta' | 'deberta-v2', ...architectureOf(flags, vocabSize)});
    // Written beside --out and renamed into place: a killed process leaves no half-written checkpoint.
    const {writeDirectoryAtomically} = await import('../../model/atomic-dir.js');
    await writeDirectoryAtomically(flags.out, (tmp) => writeCheckpoint(tmp, config, weights, vocab), {replace: flags.force});
    const parameters = [...weights.values()].reduce((n, t) => n + t.data.length, 0);
    this.log(`wrote ${flags.out}: ${flags.layers} layers × ${flags.hidden} hidden, ${tokenCount} tokens, ${parameters.toLocaleString('en')} parameters`);
    return {out: flags.out, parameters, vocabSize, config};
  }
}
