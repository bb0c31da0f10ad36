/**
 * HuggingFace encoder checkpoint directories: `config.json` + `model.safetensors` (+ tokenizer
 * files, read by src/tokenizer). Config keys and tensor names follow transformers'
 * `configuration_bert.py` / `configuration_roberta.py` and `modeling_bert.py` /
 * `modeling_roberta.py` (DeBERTa-v2's own keys and tensors: deberta-config.ts): the config is
 * kept verbatim and normalised in one function, and every encoder tensor is checked by name and
 * shape against it.
 */

import fs from 'node:fs';
import path from 'node:path';
import {readJsonObject} from '../data/text-file.js';
import {UserError} from '../errors.js';
import {type NamedTensor, readSafetensors, writeSafetensors} from './safetensors.js';
import {mulberry32} from '../random.js';
import {mergesText, vocabJsonText, type ByteLevelBpeVocab} from './bpe-vocab.js';
import type {HeadKind} from './model.js';

/** The heads that read [CLS], and so the checkpoint's pooler when `use_pooler` is set. */
export const POOLED_HEADS: ReadonlySet<HeadKind> = new Set<HeadKind>(['classification', 'choice']);
import {debertaIgnoredTensors, debertaRandomConfig, debertaTensorSpecs, normaliseDebertaSettings, type DebertaSettings, type SpecBuilder} from './deberta-config.js';

export type ModelType = 'bert' | 'roberta' | 'deberta-v2';
export type HiddenActivation = 'gelu' | 'gelu_new' | 'relu';

export interface EncoderConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  hiddenAct: HiddenActivation;
  hiddenDropout: number;
  attentionDropout: number;
  padTokenId: number;
  /** RoBERTa: positions start at padTokenId + 1; BERT: 0. */
  positionOffset: number;
  /** DeBERTa-v2 only: relative attention, absolute positions, the ContextPooler (deberta-config.ts). */
  deberta?: DebertaSettings;
  /** config.json verbatim. */
  raw: Record<string, unknown>;
}

export interface TensorSpec {
  name: string;
  shape: number[];
  /** The pooler: pretrained checkpoints usually have it, but some are saved without one. */
  optional?: boolean;
}

export interface Checkpoint {
  dir: string;
  config: EncoderConfig;
  /** Encoder tensors keyed by canonical HF name with prefix, e.g. `bert.encoder.layer.0.…`. */
  weights: Map<string, NamedTensor>;
  hasPooler: boolean;
  /** Tensors outside the encoder (`cls.*`, `lm_head.*`, `classifier.*`, …) under their stored names. */
  heads: Map<string, NamedTensor>;
}

export interface RandomCheckpointOptions {
  modelType?: ModelType;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  /** Longest input sequence; RoBERTa's max_position_embeddings adds its position offset. */
  maxPositions?: number;
  vocabSize: number;
  typeVocabSize?: number;
  seed?: number;
  initializerRange?: number;
  /** config.json keys set over the family's defaults (e.g. DeBERTa's `position_buckets`). */
  configOverrides?: Record<string, unknown>;
}

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const VOCAB_FILE = 'vocab.txt';
export const BPE_VOCAB_FILE = 'vocab.json';
export const MERGES_FILE = 'merges.txt';
export const TOKENIZER_FILE = 'tokenizer.json';

/** A tokenizer written as a complete tokenizer.json document (DeBERTa's Unigram). */
export interface TokenizerJsonVocab {
  tokens: string[];
  tokenizerJson: object;
}

interface ModelFamily {
  /** transformers' `base_model_prefix`: the weight-name prefix of every *ForXxx model. */
  prefix: string;
  architecture: string;
  /** transformers' config defaults for the keys a config.json may leave out. */
  padTokenId: number;
  typeVocabSize: number;
  layerNormEps: number;
  positionOffset(padTokenId: number): number;
  /** RoBERTa's position embedding has `padding_idx`, so its padding row starts at zero. */
  zeroPositionPaddingRow: boolean;
  /** Keys transformers writes for this family beyond the shared BERT ones. */
  extraConfig: Record<string, unknown>;
  /** Name sections (after the prefix) of the encoder; other unprefixed names are heads. */
  encoderSections: string[];
  /** A family other than BERT's block: its tensors, its own config keys, its random config. */
  own?: {
    tensorSpecs(b: SpecBuilder, config: EncoderConfig): void;
    normalise(context: Parameters<typeof normaliseDebertaSettings>[0]): Pick<EncoderConfig, 'deberta'>;
    /** Stored tensors transformers skips for this config (names after the prefix). */
    ignored(config: EncoderConfig): string[];
    randomConfig(options: RandomCheckpointOptions): Record<string, unknown>;
  };
}

