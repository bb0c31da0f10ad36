/**
 * The experiment config as users write it in YAML (snake_case keys), as a zod schema.
 *
 * Every object is strict so a misspelt key fails instead of silently falling back to a default.
 * Every leaf carries an "expected ..." message that load.ts completes with what was actually
 * written (`expected a number > 0, got "fast"`), so each leaf is built by a helper that gives the
 * type check and the range checks one message. Defaults follow the P-tuning v2 paper and its
 * reference implementation (Liu et al. 2022, github.com/THUDM/P-tuning-v2) scaled down to CPU.
 *
 * References: zod v4 (zod.dev/v4), HF PEFT's prefix/prompt tuning for position-id handling.
 */

import {z} from 'zod';

/** The training methods ptv2 implements; the order is the order reports list them in. */
export const METHODS = ['ft', 'pt', 'ptv1', 'prefix', 'pt2', 'mpt2'] as const;
export type Method = (typeof METHODS)[number];

export const BACKENDS = ['auto', 'tensorflow', 'blas', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

export const MODEL_TYPES = ['bert', 'roberta', 'deberta-v2'] as const;
export const DEPTH_ORDERS = ['ascending', 'descending'] as const;
/** What turns the encoder's output into label scores: a new linear layer, or the checkpoint's MLM head over label words. */
export const HEADS = ['linear', 'verbalizer'] as const;
export type HeadChoice = (typeof HEADS)[number];
export const PROMPT_ENCODER_KINDS = ['lstm', 'mlp'] as const;
export const PROMPT_INITS = ['random', 'vocab', 'words'] as const;

/** Keys a sweep may vary: the ones the paper's ablations vary, plus the seed for repeats. */
export const SWEEP_KEYS = [
  'prompt.length',
  'prompt.depth',
  'prompt.reparameterize',
  'prompt.dropout',
  'train.lr',
  'train.batch_size',
  'train.epochs',
  'seed',
  'head',
] as const;
export type SweepKey = (typeof SWEEP_KEYS)[number];

export const EXPERIMENT_NAME = /^[\w.-]+$/;
export const TASK_NAME = /^[a-z0-9_]+$/;

/** One message for every way a leaf can fail, so the user reads one expectation per key. */
function expecting(what: string): {error: string} {
  return {error: `expected ${what}`};
}

function intAtLeast(min: number, what = `an integer >= ${min}`) {
  const e = expecting(what);
  return z.int(e).min(min, e);
}

function intBetween(min: number, max: number) {
  const e = expecting(`an integer from ${min} to ${max}`);
  return z.int(e).min(min, e).max(max, e);
}

function numberAbove(min: number) {
  const e = expecting(`a number > ${min}`);
  return z.number(e).gt(min, e);
}

function numberAtLeast(min: number) {
  const e = expecting(`a number >= ${min}`);
  return z.number(e).gte(min, e);
}

/** Ratios and dropout probabilities: 1 would drop or warm up everything. */
function fraction() {
  const e = expecting('a number in [0, 1)');
  return z.number(e).gte(0, e).lt(1, e);
}

function flag(what = 'true or false') {
  return z.boolean(expecting(what));
}

function text(what: string) {
  const e = expecting(what);
  return z.string(e).min(1, e);
}

function matching(pattern: RegExp, what: string) {
  const e = expecting(what);
  return z.string(e).regex(pattern, e);
}

function mapping<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape, expecting('a mapping of keys to values'));
}

/** The leaves a sweep can set, kept apart so sweep values are checked against the same rules. */
const promptLength = intBetween(1, 512);
const promptDepth = intAtLeast(1, 'an integer >= 1, or null for all layers').nullable();
const promptReparameterize = flag();
const promptDropout = fraction();
const trainLr = numberAbove(0);
const trainBatchSize = intAtLeast(1);
const trainEpochs = intAtLeast(1);
const seed = intAtLeast(0);
const head = z.enum(HEADS, expecting('"linear" or "verbalizer"'));

export const SWEEP_LEAVES: ReadonlyMap<SweepKey, z.ZodType> = new Map<SweepKey, z.ZodType>([
  ['prompt.length', promptLength],
  ['prompt.depth', promptDepth],
  ['prompt.reparameterize', promptReparameterize],
  ['prompt.dropout', promptDropout],
  ['train.lr', trainLr],
  ['train.batch_size', trainBatchSize],
  ['train.epochs', trainEpochs],
  ['seed', seed],
  ['head', head],
]);

