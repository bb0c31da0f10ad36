import {Flags} from '@oclif/core';
import {Ptv2Command} from '../../cli/base.js';
import {architectureFlags, architectureOf, checkNewCheckpoint} from '../../cli/model-flags.js';
import {UserError} from '../../errors.js';

export default class ModelsInit extends Ptv2Command {
  static override description = `Write a randomly initialised checkpoint in HuggingFace's format (config.json, model.safetensors, vocab.txt).

Tensor names and shapes are exactly those transformers writes (bert.encoder.layer.0.attention.self.query.weight, …),
so the directory loads like any downloaded checkpoint. The vocabulary covers ptv2's built-in sample data.`;

  static override examples = [
    '<%= config.bin %> models init --out runs/models/tiny-bert',
    '<%= config.bin %> models init --out runs/models/base-shaped --layers 12 --hidden 768 --heads 12 --intermediate 3072 --vocab 30522',
  ];

  static override flags = {
    ...architectureFlags({default: 512, why: 'BERT\'s 512 holds any default input plus a prompt'}),
    type: Flags.string({description: 'architecture', options: ['bert', 'roberta'], default: 'bert'}),
    seed: Flags.integer({description: 'initialisation seed', default: 42}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {flags} = await this.parse(ModelsInit);
    checkNewCheckpoint(flags);
    if (flags.type === 'roberta') {
      throw new UserError('random RoBERTa checkpoints need a byte-level BPE vocabulary (vocab.json + merges.txt), which ptv2 cannot build yet', {field: '--type'}, ['use --type bert']);
    }
    const {randomCheckpoint, writeCheckpoint} = await import('../../model/checkpoint.js');
    const {buildWordPieceVocab} = await import('../../model/vocab.js');
    const {worldVocabulary} = await import('../../data/synthetic/index.js');
    const vocab = buildWordPieceVocab(worldVocabulary(), flags.vocab);
    const {config, weights} = randomCheckpoint({modelType: flags.type as 'bert' | 'roberta', ...architectureOf(flags, vocab.length)});
    writeCheckpoint(flags.out, config, weights, vocab);
    const parameters = [...weights.values()].reduce((n, t) => n + t.data.length, 0);
    this.log(`wrote ${flags.out}: ${flags.layers} layers × ${flags.hidden} hidden, ${vocab.length} tokens, ${parameters.toLocaleString('en')} parameters`);
    return {out: flags.out, parameters, vocabSize: vocab.length, config};
  }
}
