import {Flags} from '@oclif/core';
import {Ptv2Command} from '../../cli/base.js';
import {architectureFlags, architectureOf, checkNewCheckpoint} from '../../cli/model-flags.js';
import {BACKEND_CHOICES} from '../../compute/backend.js';
import {UserError} from '../../errors.js';

export default class ModelsPretrain extends Ptv2Command {
  static override description = `Write a small BERT or RoBERTa pretrained by masked language modelling on the text of ptv2's synthetic world.

The text is the sample data sets' training splits plus fresh sentences about the same world, never a dev or test text. The checkpoint is saved as transformers saves a BertForMaskedLM (bert.* encoder tensors, cls.predictions.* head, config.json with architectures ["BertForMaskedLM"]) plus the pooler, untrained, as initialised, so classification runs on it can read it and be exported, so ptv2 and transformers both load it. --type roberta writes a RobertaForMaskedLM (roberta.* tensors, lm_head.* head) with a byte-level BPE vocabulary learned on the sample data's words. Prints the held-out MLM loss and masked-token accuracy of every epoch, and the accuracy of always guessing the most frequent token. The defaults take about 80 seconds on two CPU cores (WASM backend).`;

  static override examples = [
    '<%= config.bin %> models pretrain --out runs/models/quick-mlm --epochs 1 --corpus-scale 0',
    '<%= config.bin %> models pretrain --out runs/models/mini-mlm --layers 1 --hidden 32 --heads 2 --intermediate 64 --epochs 2 --corpus-scale 0',
    '<%= config.bin %> models pretrain --type roberta --out runs/models/mini-roberta-mlm --layers 1 --hidden 32 --heads 2 --intermediate 64 --epochs 1 --corpus-scale 0',
  ];

  static override flags = {
    ...architectureFlags({default: 128, why: 'the quick start\'s inputs and prompt fit in 128'}),
    type: Flags.string({description: 'architecture', options: ['bert', 'roberta'], default: 'bert'}),
    seed: Flags.integer({description: 'initialisation, masking and shuffling seed', default: 42}),
    epochs: Flags.integer({description: 'passes over the corpus (default 4)', min: 1}),
    'batch-size': Flags.integer({description: 'inputs per step (default 32)', min: 1}),
    lr: Flags.string({description: 'peak learning rate (default 0.003)'}),
    'max-length': Flags.integer({description: 'tokens per input incl. [CLS]/[SEP] (default 64)', min: 3}),
    'corpus-scale': Flags.string({description: 'fresh sentences as a multiple of the sample data (default 1)'}),
    backend: Flags.string({description: 'tfjs backend', options: [...BACKEND_CHOICES]}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {flags} = await this.parse(ModelsPretrain);
    checkNewCheckpoint(flags);
    const pretrain = await pretrainConfig(flags);
    if (pretrain.max_length > flags['max-positions']) {
      throw new UserError(`${pretrain.max_length} is more than --max-positions ${flags['max-positions']}`, {field: '--max-length'});
    }

    const {initBackend, resolveBackendChoice} = await import('../../compute/backend.js');
    const {info, tf} = await initBackend(resolveBackendChoice(flags.backend));
    tf.enableProdMode();
    const {writePretrainedCheckpoint} = await import('../../pretrain.js');
    const vocab = await createdVocabulary(flags.type as 'bert' | 'roberta', flags.vocab);
    const vocabSize = Array.isArray(vocab) ? vocab.length : vocab.tokens.length;
    const report = await writePretrainedCheckpoint(
      flags.out,
      {...architectureOf(flags, flags.vocab ?? vocabSize), modelType: flags.type as 'bert' | 'roberta'},
      vocab,
      pretrain,
      (event) => {
        if (event.type === 'eval') {
          const {loss, accuracy} = event.metrics;
          this.log(`epoch ${event.epoch}/${pretrain.epochs}: held-out MLM loss ${loss.toFixed(3)}, masked-token accuracy ${(100 * accuracy).toFixed(1)}%`);
        }
      },
      // --force: the old checkpoint is replaced only once the new one is complete.
      {replace: flags.force},
    );
    const last = report.epochs.at(-1)!;
    this.log(
      `wrote ${flags.out} (${flags.type === 'roberta' ? 'RobertaForMaskedLM' : 'BertForMaskedLM'}, ${flags.layers} layers × ${flags.hidden} hidden, ${vocabSize} tokens) in ${report.seconds.toFixed(0)} s on ${info.name}: ` +
        `masked-token accuracy ${(100 * last.accuracy).toFixed(1)}% vs ${(100 * report.unigram.accuracy).toFixed(1)}% for the most frequent token ` +
        `(${report.heldOutTargets} masked tokens of ${report.heldOutItems} held-out items)`,
    );
    return {out: flags.out, backend: info.name, type: flags.type, vocabSize, pretrain, report};
  }
}

/** BERT's WordPiece over the sample data's words or RoBERTa's cased byte-level BPE over its text, as `models init` makes them. */
async function createdVocabulary(type: 'bert' | 'roberta', size: number | undefined) {
  const {worldPieces, worldVocabulary} = await import('../../data/synthetic/index.js');
  if (type === 'bert') {
    const {buildWordPieceVocab} = await import('../../model/vocab.js');
    return buildWordPieceVocab(worldVocabulary(), size);
  }
  const {buildCasedBpeVocab, MIN_BPE_VOCAB_SIZE} = await import('../../model/bpe-vocab.js');
  if (size !== undefined && size < MIN_BPE_VOCAB_SIZE) {
    throw new UserError(`expected at least ${MIN_BPE_VOCAB_SIZE} tokens for RoBERTa (5 special tokens and 256 byte symbols), got ${size}`, {field: '--vocab'}, [`use --vocab ${MIN_BPE_VOCAB_SIZE} or more, or leave it out`]);
  }
  return buildCasedBpeVocab(worldPieces(), size);
}

/** The flags as `model.init.pretrain`, through the config schema so both get the same defaults and checks. */
async function pretrainConfig(flags: {epochs?: number; 'batch-size'?: number; lr?: string; 'max-length'?: number; 'corpus-scale'?: string}) {
  const {modelPretrainSchema} = await import('../../config/schema.js');
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const given = {
    epochs: flags.epochs,
    batch_size: flags['batch-size'],
    lr: number(flags.lr),
    max_length: flags['max-length'],
    corpus_scale: number(flags['corpus-scale']),
  };
  const result = modelPretrainSchema.safeParse(Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)));
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue.path[0]);
    const flag = `--${key.replace(/_/g, '-')}`;
    throw new UserError(`${issue.message}, got ${JSON.stringify(flags[flag.slice(2) as keyof typeof flags])}`, {field: flag});
  }
  return result.data;
}