const maskRateError = expecting('a number in (0, 1)');

/**
 * Masked-language-model pretraining of a created checkpoint on the synthetic world's text
 * (src/pretrain.ts). Defaults were measured at the quick start's size (2 × 64) on a 2-core
 * machine with the WASM backend: about 75 s, held-out masked-token accuracy ~30% against ~8%
 * for the most frequent token.
 */
export const modelPretrainSchema = mapping({
  // Four passes reach the first large drop in MLM loss within ~75 s; accuracy still rises after.
  epochs: intAtLeast(1).default(4),
  // 32 inputs per step: smaller batches learn more per second but make each epoch slower.
  batch_size: intAtLeast(1).default(32),
  // The largest rate that did not stall at the unigram baseline (6e-3 did; 4e-3 learned slower).
  lr: numberAbove(0).default(0.003),
  // Most corpus items fit in 64 tokens; the long passages are cut, which keeps steps cheap (at most max_positions).
  max_length: intAtLeast(3).default(64),
  // BERT's 15% of real tokens predicted per input.
  mask_rate: z.number(maskRateError).gt(0, maskRateError).lt(1, maskRateError).default(0.15),
  // Fresh sentences on top of the training splits' text, as a multiple of the sample data's size.
  corpus_scale: numberAtLeast(0).default(1),
  // A few epochs cannot overfit ~10,000 items; dropout would only slow the first steps down.
  dropout: fraction().default(0),
});

export const modelInitSchema = mapping({
  // Two layers of 64 train in seconds on CPU, which is what a generated checkpoint is for.
  layers: intAtLeast(1).default(2),
  // Small enough for smoke tests; divisible by the default head count.
  hidden: intAtLeast(1).default(64),
  // 64 / 4 gives 16-dimensional heads, the smallest that still behaves like attention.
  heads: intAtLeast(1).default(4),
  // BERT's 4x hidden feed-forward ratio.
  intermediate: intAtLeast(1).default(256),
  // BERT's 512: room for the longest default input (384 for QA) plus a prompt.
  max_positions: intAtLeast(1).default(512),
  // BERT is the architecture the paper's smallest runs use.
  type: z.enum(MODEL_TYPES).default('bert'),
  // Absent: the checkpoint stays random. Set ({} for the defaults): MLM-pretrained before first use.
  pretrain: modelPretrainSchema.optional(),
}).superRefine((init, ctx) => {
  if (!init.pretrain) return;
  // Pretraining writes BERT's or RoBERTa's MLM head; DeBERTa's (an enhanced mask decoder) is not built.
  if (init.type === 'deberta-v2') ctx.addIssue({code: 'custom', message: 'expected "bert" or "roberta" when pretrain is set', path: ['type'], input: init.type});
  if (init.pretrain.max_length > init.max_positions) {
    const message = `expected an integer <= max_positions (${init.max_positions})`;
    ctx.addIssue({code: 'custom', message, path: ['pretrain', 'max_length'], input: init.pretrain.max_length});
  }
});

export const modelSchema = mapping({
  path: text('a checkpoint directory path'),
  init: modelInitSchema.optional(),
  // SuperGLUE premises and questions mostly fit in 128 tokens; longer costs CPU time quadratically.
  // null: each family's usual length — 128 sub-tokens (SuperGLUE inputs mostly fit; longer costs
  // CPU time quadratically), 384 for extractive QA (BERT's SQuAD max_seq_length).
  max_length: intAtLeast(1, 'an integer >= 1, or null for each task family\'s usual length').nullable().default(null),
  // The checkpoint's tokenizer config knows whether it was trained on lowercased text.
  lowercase: flag('true, false or null to follow the checkpoint').nullable().default(null),
  // The reference implementation classifies from the pretrained pooler's output; false uses [CLS] directly.
  use_pooler: flag().default(true),
});