const MODEL_FAMILIES = new Map<ModelType, ModelFamily>([
  ['bert', {
    prefix: 'bert', architecture: 'BertModel', padTokenId: 0, typeVocabSize: 2, layerNormEps: 1e-12,
    positionOffset: () => 0, zeroPositionPaddingRow: false, extraConfig: {}, encoderSections: ['embeddings.', 'encoder.', 'pooler.'],
  }],
  ['roberta', {
    prefix: 'roberta', architecture: 'RobertaModel', padTokenId: 1, typeVocabSize: 1, layerNormEps: 1e-5,
    positionOffset: (padTokenId) => padTokenId + 1, zeroPositionPaddingRow: true,
    extraConfig: {bos_token_id: 0, eos_token_id: 2}, encoderSections: ['embeddings.', 'encoder.', 'pooler.'],
  }],
  // DebertaV2ForSequenceClassification's `pooler.*` (ContextPooler) sits beside `deberta.*`: a head.
  ['deberta-v2', {
    prefix: 'deberta', architecture: 'DebertaV2Model', padTokenId: 0, typeVocabSize: 0, layerNormEps: 1e-7,
    positionOffset: () => 0, zeroPositionPaddingRow: false, extraConfig: {}, encoderSections: ['embeddings.', 'encoder.'],
    own: {
      tensorSpecs: (b, config) => debertaTensorSpecs(b, config, config.deberta!),
      normalise: (context) => ({deberta: normaliseDebertaSettings(context)}),
      ignored: (config) => debertaIgnoredTensors(config.deberta!),
      randomConfig: debertaRandomConfig,
    },
  }],
]);

const HIDDEN_ACTIVATIONS: readonly HiddenActivation[] = ['gelu', 'gelu_new', 'relu'];
const DEFAULT_DROPOUT = 0.1;
const DEFAULT_MAX_POSITIONS = 512;
const DEFAULT_INITIALIZER_RANGE = 0.02;

/** Index buffers older transformers saved with the weights (as I64), not weights. */
const SAVED_BUFFERS = new Set(['embeddings.position_ids', 'embeddings.token_type_ids']);
const MAX_LISTED = 5;

function supportedModelTypes(): string {
  return [...MODEL_FAMILIES.keys()].join(', ');
}

function familyOf(modelType: ModelType): ModelFamily {
  return MODEL_FAMILIES.get(modelType)!;
}

/** transformers' `base_model_prefix` of a model type: the first part of its encoder tensor names. */
export function modelPrefix(modelType: ModelType): string {
  return familyOf(modelType).prefix;
}

/**
 * config.json → EncoderConfig. Size keys are required (a default would only surface later as a
 * confusing shape mismatch); the others default as transformers' config classes do.
 */
