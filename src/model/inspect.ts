/**
 * `ptv2 models inspect`: what a checkpoint directory holds and whether ptv2 can load it, read from
 * config.json, the safetensors header (no tensor bytes) or a pytorch_model.bin, and the tokenizer
 * files. Loadability is decided by the loaders' own checks (config normalisation, the tensor name
 * and shape match, the tokenizer loader), so inspect and a run never disagree.
 */
import fs from 'node:fs';
import path from 'node:path';
import {isUserError} from '../errors.js';
import {loadTokenizer} from '../tokenizer/index.js';
import {CONFIG_FILE, matchEncoderWeights, normaliseConfig, WEIGHTS_FILE, type EncoderConfig} from './checkpoint.js';
import {readJsonObject} from '../data/text-file.js';
import {readSafetensorsHeader, type NamedTensor} from './safetensors.js';
import {readTorchBin, TORCH_BIN_FILE} from './torch-bin.js';

export interface CheckpointSummary {
  dir: string;
  architecture: string | null;
  modelType: string | null;
  layers: number | null;
  hidden: number | null;
  heads: number | null;
  ffn: number | null;
  /** Input positions: max_position_embeddings less RoBERTa's offset (DeBERTa-v3: relative, still capped by it). */
  positions: number | null;
  vocabSize: number | null;
  tokenizer: string | null;
  weightsFile: string | null;
  /** Tensor count per dtype. */
  dtypes: Record<string, number>;
  parameters: number;
  encoderParameters: number | null;
  fileSize: number | null;
  /** Stored tensors outside the encoder (set aside by ptv2), by name with shape. */
  headTensors: {name: string; shape: number[]}[];
  hasPooler: boolean | null;
  loadable: boolean;
  /** Why not, one line per problem (config, weights, tokenizer). */
  problems: string[];
}

/** Index buffers older transformers saved with the weights (as I64): neither weights nor heads. */
const SAVED_BUFFER = /(^|\.)embeddings\.(position_ids|token_type_ids)$/;
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

function messageOf(error: unknown): string {
  if (isUserError(error)) return [error.message, ...error.suggestions.map((s) => `try: ${s}`)].join('; ');
  throw error;
}

/** Shapes and dtypes of the stored tensors, from whichever weights file there is. */
function storedTensors(dir: string): {file: string; tensors: Map<string, {dtype: string; shape: number[]}>; fileSize: number} | undefined {
  const safetensors = path.join(dir, WEIGHTS_FILE);
  if (fs.existsSync(safetensors)) {
    const {entries, fileSize} = readSafetensorsHeader(safetensors);
    return {file: safetensors, tensors: entries, fileSize};
  }
  const bin = path.join(dir, TORCH_BIN_FILE);
  if (fs.existsSync(bin)) {
    const {tensors} = readTorchBin(bin);
    return {file: bin, tensors, fileSize: fs.statSync(bin).size};
  }
  return undefined;
}

function tokenizerKind(dir: string): string | null {
  const json = path.join(dir, 'tokenizer.json');
  if (fs.existsSync(json)) {
    const model = (readJsonObject(json, {message: 'not found'}).model ?? {}) as {type?: string};
    return `${model.type ?? 'unknown'} (tokenizer.json)`;
  }
  if (fs.existsSync(path.join(dir, 'vocab.txt'))) return 'WordPiece (vocab.txt)';
  if (fs.existsSync(path.join(dir, 'vocab.json')) && fs.existsSync(path.join(dir, 'merges.txt'))) return 'byte-level BPE (vocab.json + merges.txt)';
  if (fs.existsSync(path.join(dir, 'spm.model'))) return 'SentencePiece (spm.model only)';
  return null;
}

export function inspectCheckpoint(dir: string): CheckpointSummary {
  const problems: string[] = [];
  const attempt = <T>(run: () => T): T | undefined => {
    try {
      return run();
    } catch (error) {
      problems.push(messageOf(error));
      return undefined;
    }
  };
  const configFile = path.join(dir, CONFIG_FILE);
  const raw = attempt(() => readJsonObject(configFile, {message: 'not found; a checkpoint directory needs config.json'}));
  const config: EncoderConfig | undefined = raw && attempt(() => normaliseConfig(raw, configFile));
  const before = problems.length;
  const stored = attempt(() => storedTensors(dir));
  if (stored === undefined && problems.length === before) problems.push(`${path.join(dir, WEIGHTS_FILE)}: not found (nor ${TORCH_BIN_FILE})`);
  if (stored?.file.endsWith(TORCH_BIN_FILE)) problems.push(`ptv2 reads model.safetensors; convert this one with: ptv2 models convert ${dir}`);

  const dtypes: Record<string, number> = {};
  let parameters = 0;
  const forMatch = new Map<string, NamedTensor>();
  for (const [name, {dtype, shape}] of stored?.tensors ?? []) {
    dtypes[dtype] = (dtypes[dtype] ?? 0) + 1;
    if (SAVED_BUFFER.test(name)) continue;
    parameters += shape.reduce((n, d) => n * d, 1);
    forMatch.set(name, {shape, data: new Float32Array(0)});
  }
  const matched = config && stored ? attempt(() => matchEncoderWeights(forMatch, config, stored.file)) : undefined;
  // The loader decodes every stored tensor but the saved index buffers as floats.
  const nonFloat = [...(stored?.tensors ?? [])].find(([name, {dtype}]) => !SAVED_BUFFER.test(name) && !FLOAT_DTYPES.has(dtype));
  if (nonFloat) problems.push(`${stored!.file} ${nonFloat[0]}: dtype ${nonFloat[1].dtype}; ptv2 reads F32, F16 or BF16 weights`);
  const tokenizer = attempt(() => tokenizerKind(dir));
  if (tokenizer === null) problems.push(`${dir}: no tokenizer files (tokenized input still works: ptv2 models encode with input_ids)`);
  else if (tokenizer !== undefined) attempt(() => loadTokenizer(dir));

  const architectures = raw?.architectures;
  const encoderParameters = matched ? [...matched.weights.values()].reduce((n, t) => n + t.shape.reduce((a, d) => a * d, 1), 0) : null;
  return {
    dir,
    architecture: Array.isArray(architectures) && typeof architectures[0] === 'string' ? architectures[0] : null,
    modelType: typeof raw?.model_type === 'string' ? raw.model_type : null,
    layers: config?.numLayers ?? null,
    hidden: config?.hiddenSize ?? null,
    heads: config?.numHeads ?? null,
    ffn: config?.intermediateSize ?? null,
    positions: config ? config.maxPositions - config.positionOffset : null,
    vocabSize: config?.vocabSize ?? null,
    tokenizer: tokenizer ?? null,
    weightsFile: stored ? path.basename(stored.file) : null,
    dtypes,
    parameters,
    encoderParameters,
    fileSize: stored?.fileSize ?? null,
    headTensors: matched ? [...matched.heads].map(([name, t]) => ({name, shape: t.shape})) : [],
    hasPooler: matched?.hasPooler ?? null,
    // A missing tokenizer does not stop tokenized input; every other problem stops loading.
    loadable: problems.every((p) => p.includes('no tokenizer files')) && matched !== undefined,
    problems,
  };
}