export const promptSchema = mapping({
  // Between the paper's short prompts for simple tasks (~8) and long ones for hard tasks (~100).
  length: promptLength.default(16),
  // The paper finds the MLP helps some tasks and hurts others, so plain embeddings are the baseline.
  reparameterize: promptReparameterize.default(false),
  // The reparameterisation MLP width of the reference implementation.
  reparam_hidden: intAtLeast(1).default(512),
  // Prefix-tuning's dropout on the generated prefixes.
  dropout: promptDropout.default(0.1),
  // Deep prompts on every layer is what P-tuning v2 is.
  depth: promptDepth.default(null),
  // The first k layers, as in the paper's depth ablation.
  depth_order: z.enum(DEPTH_ORDERS).default('ascending'),
  // HF/PEFT shift real tokens' positions by P; keeping it makes results comparable to theirs.
  shift_positions: flag().default(true),
  // BERT's initializer_range, so prompts start at the scale of the embeddings they sit beside.
  init_std: numberAtLeast(0).default(0.02),
  // A PEFT adapter directory (e.g. from `ptv2 export`) whose prompt table this prompt starts from
  // (prompt transfer); null starts from random values drawn with init_std.
  init_from: text('a PEFT adapter directory, or null for a random start').nullable().default(null),
  // ptv1: P-tuning's bi-LSTM + MLP prompt encoder; mlp drops the LSTM.
  encoder: z.enum(PROMPT_ENCODER_KINDS, expecting('"lstm" or "mlp"')).default('lstm'),
  // pt/ptv1: random draws (init_std); vocab: embeddings of sampled vocabulary tokens (Lester et al.);
  // words: embeddings of init_words' tokens, repeated to fill the prompt.
  init: z.enum(PROMPT_INITS, expecting('"random", "vocab" or "words"')).default('random'),
  // init: words — words whose sub-tokens' embeddings start the prompt.
  init_words: z.array(text('a word'), expecting('a list of words, or null')).min(1, expecting('a non-empty list of words')).nullable().default(null),
}).superRefine((prompt, ctx) => {
  if (prompt.init === 'words' && prompt.init_words === null) {
    ctx.addIssue({code: 'custom', message: 'expected "random" or "vocab", or init_words to start the prompt from', path: ['init'], input: prompt.init});
  }
  if (prompt.init !== 'random' && prompt.init_from !== null) {
    ctx.addIssue({code: 'custom', message: 'expected "random" when init_from gives the prompt\'s start (one start, not two)', path: ['init'], input: prompt.init});
  }
});

/**
 * The verbalizer head (the paper's Table 4): the input is written into a template with one [MASK],
 * and each label is scored by the checkpoint's own masked-LM head at the mask as the logit of the
 * label's word. Per task: words and template; defaults for the named SuperGLUE classification tasks
 * are in src/model/verbalizer.ts.
 */
export const verbalizerSchema = mapping({
  // One word per label, each a single token of the checkpoint's vocabulary.
  words: z.record(z.string(), text('a label word'), expecting('a mapping of labels to words')).optional(),
  // {a} / {b} (or the task's field names, e.g. {premise}, {hypothesis}) and exactly one [MASK].
  template: text('a template with one [MASK]').optional(),
  // The pretrained MLM head is kept frozen as the paper does; true trains it with the prompt.
  train_lm_head: flag().optional(),
});
export type VerbalizerConfig = z.output<typeof verbalizerSchema>;

export const trainSchema = mapping({
  // Enough for a small frozen-encoder run to move; the paper's 100 epochs are out of reach on CPU.
  epochs: trainEpochs.default(3),
  // The reference implementation's usual batch size for SuperGLUE.
  batch_size: trainBatchSize.default(16),
  // Evaluation keeps no gradients, so twice the training batch fits in the same memory.
  eval_batch_size: intAtLeast(1).default(32),
  // Prompt methods need learning rates around 1e-2..5e-3; fine-tuning overrides it lower.
  lr: trainLr.default(0.005),
  // AdamW's customary decay for BERT-style training.
  weight_decay: numberAtLeast(0).default(0.01),
  // The 10% linear warmup of BERT's recipe.
  warmup_ratio: fraction().default(0.1),
  // BERT's gradient clipping norm; 0 disables clipping.
  max_grad_norm: numberAtLeast(0).default(1.0),
  // BERT's hidden dropout.
  dropout: fraction().default(0.1),
  // Short runs should see every epoch; early stopping is opt-in.
  patience: intAtLeast(1, 'an integer >= 1, or null to train every epoch').nullable().default(null),
  // Whole splits unless the user asks for a quick run.
  max_train_examples: intAtLeast(1, 'an integer >= 1, or null for all').nullable().default(null),
  // Whole splits unless the user asks for a quick run.
  max_eval_examples: intAtLeast(1, 'an integer >= 1, or null for all').nullable().default(null),
  // Often enough to draw a loss curve, rare enough not to slow the store.
  log_every: intAtLeast(1).default(10),
});

