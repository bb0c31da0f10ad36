/**
 * HuggingFace PEFT adapter directories for prompt learning: a finished ptv2 run → `adapter_config.json`
 * + `adapter_model.safetensors` that `peft.PeftModel.from_pretrained(base_model, DIR)` loads, and the
 * reverse (`readPeftPrompt`). Format code only: the command (src/commands/export.ts) finds the run,
 * its trained tensors and its checkpoint, and hands them here.
 *
 * What PEFT expects, from its source (github.com/huggingface/peft):
 * - `src/peft/config.py` (PeftConfig, PromptLearningConfig), `tuners/prefix_tuning/config.py`,
 *   `tuners/prompt_tuning/config.py`: the config keys; `PeftConfigMixin.save_pretrained` writes
 *   them with `json.dumps(indent=2, sort_keys=True)`.
 * - `src/peft/utils/save_and_load.py`, `get_peft_model_state_dict`: a prompt-learning adapter
 *   stores its table as the one tensor `prompt_embeddings`. When the adapter trains with
 *   `prefix_projection` (the MLP), `get_prompt_embedding_to_save` runs the MLP and the file holds
 *   its output, the final [P, 2·L·h] table, not the MLP weights. Loading always builds the
 *   encoder in inference mode (`PeftModel.from_pretrained` refuses `is_trainable` for prompt
 *   learning), where `PrefixEncoder.embedding` is [P, 2·L·h] and `get_prompt` reads it directly.
 * - Same file, the modules_to_save section: a head wrapped in `ModulesToSaveWrapper` is saved
 *   under its module path with the wrapper and adapter name removed. For prompt learning
 *   `PeftModel.base_model` is the transformers model itself, so BERT's classifier is saved as
 *   `base_model.classifier.weight` (old releases: `modules_to_save.` and `.default` stripped from
 *   `base_model.classifier.modules_to_save.default.weight`; since the AuxiliaryTrainingWrapper
 *   refactor, `ModulesToSaveWrapper.adapter_state_dict` in `utils/other.py` yields the same key).
 * - `src/peft/peft_model.py`: `get_prompt` views the table as [batch, P, 2·L, heads, h/heads],
 *   permutes to [2·L, batch, heads, P, h/heads] and splits it in twos, so layer l's key is row
 *   2l and its value row 2l+1: ptv2's [L0.key, L0.value, L1.key, …] per position. The
 *   PeftModelFor{SequenceClassification,TokenClassification,QuestionAnswering} classes add
 *   `classifier` / `qa_outputs` to modules_to_save themselves and prepend P ones to the
 *   attention mask. Position ids (`_adjust_prompt_learning_kwargs`): for PREFIX_TUNING, PEFT
 *   0.19 and later add P to position_ids the caller passes; earlier releases dropped them. Either
 *   way the real tokens sit at positions P, P+1, …: passed ids are shifted by P, and without ids
 *   transformers' BERT/RoBERTa embeddings count from the past_key_values length, P. That is
 *   ptv2's default, `prompt.shift_positions: true`; a run trained with false is refused.
 *
 * P-tuning's prompt encoder (`ptv1`, src/model/prompt-encoder.ts) is a training-time
 * reparameterisation of an input prompt: once trained, its output is a fixed [P, h] table, the
 * one ptv2 feeds the input layer and saves with the run as `prompt.table`. That table is a
 * PROMPT_TUNING adapter's `prompt_embeddings`, as PEFT saves a reparameterised prefix's output
 * rather than its MLP.
 */
import fs from 'node:fs';
import path from 'node:path';
import {PROMPT_ENCODER_KINDS} from './config/schema.js';
import {readJsonObject} from './data/text-file.js';
import {UserError} from './errors.js';
import type {EncoderConfig} from './model/checkpoint.js';
import {readSafetensors, writeSafetensors, type NamedTensor} from './model/safetensors.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** ptv2's own note beside the adapter (labels, metrics); PEFT ignores files it does not know. */
export const EXPORT_INFO_FILE = 'ptv2_export.json';
export const PROMPT_TENSOR = 'prompt_embeddings';