export function normaliseConfig(raw: Record<string, unknown>, file = CONFIG_FILE): EncoderConfig {
  const fail = (field: string, message: string): never => {
    throw new UserError(message, {file, field});
  };
  const present = (key: string) => raw[key] !== undefined && raw[key] !== null;
  const integer = (key: string, min: number, fallback?: number): number => {
    if (!present(key)) return fallback ?? fail(key, 'missing; it sets a tensor shape, so it has no default');
    const value = raw[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      return fail(key, `must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const fraction = (key: string, fallback: number, {positive = false} = {}): number => {
    if (!present(key)) return fallback;
    const value = raw[key];
    const ok = typeof value === 'number' && (positive ? value > 0 && value < 1 : value >= 0 && value < 1);
    return ok ? value : fail(key, `must be a number in ${positive ? '(0, 1)' : '[0, 1)'}, got ${JSON.stringify(value)}`);
  };

  if (!present('model_type')) fail('model_type', `missing; supported model types: ${supportedModelTypes()}`);
  const modelType = raw.model_type as ModelType;
  const family = MODEL_FAMILIES.get(modelType)
    ?? fail('model_type', `unsupported model type ${JSON.stringify(raw.model_type)}; supported model types: ${supportedModelTypes()}`);

  const hiddenAct = (raw.hidden_act ?? 'gelu') as HiddenActivation;
  if (!HIDDEN_ACTIVATIONS.includes(hiddenAct)) {
    fail('hidden_act', `unsupported activation ${JSON.stringify(raw.hidden_act)}; supported: ${HIDDEN_ACTIVATIONS.join(', ')}`);
  }
  // Relative position embeddings add weights and attention terms this encoder does not have.
  if (present('position_embedding_type') && raw.position_embedding_type !== 'absolute') {
    fail('position_embedding_type', `unsupported ${JSON.stringify(raw.position_embedding_type)}; only "absolute" is supported`);
  }

  const vocabSize = integer('vocab_size', 1);
  const hiddenSize = integer('hidden_size', 1);
  const numHeads = integer('num_attention_heads', 1);
  if (hiddenSize % numHeads !== 0) {
    fail('num_attention_heads', `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  }
  const padTokenId = integer('pad_token_id', 0, family.padTokenId);
  if (padTokenId >= vocabSize) fail('pad_token_id', `${padTokenId} is not below vocab_size ${vocabSize}`);
  const positionOffset = family.positionOffset(padTokenId);
  const maxPositions = integer('max_position_embeddings', 1);
  if (maxPositions <= positionOffset) {
    fail('max_position_embeddings', `${maxPositions} leaves no positions after the ${modelType} position offset ${positionOffset}`);
  }

  return {
    modelType,
    vocabSize,
    hiddenSize,
    numLayers: integer('num_hidden_layers', 1),
    numHeads,
    intermediateSize: integer('intermediate_size', 1),
    maxPositions,
    typeVocabSize: integer('type_vocab_size', family.typeVocabSize === 0 ? 0 : 1, family.typeVocabSize),
    layerNormEps: fraction('layer_norm_eps', family.layerNormEps, {positive: true}),
    hiddenAct,
    hiddenDropout: fraction('hidden_dropout_prob', DEFAULT_DROPOUT),
    attentionDropout: fraction('attention_probs_dropout_prob', DEFAULT_DROPOUT),
    padTokenId,
    positionOffset,
    ...family.own?.normalise({raw, fail, hiddenSize, numHeads, maxPositions}),
    raw,
  };
}

/** Every tensor the encoder needs, with HF names and shapes as HF writes them (Linear weight = [out, in]). */
export function encoderTensorSpecs(config: EncoderConfig): TensorSpec[] {
  const {hiddenSize: h, intermediateSize: inter} = config;
  const prefix = familyOf(config.modelType).prefix;
  const specs: TensorSpec[] = [];
  const add = (name: string, shape: number[], optional = false) => {
    specs.push(optional ? {name: `${prefix}.${name}`, shape, optional} : {name: `${prefix}.${name}`, shape});
  };
  const linear = (name: string, outSize: number, inSize: number, optional = false) => {
    add(`${name}.weight`, [outSize, inSize], optional);
    add(`${name}.bias`, [outSize], optional);
  };
  const layerNorm = (name: string) => {
    add(`${name}.weight`, [h]);
    add(`${name}.bias`, [h]);
  };
  const own = familyOf(config.modelType).own;
  if (own) {
    own.tensorSpecs({add, linear, layerNorm, specs}, config);
    return specs;
  }

  add('embeddings.word_embeddings.weight', [config.vocabSize, h]);
  add('embeddings.position_embeddings.weight', [config.maxPositions, h]);
  add('embeddings.token_type_embeddings.weight', [config.typeVocabSize, h]);
  layerNorm('embeddings.LayerNorm');
  for (let i = 0; i < config.numLayers; i++) {
    const layer = `encoder.layer.${i}`;
    linear(`${layer}.attention.self.query`, h, h);
    linear(`${layer}.attention.self.key`, h, h);
    linear(`${layer}.attention.self.value`, h, h);
    linear(`${layer}.attention.output.dense`, h, h);
    layerNorm(`${layer}.attention.output.LayerNorm`);
    linear(`${layer}.intermediate.dense`, inter, h);
    linear(`${layer}.output.dense`, h, inter);
    layerNorm(`${layer}.output.LayerNorm`);
  }
  linear('pooler.dense', h, h, true);
  return specs;
}

function formatShape(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

function listSome(names: string[]): string {
  const more = names.length > MAX_LISTED ? ` (and ${names.length - MAX_LISTED} more)` : '';
  return names.slice(0, MAX_LISTED).join(', ') + more;
}

/** TF-era checkpoints call LayerNorm's scale and shift gamma and beta. */
function modernLayerNormName(name: string): string {
  return name.replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight').replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
}

/**
 * Sorts stored tensors into encoder weights (canonical names, shapes checked) and heads.
 * Names may carry the model prefix (*ForXxx models) or not (the bare BertModel/RobertaModel).
 */
export function matchEncoderWeights(
  tensors: Map<string, NamedTensor>,
  config: EncoderConfig,
  file = WEIGHTS_FILE,
): {weights: Map<string, NamedTensor>; heads: Map<string, NamedTensor>; hasPooler: boolean} {
  const specs = encoderTensorSpecs(config);
  const specByName = new Map(specs.map((spec) => [spec.name, spec]));
  const family = familyOf(config.modelType);
  const prefixDot = `${family.prefix}.`;
  const ignored = new Set(family.own?.ignored(config) ?? []);
  const weights = new Map<string, NamedTensor>();
  const heads = new Map<string, NamedTensor>();
  const storedNameOf = new Map<string, string>();
  const unexpected: string[] = [];

  for (const [stored, tensor] of tensors) {
    const prefixed = stored.startsWith(prefixDot);
    const relative = prefixed ? stored.slice(prefixDot.length) : stored;
    const canonical = prefixDot + modernLayerNormName(relative);
    if (ignored.has(relative)) continue;
    const spec = specByName.get(canonical);
    if (!spec) {
      const inEncoder = prefixed || family.encoderSections.some((section) => relative.startsWith(section));
      if (inEncoder) unexpected.push(stored);
      else heads.set(stored, tensor);
      continue;
    }
    const earlier = storedNameOf.get(canonical);
    if (earlier !== undefined) {
      throw new UserError(`tensor is stored twice, also as ${earlier}`, {file, field: stored});
    }
    if (formatShape(tensor.shape) !== formatShape(spec.shape)) {
      const as = stored === canonical ? '' : ` (read as ${canonical})`;
      throw new UserError(
        `shape ${formatShape(tensor.shape)}${as} does not match ${CONFIG_FILE}: expected ${formatShape(spec.shape)}`,
        {file, field: stored},
        [`check that ${CONFIG_FILE} belongs to these weights (vocab_size, hidden_size, intermediate_size, max_position_embeddings, type_vocab_size)`],
      );
    }
    storedNameOf.set(canonical, stored);
    weights.set(canonical, tensor);
  }

  if (unexpected.length > 0) {
    throw new UserError(
      `unexpected tensors in the ${config.modelType} encoder: ${listSome(unexpected)}`,
      {file, field: unexpected[0]},
      [`check num_hidden_layers (${config.numLayers}) and model_type in ${CONFIG_FILE}`],
    );
  }
  const missing = specs.filter((spec) => !spec.optional && !weights.has(spec.name));
  if (missing.length > 0) {
    const otherFamily = [...MODEL_FAMILIES].find(([type, family]) =>
      type !== config.modelType && [...heads.keys()].some((name) => name.startsWith(`${family.prefix}.`)));
    throw new UserError(
      `missing tensors: ${listSome(missing.map((spec) => `${spec.name} ${formatShape(spec.shape)}`))}`,
      {file, field: missing[0].name},
      [otherFamily
        ? `the tensors are named ${otherFamily[1].prefix}.*: set model_type to "${otherFamily[0]}" in ${CONFIG_FILE}`
        : `check num_hidden_layers (${config.numLayers}) and model_type in ${CONFIG_FILE}`],
    );
  }
  const poolerSpecs = specs.filter((spec) => spec.optional);
  const poolerFound = poolerSpecs.filter((spec) => weights.has(spec.name));
  if (poolerFound.length > 0 && poolerFound.length < poolerSpecs.length) {
    const absent = poolerSpecs.find((spec) => !weights.has(spec.name))!;
    throw new UserError(`missing tensor ${absent.name} ${formatShape(absent.shape)}; the pooler is only partly stored`, {file, field: absent.name});
  }
  return {weights, heads, hasPooler: poolerFound.length > 0};
}

const INIT_SUGGESTION = (dir: string) => `ptv2 models init --out ${dir}   (creates a random checkpoint)`;

function readConfigJson(file: string): Record<string, unknown> {
  return readJsonObject(file, {message: 'not found; a checkpoint directory needs config.json', suggestions: [INIT_SUGGESTION(path.dirname(file))]});
}

export function loadCheckpoint(dir: string): Checkpoint {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UserError('checkpoint directory not found', {file: dir}, [
      'pass a HuggingFace model directory (config.json + model.safetensors + tokenizer files)',
      INIT_SUGGESTION(dir),
    ]);
  }
  const configFile = path.join(dir, CONFIG_FILE);
  const config = normaliseConfig(readConfigJson(configFile), configFile);
  const weightsFile = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(weightsFile)) {
    const hasPytorchBin = fs.existsSync(path.join(dir, 'pytorch_model.bin'));
    throw new UserError(hasPytorchBin ? `not found; ptv2 reads weights from model.safetensors, and this directory has only pytorch_model.bin: convert it with ptv2 models convert ${dir}` : 'not found; ptv2 reads weights from model.safetensors', {file: weightsFile}, [
      hasPytorchBin
        ? `ptv2 models convert ${dir}   (writes model.safetensors from pytorch_model.bin, executing nothing)`
        : INIT_SUGGESTION(dir),
    ]);
  }
  const prefixDot = `${familyOf(config.modelType).prefix}.`;
  const isSavedBuffer = (name: string) => SAVED_BUFFERS.has(name.startsWith(prefixDot) ? name.slice(prefixDot.length) : name);
  const {tensors} = readSafetensors(weightsFile, {skip: isSavedBuffer});
  return {dir, config, ...matchEncoderWeights(tensors, config, weightsFile)};
}

/** Standard normal draws by Box–Muller, cut at ±2σ by redrawing (as torch's trunc_normal_ default). */
function truncatedNormal(uniform: () => number): () => number {
  return () => {
    for (;;) {
      // 1 - u keeps the logarithm's argument in (0, 1].
      const z = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
      if (Math.abs(z) <= 2) return z;
    }
  };
}

function sortedKeys(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The config.json transformers writes for a BertConfig/RobertaConfig/DebertaV2Config with these
 * sizes (keys sorted, as it does), with `configOverrides` on top.
 */
export function randomConfig(options: RandomCheckpointOptions): Record<string, unknown> {
  const modelType = options.modelType ?? 'bert';
  const family = MODEL_FAMILIES.get(modelType);
  if (!family) throw new UserError(`unsupported model type ${JSON.stringify(modelType)}; supported model types: ${supportedModelTypes()}`);
  // BertConfig's keys that DebertaV2Config does not have.
  const bertOnly = family.own ? {} : {classifier_dropout: null, position_embedding_type: 'absolute', use_cache: true};
  return sortedKeys({
    architectures: [family.architecture],
    attention_probs_dropout_prob: DEFAULT_DROPOUT,
    ...bertOnly,
    hidden_act: 'gelu',
    hidden_dropout_prob: DEFAULT_DROPOUT,
    hidden_size: options.hidden,
    initializer_range: options.initializerRange ?? DEFAULT_INITIALIZER_RANGE,
    intermediate_size: options.intermediate,
    layer_norm_eps: family.layerNormEps,
    max_position_embeddings: (options.maxPositions ?? DEFAULT_MAX_POSITIONS) + family.positionOffset(family.padTokenId),
    model_type: modelType,
    num_attention_heads: options.heads,
    num_hidden_layers: options.layers,
    pad_token_id: family.padTokenId,
    torch_dtype: 'float32',
    type_vocab_size: options.typeVocabSize ?? family.typeVocabSize,
    vocab_size: options.vocabSize,
    ...family.extraConfig,
    ...family.own?.randomConfig(options),
    ...(options.typeVocabSize === undefined ? {} : {type_vocab_size: options.typeVocabSize}),
    ...options.configOverrides,
  });
}

/**
 * A freshly initialised encoder as transformers' `_init_weights` makes it: matrices ~ N(0, range)
 * (cut at 2σ), biases 0, LayerNorm 1/0, padding rows 0. Same options and seed ⇒ same weights.
 */
export function randomCheckpoint(options: RandomCheckpointOptions): {config: Record<string, unknown>; weights: Map<string, NamedTensor>} {
  const config = randomConfig(options);
  const encoder = normaliseConfig(config, 'random checkpoint options');
  const range = config.initializer_range as number;
  const normal = truncatedNormal(mulberry32(options.seed ?? 0));
  const family = familyOf(encoder.modelType);
  const weights = new Map<string, NamedTensor>();

  for (const {name, shape} of encoderTensorSpecs(encoder)) {
    const data = new Float32Array(shape.reduce((product, dim) => product * dim, 1));
    if (name.endsWith('LayerNorm.weight')) data.fill(1);
    else if (!name.endsWith('.bias')) for (let i = 0; i < data.length; i++) data[i] = range * normal();
    weights.set(name, {shape, data});
  }
  const zeroRow = (name: string, row: number) => {
    const {data} = weights.get(`${family.prefix}.${name}`)!;
    data.fill(0, row * encoder.hiddenSize, (row + 1) * encoder.hiddenSize);
  };
  zeroRow('embeddings.word_embeddings.weight', encoder.padTokenId);
  if (family.zeroPositionPaddingRow) zeroRow('embeddings.position_embeddings.weight', encoder.padTokenId);
  return {config, weights};
}

/**
 * Writes config.json (as transformers does: 2-space indent), model.safetensors and the vocabulary:
 * a token list as BERT's vocab.txt, a byte-level BPE vocabulary as RoBERTa's vocab.json +
 * merges.txt, a complete tokenizer document (DeBERTa's Unigram) as tokenizer.json.
 */
export function writeCheckpoint(
  dir: string,
  config: Record<string, unknown>,
  weights: Map<string, NamedTensor>,
  vocab: string[] | ByteLevelBpeVocab | TokenizerJsonVocab,
): void {
  const tokens = Array.isArray(vocab) ? vocab : vocab.tokens;
  const vocabFile = path.join(dir, Array.isArray(vocab) ? VOCAB_FILE : 'tokenizerJson' in vocab ? TOKENIZER_FILE : BPE_VOCAB_FILE);
  const badToken = tokens.findIndex((token) => /[\r\n]/.test(token));
  if (badToken >= 0) throw new UserError(`token ${badToken} contains a line break`, {file: vocabFile});
  if (typeof config.vocab_size === 'number' && tokens.length > config.vocab_size) {
    throw new UserError(`${tokens.length} tokens do not fit vocab_size ${config.vocab_size}`, {file: vocabFile, field: 'vocab_size'});
  }
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(path.join(dir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  writeSafetensors(path.join(dir, WEIGHTS_FILE), weights, {format: 'pt'});
  if (Array.isArray(vocab)) {
    fs.writeFileSync(vocabFile, vocab.map((token) => `${token}\n`).join(''));
    return;
  }
  if ('tokenizerJson' in vocab) {
    // tokenizer.json comes first for the loader, so no stale vocabulary file can shadow it.
    fs.writeFileSync(vocabFile, `${JSON.stringify(vocab.tokenizerJson, null, 2)}\n`);
    return;
  }
  // The tokenizer loader prefers tokenizer.json and vocab.txt; left over from an overwritten
  // checkpoint, either would shadow the new vocabulary.
  for (const stale of ['tokenizer.json', VOCAB_FILE]) fs.rmSync(path.join(dir, stale), {force: true});
  fs.writeFileSync(vocabFile, vocabJsonText(vocab));
  fs.writeFileSync(path.join(dir, MERGES_FILE), mergesText(vocab));
}
