import {Flags} from '@oclif/core';
import {Ptv2Command} from '../../cli/base.js';
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
    out: Flags.string({description: 'directory to create', required: true}),
    type: Flags.string({description: 'architecture', options: ['bert', 'roberta'], default: 'bert'}),
    layers: Flags.integer({description: 'encoder layers', default: 2, min: 1}),
    hidden: Flags.integer({description: 'hidden size', default: 64, min: 1}),
    heads: Flags.integer({description: 'attention heads (must divide hidden)', default: 4, min: 1}),
    intermediate: Flags.integer({description: 'feed-forward size', default: 256, min: 1}),
    'max-positions': Flags.integer({description: 'position embeddings (BERT\'s 512 holds any default input plus a prompt)', default: 512, min: 1}),
    vocab: Flags.integer({description: 'vocabulary size (default: just the sample data\'s words); padded with [unusedN]', min: 1}),
    seed: Flags.integer({description: 'initialisation seed', default: 42}),
    force: Flags.boolean({description: 'overwrite an existing directory'}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {flags} = await this.parse(ModelsInit);
    const fs = await import('node:fs');
    if (fs.existsSync(flags.out) && !flags.force) {
      throw new UserError('directory exists already', {file: flags.out}, ['pass --force to overwrite it', 'or choose another --out']);
    }
    if (flags.hidden % flags.heads !== 0) throw new UserError(`--hidden ${flags.hidden} is not divisible by --heads ${flags.heads}`, {field: '--heads'});
    if (flags.type === 'roberta') {
      throw new UserError('random RoBERTa checkpoints need a byte-level BPE vocabulary (vocab.json + merges.txt), which ptv2 cannot build yet', {field: '--type'}, ['use --type bert']);
    }
    const {randomCheckpoint, writeCheckpoint} = await import('../../model/checkpoint.js');
    const {buildWordPieceVocab} = await import('../../model/vocab.js');
    const {worldVocabulary} = await import('../../data/synthetic/index.js');
    const vocab = buildWordPieceVocab(worldVocabulary(), flags.vocab);
    const {config, weights} = randomCheckpoint({
      modelType: flags.type as 'bert' | 'roberta',
      layers: flags.layers,
      hidden: flags.hidden,
      heads: flags.heads,
      intermediate: flags.intermediate,
      maxPositions: flags['max-positions'],
      vocabSize: vocab.length,
      seed: flags.seed,
    });
    writeCheckpoint(flags.out, config, weights, vocab);
    const parameters = [...weights.values()].reduce((n, t) => n + t.data.length, 0);
    this.log(`wrote ${flags.out}: ${flags.layers} layers × ${flags.hidden} hidden, ${vocab.length} tokens, ${parameters.toLocaleString('en')} parameters`);
    return {out: flags.out, parameters, vocabSize: vocab.length, config};
  }
}