export type PeftPromptType = 'PREFIX_TUNING' | 'PROMPT_TUNING';
export type PeftTaskType = 'SEQ_CLS' | 'TOKEN_CLS' | 'QUESTION_ANS';
type HeadKind = 'classification' | 'choice' | 'token' | 'span';

/**
 * adapter_config.json of a prompt-learning adapter. Only keys every PEFT release since prompt
 * learning's introduction knows are written: releases before the forward-compatible loader fail on
 * unknown keys, and later keys (modules_to_save, init_weights, tokenizer_kwargs) take their
 * defaults, which PeftModelFor* fills in on load.
 */
export interface PeftPromptConfig {
  peft_type: PeftPromptType;
  task_type: PeftTaskType | null;
  base_model_name_or_path: string | null;
  revision: null;
  auto_mapping: null;
  inference_mode: boolean;
  num_virtual_tokens: number;
  token_dim: number;
  num_transformer_submodules: number;
  num_attention_heads: number | null;
  num_layers: number | null;
  /** PREFIX_TUNING only: the MLP's hidden width (PEFT sets token_dim when there is no MLP). */
  encoder_hidden_size?: number;
  /** PREFIX_TUNING only: the adapter was trained through the MLP; the file still holds the final table. */
  prefix_projection?: boolean;
  /** PROMPT_TUNING only. */
  prompt_tuning_init?: 'RANDOM';
  prompt_tuning_init_text?: null;
  tokenizer_name_or_path?: null;
}

export interface PeftAdapter {
  config: PeftPromptConfig;
  /** PEFT tensor name → tensor, PyTorch layouts (Linear weights [out, in]). */
  tensors: Map<string, NamedTensor>;
  /** Positions PEFT's sequence outputs have before the first real token (input prompts only). */
  outputOffset: number;
  /** ptv1: the prompt encoder whose output `prompt_embeddings` holds (PEFT's config has no field for it). */
  materialisedFrom?: {prompt_encoder: PromptEncoderKind; hidden_size: number};
}

/** A run as the store records it, with what export needs from its checkpoint and trained state. */
export interface RunForExport {
  id: number;
  task: string;
  method: string;
  stage: string;
  status: string;
  params: Record<string, unknown>;
  /** Where messages say the run came from (the database path). */
  source: string;
}

export interface ExportInputs {
  run: RunForExport;
  encoder: EncoderConfig;
  /** The checkpoint's pretrained pooler ([out, in] as stored), when it has one. */
  pooler?: {weight: NamedTensor; bias: NamedTensor};
  /** trainable.safetensors of the run, by ptv2 variable name. */
  trainable: Map<string, NamedTensor>;
  trainableFile: string;
  baseModel: string | null;
}

/** Each ptv2 head's PEFT task type and the name of its linear in trainable.safetensors, or why PEFT has no counterpart. */
const HEAD_TASKS = new Map<HeadKind, {taskType: PeftTaskType; variable: string} | {refusal: string}>([
  ['classification', {taskType: 'SEQ_CLS', variable: 'classifier'}],
  ['token', {taskType: 'TOKEN_CLS', variable: 'token_classifier'}],
  ['span', {taskType: 'QUESTION_ANS', variable: 'qa_outputs'}],
  ['choice', {refusal: 'its task has a multiple-choice head, and PEFT has no multiple-choice task type (SEQ_CLS, TOKEN_CLS, QUESTION_ANS, … only); its prompt-learning forward pads a [batch, seq] mask, not the [batch, choices, seq] input of *ForMultipleChoice'}],
]);

/** The head each task family trains (src/data/registry.ts). */
const FAMILY_HEADS = new Map<string, HeadKind>([
  ['classification', 'classification'],
  ['pair_classification', 'classification'],
  ['multiple_choice', 'choice'],
  ['tagging', 'token'],
  ['qa', 'span'],
]);