/**
 * A section with every key optional and no defaults, so an override holds only what the user
 * wrote and merging it cannot reset keys the user did not mention.
 */
function overridable<S extends z.ZodRawShape>(section: z.ZodObject<S>) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(section.shape)) {
    const bare = field instanceof z.ZodDefault ? field.removeDefault() : field;
    shape[key] = (bare as z.ZodType).optional();
  }
  return mapping(shape) as unknown as z.ZodType<Partial<z.output<z.ZodObject<S>>>>;
}

export const methodOverrideSchema = mapping({
  train: overridable(trainSchema).optional(),
  prompt: overridable(promptSchema).optional(),
});

export const methodOverridesSchema = mapping(
  Object.fromEntries(METHODS.map((method) => [method, methodOverrideSchema.optional()])) as {
    [M in Method]: z.ZodOptional<typeof methodOverrideSchema>;
  },
);

/**
 * The keys a task entry or a profile's task may set for that task alone. Precedence, least
 * specific first: train/prompt → method_overrides.<method> → tasks[].train/prompt →
 * tasks[].method_overrides.<method> → a sweep value.
 */
function taskOverrideShape() {
  return {
    train: overridable(trainSchema).optional(),
    prompt: overridable(promptSchema).optional(),
    method_overrides: methodOverridesSchema.optional(),
    // The reference scripts fix a seed per task (11, 14 or 44).
    seed: seed.optional(),
  };
}

export const taskOverrideSchema = mapping(taskOverrideShape());
export type TaskOverride = z.output<typeof taskOverrideSchema>;

/** How a task is built when the config defines it rather than naming one of ptv2's. */
export const TASK_FAMILIES = ['classification', 'pair_classification', 'tagging', 'qa'] as const;
export type TaskFamily = (typeof TASK_FAMILIES)[number];

export const TEXT_FORMATS = ['csv', 'tsv', 'jsonl'] as const;

/** Which record fields hold what, for classification tasks read from csv, tsv or jsonl. */
export const fieldsSchema = mapping({
  text: text('the name of the field holding the text'),
  // Sentence-pair tasks only: the second text.
  text_pair: text('the name of the field holding the second text').optional(),
  label: text('the name of the field holding the label'),
  // Prediction files are keyed by id; without one, the record's 0-based position is used.
  id: text('the name of the field holding the example id').optional(),
});

export const columnsSchema = mapping({
  // CoNLL files put the token first.
  token: intAtLeast(0, 'a 0-based column index').default(0),
  // CoNLL files put the tag last; negative indices count from the end.
  tag: z.int(expecting('a column index (negative counts from the end)')).default(-1),
});

export const taggingSchema = mapping({
  // seqeval's default (conlleval-compatible) chunking, which every NER paper table uses.
  mode: z.enum(['default', 'strict']).default('default'),
  // The scheme strict mode checks; IOB2 is what the CoNLL releases are converted to.
  scheme: z.enum(['IOB2', 'IOBES']).default('IOB2'),
  // Entity types left out of scoring; null: none for NER, the predicate `V` for SRL.
  exclude: z.array(text('an entity type'), expecting('a list of entity types, or null for the task\'s default')).nullable().default(null),
});

export const qaSchema = mapping({
  // BERT's SQuAD recipe: windows of max_length sub-tokens, each starting up to 128 after the last.
  doc_stride: intAtLeast(1).default(128),
  // BERT's SQuAD recipe: longer questions are cut (and counted as truncated).
  max_query_length: intAtLeast(1).default(64),
  // Best starts and ends combined per window, as in BERT's run_squad.py.
  n_best: intAtLeast(1).default(20),
  // Longest answer in sub-tokens, as in BERT's run_squad.py.
  max_answer_length: intAtLeast(1).default(30),
  // SQuAD 2.0: answer "" when the null score beats the best span by more than this.
  null_threshold: z.number(expecting('a number')).default(0),
});