/** Methods whose prompt is P vectors before the input embeddings (PROMPT_TUNING); the others' are deep (PREFIX_TUNING). */
const INPUT_PROMPT_METHODS = new Set(['pt', 'ptv1']);
const EXPORTED_METHODS = new Set([...INPUT_PROMPT_METHODS, 'prefix', 'pt2', 'mpt2']);
type PromptEncoderKind = (typeof PROMPT_ENCODER_KINDS)[number];

export interface PromptSettings {
  length: number;
  reparameterize: boolean;
  reparamHidden: number;
  depth: number | null;
  shiftPositions: boolean;
  /** ptv1 only: the network whose output is the prompt. */
  encoder: PromptEncoderKind | null;
}

/** What a run exports as, decided from its row alone (no tensors needed). */
export interface ExportPlan {
  peftType: PeftPromptType;
  head: HeadKind;
  taskType: PeftTaskType;
  prompt: PromptSettings;
  usePooler: boolean;
  labels: string[];
}

function refuse(run: RunForExport, reason: string, suggestions: string[] = []): never {
  throw new UserError(`cannot export run ${run.id} (${run.task}/${run.method}) to PEFT: ${reason}`, {file: run.source}, suggestions);
}

/** A value of the run's params_json, checked; a malformed row names the field. */
function param<T>(run: RunForExport, keys: string[], check: (v: unknown) => v is T, expected: string): T {
  let value: unknown = run.params;
  for (const key of keys) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  if (!check(value)) {
    throw new UserError(`run ${run.id} params_json: expected ${expected}, got ${JSON.stringify(value)}`, {file: run.source, field: keys.join('.')});
  }
  return value;
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isString = (v: unknown): v is string => typeof v === 'string';
const isCountOrNull = (v: unknown): v is number | null => v === null || isCount(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const isEncoderKind = (v: unknown): v is PromptEncoderKind => PROMPT_ENCODER_KINDS.includes(v as PromptEncoderKind);

/**
 * The checks that need only the run row: method, stage, status, head, positions. Deep prompts
 * become PREFIX_TUNING, `pt` and `ptv1` (its encoder's output) PROMPT_TUNING; everything else is
 * refused with its reason.
 */
export function planExport(run: RunForExport): ExportPlan {
  if (run.method === 'ft') {
    refuse(run, 'ft trains every encoder weight, and a PEFT prompt adapter holds only a prompt and a head over a frozen base model');
  }
  if (!EXPORTED_METHODS.has(run.method)) refuse(run, `unknown method "${run.method}"`);
  if (run.stage === 'shared') {
    refuse(run, 'it is the shared stage of mpt2, with one head per task', ['export one of the experiment\'s mpt2 fine-tuning runs (one per task)']);
  }
  if (run.status !== 'completed') refuse(run, `its status is ${run.status}; only a completed run has trained parameters`);

  const family = param(run, ['task', 'family'], isString, 'the task family');
  const head = FAMILY_HEADS.get(family) ?? refuse(run, `unknown task family "${family}"`);
  const target = HEAD_TASKS.get(head)!;
  if ('refusal' in target) refuse(run, target.refusal);

  const deep = !INPUT_PROMPT_METHODS.has(run.method);
  const prompt: PromptSettings = {
    length: param(run, ['prompt', 'length'], isCount, 'an integer >= 1'),
    // prefix is always reparameterised over every layer, whatever the config said (src/model/prompt.ts).
    reparameterize: run.method === 'prefix' || param(run, ['prompt', 'reparameterize'], isBool, 'true or false'),
    reparamHidden: param(run, ['prompt', 'reparam_hidden'], isCount, 'an integer >= 1'),
    depth: run.method === 'prefix' ? null : param(run, ['prompt', 'depth'], isCountOrNull, 'an integer >= 1 or null'),
    shiftPositions: param(run, ['prompt', 'shift_positions'], isBool, 'true or false'),
    encoder: run.method === 'ptv1' ? param(run, ['prompt', 'encoder'], isEncoderKind, '"lstm" or "mlp"') : null,
  };
  if (deep && !prompt.shiftPositions) {
    refuse(run, 'it ran with prompt.shift_positions: false (real tokens at positions 0, 1, …), but under PEFT the real tokens start at position P: given past_key_values transformers\' BERT and RoBERTa count positions from P, and PEFT 0.19+ adds P to any position_ids passed to it (older releases dropped them)',
      ['train with prompt.shift_positions: true (the default) to export']);
  }
  if (!deep && head === 'classification') {
    refuse(run, 'its input prompt comes before [CLS], and with PROMPT_TUNING transformers\' *ForSequenceClassification pools the first position, which is then the first prompt vector, not [CLS] as ptv2 trained',
      ['train pt2 or prefix for classification tasks to export them']);
  }
  // Runs recorded before the head key existed all had the linear head.
  if (run.params.head === 'verbalizer') {
    refuse(run, 'its head is the verbalizer (label words scored by the checkpoint\'s MLM head at the [MASK] of a template), and PEFT\'s SEQ_CLS, TOKEN_CLS and QUESTION_ANS adapters hold a new linear head; the template and label words have no place in an adapter',
      ['train with head: linear to export']);
  }
  return {
    peftType: deep ? 'PREFIX_TUNING' : 'PROMPT_TUNING',
    head,
    taskType: target.taskType,
    prompt,
    usePooler: param(run, ['model', 'use_pooler'], isBool, 'true or false'),
    labels: param(run, ['task', 'labels'], isStrings, 'a list of label strings'),
  };
}

/** The whole adapter: config, prompt table and head, in PEFT's names and PyTorch's layouts. */
export function buildPeftAdapter(inputs: ExportInputs, plan: ExportPlan = planExport(inputs.run)): PeftAdapter {
  const {run, encoder} = inputs;
  const {hiddenSize: h, numLayers: L, numHeads} = encoder;
  const deep = plan.peftType === 'PREFIX_TUNING';
  if (deep && encoder.deberta) {
    refuse(run, 'transformers\' DebertaV2Model takes no past_key_values, so PEFT\'s PREFIX_TUNING cannot apply a deep prompt to DeBERTa (ptv2 places it as the P-tuning v2 reference\'s own DeBERTa code does)');
  }
  if (deep && plan.prompt.depth !== null && plan.prompt.depth < L) {
    refuse(run, `its prompt is in ${plan.prompt.depth} of the encoder's ${L} layers, and PEFT's PREFIX_TUNING puts one in every layer with no per-layer mask. ` +
      'Zero keys and values for the other layers are not the same model: a zero key still scores q·0 = 0 and takes softmax mass exp(0)/Σ from the real tokens, so those layers would attend differently',
    ['train with prompt.depth: null (every layer) to export']);
  }
  const tensor = (name: string, shape: number[]) => trainedTensor(inputs, name, shape);
  const P = plan.prompt.length;
  let table: NamedTensor;
  // ptv1 saved its encoder's output beside the encoder's weights: the table its input layer read.
  if (plan.prompt.encoder !== null) table = tensor('prompt.table', [P, h]);
  else if (!deep) table = tensor('prompt.embeddings', [P, h]);
  else if (!plan.prompt.reparameterize) table = tensor('prompt.embeddings', [P, 2 * L * h]);
  else {
    const r = plan.prompt.reparamHidden;
    table = applyPromptMlp(
      tensor('prompt.embedding', [P, h]),
      {weight: tensor('prompt.mlp.0.weight', [h, r]), bias: tensor('prompt.mlp.0.bias', [r])},
      {weight: tensor('prompt.mlp.2.weight', [r, 2 * L * h]), bias: tensor('prompt.mlp.2.bias', [2 * L * h])},
    );
  }
  const tensors = new Map<string, NamedTensor>([[PROMPT_TENSOR, table], ...headTensors(inputs, plan)]);
  const common = {
    task_type: plan.taskType,
    base_model_name_or_path: inputs.baseModel,
    revision: null,
    auto_mapping: null,
    // PEFT saves every adapter with inference_mode true, and loads prompt adapters only that way.
    inference_mode: true,
    num_virtual_tokens: P,
    token_dim: h,
    num_transformer_submodules: 1,
    num_attention_heads: numHeads,
    num_layers: L,
  } as const;
  const config: PeftPromptConfig = deep
    ? {...common, peft_type: 'PREFIX_TUNING', encoder_hidden_size: plan.prompt.reparameterize ? plan.prompt.reparamHidden : h, prefix_projection: plan.prompt.reparameterize}
    : {...common, peft_type: 'PROMPT_TUNING', prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null};
  const materialisedFrom = plan.prompt.encoder === null ? {} : {materialisedFrom: {prompt_encoder: plan.prompt.encoder, hidden_size: h}};
  return {config, tensors, outputOffset: deep ? 0 : P, ...materialisedFrom};
}

function trainedTensor(inputs: ExportInputs, name: string, shape: number[]): NamedTensor {
  const t = inputs.trainable.get(name);
  if (!t) throw new UserError(`has no tensor ${name}; was it written by run ${inputs.run.id}?`, {file: inputs.trainableFile, field: name});
  if (t.shape.join(',') !== shape.join(',')) {
    throw new UserError(`shape [${t.shape.join(', ')}] does not match the run's settings and checkpoint: expected [${shape.join(', ')}]`, {file: inputs.trainableFile, field: name});
  }
  return t;
}

/**
 * The head under the module names transformers' Auto*For{SequenceClassification,
 * TokenClassification,QuestionAnswering} give it, only where ptv2's head computes exactly that
 * module's function:
 * - BertForSequenceClassification: pooler → dropout → classifier. ptv2 matches when it fed the
 *   pretrained pooler to its linear head.
 * - RobertaForSequenceClassification: <s> → dropout → classifier.dense → tanh → dropout →
 *   classifier.out_proj. The pooler is dense → tanh, so ptv2's pooler + linear head is that module
 *   with dense = the checkpoint's (frozen) pooler and out_proj = ptv2's linear.
 * - *ForTokenClassification: sequence → dropout → classifier; *ForQuestionAnswering: sequence →
 *   qa_outputs, column 0 the start and 1 the end logits, as ptv2's span head.
 * The `base_model.` prefix and the bare module path are how PEFT's get_peft_model_state_dict
 * (src/peft/utils/save_and_load.py) keys a prompt adapter's modules_to_save (see the header).
 */
function headTensors(inputs: ExportInputs, plan: ExportPlan): [string, NamedTensor][] {
  const {hiddenSize: h, modelType} = inputs.encoder;
  const outputs = plan.head === 'span' ? 2 : plan.labels.length;
  const source = (HEAD_TASKS.get(plan.head) as {variable: string}).variable;
  const weight = toTorchLinear(trainedTensor(inputs, `${source}.weight`, [h, outputs]));
  const bias = trainedTensor(inputs, `${source}.bias`, [outputs]);
  if (plan.head === 'span') return [['base_model.qa_outputs.weight', weight], ['base_model.qa_outputs.bias', bias]];
  if (plan.head === 'token') return [['base_model.classifier.weight', weight], ['base_model.classifier.bias', bias]];

  const pooled = plan.usePooler && inputs.pooler !== undefined;
  if (!pooled) {
    const why = plan.usePooler ? 'the checkpoint has no pooler' : 'model.use_pooler was false';
    const fix = plan.usePooler
      ? 'train it again on a checkpoint with a pooler (a built-in checkpoint written by an older ptv2 has none: delete its directory and ptv2 writes it again, with one)'
      : 'train with model.use_pooler: true (the default) to export a classification head';
    refuse(inputs.run, `its head classified [CLS] directly (${why}), but ${modelType === 'roberta' ? 'RobertaForSequenceClassification puts dense → tanh before its output layer' : 'BertForSequenceClassification classifies the pooler\'s output'}`, [fix]);
  }
  if (modelType === 'roberta') {
    return [
      ['base_model.classifier.dense.weight', inputs.pooler!.weight],
      ['base_model.classifier.dense.bias', inputs.pooler!.bias],
      ['base_model.classifier.out_proj.weight', weight],
      ['base_model.classifier.out_proj.bias', bias],
    ];
  }
  return [['base_model.classifier.weight', weight], ['base_model.classifier.bias', bias]];
}

/** ptv2 keeps a trainable linear's weight as [in, out] (x·W); PyTorch stores [out, in]. */
export function toTorchLinear(weight: NamedTensor): NamedTensor {
  const [inDim, outDim] = weight.shape;
  const data = new Float32Array(inDim * outDim);
  for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) data[o * inDim + i] = weight.data[i * outDim + o];
  return {shape: [outDim, inDim], data};
}

/**
 * The reparameterised table PEFT saves: tanh(E·W0 + b0)·W2 + b2 for E [P, h], W0 [h, r],
 * W2 [r, width] (ptv2's [in, out] layout); sums in float64, the result rounded to float32.
 */
export function applyPromptMlp(
  embedding: NamedTensor,
  down: {weight: NamedTensor; bias: NamedTensor},
  up: {weight: NamedTensor; bias: NamedTensor},
): NamedTensor {
  const [P, h] = embedding.shape;
  const r = down.bias.data.length;
  const width = up.bias.data.length;
  const out = new Float32Array(P * width);
  const hidden = new Float64Array(r);
  for (let p = 0; p < P; p++) {
    for (let j = 0; j < r; j++) {
      let sum = down.bias.data[j];
      for (let i = 0; i < h; i++) sum += embedding.data[p * h + i] * down.weight.data[i * r + j];
      hidden[j] = Math.tanh(sum);
    }
    for (let k = 0; k < width; k++) {
      let sum = up.bias.data[k];
      for (let j = 0; j < r; j++) sum += hidden[j] * up.weight.data[j * width + k];
      out[p * width + k] = sum;
    }
  }
  return {shape: [P, width], data: out};
}

/** PEFT's own writer: sorted keys, two-space indent. */
function peftJson(value: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify(sorted, null, 2);
}

/** Writes the adapter (and ptv2's note beside it); an existing adapter is replaced only with `force`. */
export function writePeftAdapter(dir: string, adapter: PeftAdapter, info: Record<string, unknown>, opts: {force?: boolean} = {}): string[] {
  const files = [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, EXPORT_INFO_FILE].map((name) => path.join(dir, name));
  const existing = files.find((file) => fs.existsSync(file));
  if (existing && !opts.force) throw new UserError('an adapter is there already', {file: existing}, ['pass --force to overwrite it', 'or choose another --out']);
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(files[0], peftJson({...adapter.config}));
  // PEFT's save_pretrained writes the same metadata.
  writeSafetensors(files[1], adapter.tensors, {format: 'pt'});
  fs.writeFileSync(files[2], `${JSON.stringify(info, null, 2)}\n`);
  return files;
}

/** id2label / label2id as transformers' configs spell them (string keys for ids). */
export function labelMaps(labels: readonly string[]): {id2label: Record<string, string>; label2id: Record<string, number>} {
  return {
    id2label: Object.fromEntries(labels.map((label, i) => [String(i), label])),
    label2id: Object.fromEntries(labels.map((label, i) => [label, i])),
  };
}

export interface PeftPrompt {
  /** Row-major [P, width]. */
  table: Float32Array;
  /** [P, 2·L·h] for PREFIX_TUNING ([L0.key, L0.value, L1.key, …] per position), [P, h] for PROMPT_TUNING. */
  shape: [number, number];
  config: PeftPromptConfig;
}

/**
 * A PEFT prompt-learning adapter directory's prompt table and config, checked against each other.
 * Every problem names the file and the field.
 */
export function readPeftPrompt(dir: string): PeftPrompt {
  const configFile = path.join(dir, ADAPTER_CONFIG_FILE);
  const config = parsePeftConfig(readJsonObject(configFile, {message: 'not found; a PEFT adapter directory needs it'}), configFile);
  const weightsFile = path.join(dir, ADAPTER_WEIGHTS_FILE);
  if (!fs.existsSync(weightsFile)) {
    const pickled = fs.existsSync(path.join(dir, 'adapter_model.bin'));
    throw new UserError('not found; ptv2 reads adapter weights from safetensors', {file: weightsFile},
      pickled ? ['re-save the adapter with save_pretrained(DIR, safe_serialization=True)'] : []);
  }
  const tensor = readSafetensors(weightsFile, {skip: (name) => name !== PROMPT_TENSOR}).tensors.get(PROMPT_TENSOR);
  if (!tensor) throw new UserError('missing; a prompt-learning adapter stores its prompt under this name', {file: weightsFile, field: PROMPT_TENSOR});
  const deep = config.peft_type === 'PREFIX_TUNING';
  const width = deep ? 2 * config.num_layers! * config.token_dim : config.token_dim;
  const expected = [config.num_virtual_tokens, width];
  if (tensor.shape.join(',') !== expected.join(',')) {
    const rule = deep ? 'num_virtual_tokens × 2·num_layers·token_dim' : 'num_virtual_tokens × token_dim';
    throw new UserError(`shape [${tensor.shape.join(', ')}] does not match ${ADAPTER_CONFIG_FILE}: expected [${expected.join(', ')}] (${rule})`, {file: weightsFile, field: PROMPT_TENSOR});
  }
  return {table: tensor.data, shape: [expected[0], expected[1]], config};
}

/** adapter_config.json → PeftPromptConfig; keys ptv2 does not use are ignored, as PEFT ignores unknown ones. */
export function parsePeftConfig(raw: Record<string, unknown>, file: string): PeftPromptConfig {
  const fail = (field: string, message: string): never => {
    throw new UserError(message, {file, field});
  };
  const count = (field: string, optional = false): number | null => {
    const v = raw[field];
    if ((v === undefined || v === null) && optional) return null;
    return isCount(v) ? v : fail(field, `expected an integer >= 1, got ${JSON.stringify(v)}`);
  };
  const peftType = raw.peft_type;
  if (peftType !== 'PREFIX_TUNING' && peftType !== 'PROMPT_TUNING') {
    fail('peft_type', `expected "PREFIX_TUNING" or "PROMPT_TUNING", got ${JSON.stringify(peftType)}; ptv2 reads prompt-learning adapters of those two kinds`);
  }
  const deep = peftType === 'PREFIX_TUNING';
  const submodules = count('num_transformer_submodules', true) ?? 1;
  if (submodules !== 1) fail('num_transformer_submodules', `expected 1 (an encoder-only model), got ${submodules}`);
  const tokenDim = count('token_dim')!;
  const layers = count('num_layers', !deep);
  const heads = count('num_attention_heads', !deep);
  if (heads !== null && tokenDim % heads !== 0) fail('num_attention_heads', `${heads} does not divide token_dim ${tokenDim}`);
  const taskType = raw.task_type ?? null;
  if (taskType !== null && !['SEQ_CLS', 'TOKEN_CLS', 'QUESTION_ANS'].includes(taskType as string)) {
    fail('task_type', `expected "SEQ_CLS", "TOKEN_CLS", "QUESTION_ANS" or null, got ${JSON.stringify(taskType)}`);
  }
  const base = raw.base_model_name_or_path ?? null;
  if (base !== null && typeof base !== 'string') fail('base_model_name_or_path', `expected a string or null, got ${JSON.stringify(base)}`);
  const common = {
    task_type: taskType as PeftTaskType | null,
    base_model_name_or_path: base as string | null,
    revision: null,
    auto_mapping: null,
    inference_mode: raw.inference_mode === true,
    num_virtual_tokens: count('num_virtual_tokens')!,
    token_dim: tokenDim,
    num_transformer_submodules: submodules,
    num_attention_heads: heads,
    num_layers: layers,
  } as const;
  if (!deep) return {...common, peft_type: 'PROMPT_TUNING', prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null};
  const projection = raw.prefix_projection ?? false;
  if (typeof projection !== 'boolean') fail('prefix_projection', `expected true or false, got ${JSON.stringify(projection)}`);
  return {...common, peft_type: 'PREFIX_TUNING', prefix_projection: projection as boolean, encoder_hidden_size: count('encoder_hidden_size', true) ?? tokenDim};
}