/** YAML reads `version: 2.0` as the number 2, so numbers are accepted for the two versions. */
const squadVersion = z.preprocess(
  (v) => (v === 1.1 ? '1.1' : v === 2 ? '2.0' : v),
  z.enum(['1.1', '2.0'], expecting('"1.1" or "2.0"')),
);

export const taskSchema = mapping({
  name: matching(TASK_NAME, 'a task name of lowercase letters, digits and "_"'),
  // Absent: one of ptv2's named tasks. Present: a task of the user's own, built by this family.
  family: z.enum(TASK_FAMILIES).optional(),
  data: text('a directory path'),
  // null: the file names of the task's official release (train.jsonl / train.txt, …).
  train_file: text('a file name, or null for the task\'s own').nullable().default(null),
  dev_file: text('a file name, or null for the task\'s own').nullable().default(null),
  // Test labels are usually hidden, so test predictions are written only when asked for. A list
  // names several test sets (CoNLL-2005's WSJ and Brown), each predicted and scored on its own.
  test_file: z
    .union([text('a file name'), z.array(text('a file name')).min(1)], expecting('a file name, a list of file names, or null for no test predictions'))
    .nullable()
    .default(null),
  // model.max_length applies unless a task needs longer or shorter inputs.
  max_length: intAtLeast(1, 'an integer >= 1, or null for model.max_length').nullable().default(null),
  // The metric that picks the best epoch; null: the task's own (accuracy, F1, …).
  metric: text('a metric name, or null for the task\'s own').nullable().default(null),
  // classification / pair_classification: the file format (null: from the file extension) and fields.
  format: z.enum(TEXT_FORMATS).nullable().default(null),
  fields: fieldsSchema.optional(),
  // tagging (own tasks): which CoNLL columns hold the token and the tag.
  columns: columnsSchema.optional(),
  // qa (own tasks): SQuAD 1.1 (every question answerable) or 2.0 (unanswerable ones too).
  version: squadVersion.optional(),
  // Tagging tasks: how spans are scored.
  tagging: taggingSchema.optional(),
  // Extractive QA tasks: windows and span decoding.
  qa: qaSchema.optional(),
  // This task's head (null: the top-level head) and its verbalizer words and template.
  head: head.nullable().optional(),
  verbalizer: verbalizerSchema.optional(),
  // This task's own recipe (the reference implementation tunes each task): merged over the
  // top-level train / prompt / method_overrides and the seed; the more specific key wins.
  ...taskOverrideShape(),
});

export type QaConfig = z.output<typeof qaSchema>;
export type TaggingConfig = z.output<typeof taggingSchema>;
export const QA_DEFAULTS: QaConfig = qaSchema.parse({});
export const TAGGING_DEFAULTS: TaggingConfig = taggingSchema.parse({});
export const COLUMNS_DEFAULTS = columnsSchema.parse({});

/** MPT-2's shared multi-task stage; the per-task fine-tuning uses train (and method_overrides.mpt2). */
export const mpt2Schema = mapping({
  // The same budget as each fine-tuning stage unless the user gives the merged data its own.
  shared_epochs: intAtLeast(1, 'an integer >= 1, or null for train.epochs').nullable().default(null),
  // The same rate as the fine-tuning stage unless set; the paper tunes both.
  shared_lr: numberAbove(0).nullable().default(null),
});

/** Sweep values are checked against the rules of the key they set, each at its own index. */
export const sweepSchema = mapping({
  key: z.enum(SWEEP_KEYS),
  values: z.array(z.unknown(), expecting('a non-empty list of values')).min(1, expecting('a non-empty list of values')),
}).superRefine((sweep, ctx) => {
  const leaf = SWEEP_LEAVES.get(sweep.key);
  const seen = new Set<string>();
  sweep.values.forEach((value, index) => {
    const result = leaf?.safeParse(value);
    if (result && !result.success) {
      ctx.addIssue({code: 'custom', message: result.error.issues[0].message, path: ['values', index], input: value});
    }
    // Job ids carry the value, so a repeated value would plan the same job twice.
    const id = JSON.stringify(value);
    if (seen.has(id)) ctx.addIssue({code: 'custom', message: `value ${id} is listed twice`, path: ['values', index]});
    seen.add(id);
  });
});

/** Reports a later duplicate at its own index, so the line points at the repeated entry. */
function uniqueBy<T>(name: (item: T) => unknown, what: string, subPath: string[] = []) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<unknown>();
    items.forEach((item, index) => {
      const key = name(item);
      if (seen.has(key)) {
        ctx.addIssue({code: 'custom', message: `${what} ${JSON.stringify(key)} is listed twice`, path: [index, ...subPath]});
      }
      seen.add(key);
    });
  };
}

/**
 * A named recipe (`profiles: {roberta-large: …}`, chosen with `--profile roberta-large` or
 * `profile:`): values merged over the config's own before any `--set`, tasks addressed by name.
 * Profiles carry e.g. the reference implementation's per-task hyper-parameters for a checkpoint.
 */
export const profileSchema = mapping({
  // A line for `--help`-style listings and the stored config's header.
  description: text('a description').optional(),
  seed: seed.optional(),
  model: mapping({
    path: text('a checkpoint directory path').optional(),
    max_length: intAtLeast(1, 'an integer >= 1, or null for each task family\'s usual length').nullable().optional(),
    lowercase: flag('true, false or null to follow the checkpoint').nullable().optional(),
    use_pooler: flag().optional(),
  }).optional(),
  prompt: overridable(promptSchema).optional(),
  train: overridable(trainSchema).optional(),
  method_overrides: methodOverridesSchema.optional(),
  // Per task name; a task the config does not list is skipped, so one profile fits several configs.
  tasks: z.record(matching(TASK_NAME, 'a task name of lowercase letters, digits and "_"'), taskOverrideSchema.extend({
    max_length: intAtLeast(1, 'an integer >= 1, or null for model.max_length').nullable().optional(),
  }), expecting('a mapping of task names to task settings')).optional(),
});
export type Profile = z.output<typeof profileSchema>;
export const PROFILE_NAME = /^[\w.-]+$/;

export const ptv2ConfigSchema = mapping({
  name: matching(EXPERIMENT_NAME, 'an experiment name of letters, digits, "_", "." or "-"'),
  // HF Trainer's default seed, so runs line up with HF baselines by default.
  seed: seed.default(42),
  // Pick the fastest backend that loads on this machine.
  backend: z.enum(BACKENDS).default('auto'),
  // One store per working directory, next to the run outputs.
  database: text('a file path').default('runs/ptv2.db'),
  // Outputs stay under one directory that is easy to ignore in version control.
  output_dir: text('a directory path').default('runs'),
  model: modelSchema,
  methods: z
    .array(z.enum(METHODS), expecting('a non-empty list of methods'))
    .min(1, expecting('a non-empty list of methods'))
    .superRefine(uniqueBy((method: Method) => method, 'method')),
  prompt: promptSchema.prefault({}),
  train: trainSchema.prefault({}),
  method_overrides: methodOverridesSchema.optional(),
  mpt2: mpt2Schema.prefault({}),
  // A linear layer on [CLS], as the paper's main tables; verbalizer: the Table 4 ablation.
  head: head.default('linear'),
  // Settings every task's verbalizer shares (usually just train_lm_head); a task's own win.
  verbalizer: verbalizerSchema.optional(),
  tasks: z
    .array(taskSchema, expecting('a non-empty list of tasks'))
    .min(1, expecting('a non-empty list of tasks'))
    .superRefine(uniqueBy((task: {name: string}) => task.name, 'task', ['name'])),
  sweep: sweepSchema.optional(),
  // Named recipes a run may pick (see profileSchema); checked whether picked or not.
  profiles: z.record(matching(PROFILE_NAME, 'a profile name of letters, digits, "_", "." or "-"'), profileSchema, expecting('a mapping of profile names to profiles')).optional(),
  // The profile applied when no --profile is given; null: none.
  profile: matching(PROFILE_NAME, 'a profile name').nullable().default(null),
});

export type Ptv2Config = z.output<typeof ptv2ConfigSchema>;
export type ModelConfig = Ptv2Config['model'];
export type PromptConfig = Ptv2Config['prompt'];
export type TrainConfig = Ptv2Config['train'];
export type TaskConfig = Ptv2Config['tasks'][number];
export type SweepConfig = NonNullable<Ptv2Config['sweep']>;
export type MethodOverride = z.output<typeof methodOverrideSchema>;
