/**
 * How a planned job becomes what runs it: the prompt options (with a starting table from a PEFT
 * adapter, checked against the job up front), the model spec for its task, the trainer's schedule
 * and the parameters stored with its run. Pure apart from reading `prompt.init_from` adapters.
 */
import type * as TF from '@tensorflow/tfjs';
import type {Job} from '../config/plan.js';
import type {Ptv2Config} from '../config/schema.js';
import {UserError} from '../errors.js';
import type {EncoderConfig} from '../model/checkpoint.js';
import {POOLED_HEADS} from '../model/checkpoint.js';
import type {HeadKind, ModelSpec} from '../model/model.js';
import type {PromptOptions} from '../model/prompt.js';
import {readPeftPrompt, type PeftPrompt} from '../peft.js';
import type {TaskData} from './task-data.js';

/** A variable's name without the `#n` tfjs appends to keep names unique. */
export function variableName(v: TF.Variable): string {
  return v.name.split('#')[0];
}

/** Prompt tables to start from, by `prompt.init_from` directory. */
export type PromptTables = ReadonlyMap<string, Float32Array>;

/**
 * The PEFT adapters the jobs' prompts start from, each read once and checked against every job
 * that uses it — same kind, length, width and layers — before anything is stored.
 */
export function loadPromptTables(jobs: readonly Job[], model: EncoderConfig, configFile: string): PromptTables {
  const sources = new Map<string, PeftPrompt>();
  for (const job of jobs) checkPromptSource(job, model, configFile, sources);
  return new Map([...sources].map(([dir, source]) => [dir, source.table]));
}

function checkPromptSource(job: Job, model: EncoderConfig, configFile: string, sources: Map<string, PeftPrompt>): void {
  const prompt = job.config.prompt;
  // Fine-tuning has no prompt; MPT-2's fine-tuning starts from its shared stage, which reads the adapter.
  // ptv1's prompt comes out of its encoder: there is no table to start from (PROMPT_KEYS_READ leaves init_from out).
  if (prompt.init_from === null || job.method === 'ft' || job.method === 'ptv1' || job.stage === 'finetune') return;
  const fail = (reason: string, suggestions: string[] = []): never => {
    throw new UserError(`${job.id}: cannot start from the adapter in ${prompt.init_from}: ${reason}`, {file: configFile, field: 'prompt.init_from'}, [
      ...suggestions,
      'set it for one method only with method_overrides.<method>.prompt.init_from',
    ]);
  };
  if (job.method === 'prefix' || prompt.reparameterize) fail('a reparameterised prompt (prefix, or reparameterize: true) is produced by its MLP and has no table to start from');
  const source = sources.get(prompt.init_from) ?? readPeftPrompt(prompt.init_from);
  sources.set(prompt.init_from, source);
  const {config} = source;
  const deep = job.method !== 'pt';
  const wanted = deep ? 'PREFIX_TUNING' : 'PROMPT_TUNING';
  if (config.peft_type !== wanted) fail(`${job.method} needs a ${wanted} adapter, this one is ${config.peft_type}`);
  if (config.num_virtual_tokens !== prompt.length) fail(`it has ${config.num_virtual_tokens} virtual tokens and prompt.length is ${prompt.length}`, [`set prompt.length: ${config.num_virtual_tokens}`]);
  if (config.token_dim !== model.hiddenSize) fail(`its token_dim is ${config.token_dim} and the checkpoint's hidden size is ${model.hiddenSize}`);
  if (deep && config.num_layers !== model.numLayers) fail(`it has ${config.num_layers} layers and the checkpoint has ${model.numLayers}`);
  if (deep && prompt.depth !== null && prompt.depth !== model.numLayers) fail(`it prompts every layer and prompt.depth is ${prompt.depth}`, ['set prompt.depth: null']);
}

/**
 * `model.use_pooler: true` needs a pooler in the checkpoint for every job whose head reads [CLS]
 * (classification, multiple choice): without one the head would have to fall back to [CLS], which
 * is not what the config says and could not be exported (BertForSequenceClassification pools).
 */
export function checkPooler(jobs: readonly Job[], heads: ReadonlyMap<string, HeadKind>, checkpoint: {dir: string; hasPooler: boolean}, loaded: {file: string; text: string}): void {
  if (checkpoint.hasPooler) return;
  // The verbalizer reads the mask through the MLM head, never the pooler (RobertaForMaskedLM files have none).
  const job = jobs.find((j) => j.config.model.use_pooler && j.config.head !== 'verbalizer' && (j.tasks ?? [j.task]).some((task) => POOLED_HEADS.has(heads.get(task) ?? 'classification')));
  if (!job) return;
  // The line that sets it, when the config does (true is also the default).
  const index = loaded.text.split('\n').findIndex((line) => /^\s*use_pooler:\s*true\b/.test(line));
  throw new UserError(
    `is true, but the checkpoint in ${checkpoint.dir} has no pooler (bert.pooler.dense / roberta.pooler.dense), so the head of ${job.id} has nothing to read`,
    {file: loaded.file, ...(index >= 0 ? {line: index + 1} : {}), field: 'model.use_pooler'},
    [
      'set model.use_pooler: false to classify from [CLS] directly (such a run cannot be exported as a PEFT adapter)',
      `or use a checkpoint with a pooler; a built-in checkpoint written by an older ptv2 has none: delete ${checkpoint.dir} and ptv2 writes it again`,
    ],
  );
}

/** The prompt a job trains: its method and the config's prompt section. */
export function promptOptions(job: Job, seed: number, tables: PromptTables): PromptOptions {
  const prompt = job.config.prompt;
  const initialTable = prompt.init_from === null || job.method === 'ptv1' ? undefined : tables.get(prompt.init_from);
  return {
    ...(initialTable ? {initialTable} : {}),
    method: job.method,
    length: prompt.length,
    reparameterize: prompt.reparameterize,
    reparamHidden: prompt.reparam_hidden,
    dropout: prompt.dropout,
    depth: prompt.depth ?? undefined,
    depthOrder: prompt.depth_order,
    shiftPositions: prompt.shift_positions,
    initStd: prompt.init_std,
    encoder: prompt.encoder,
    seed,
  };
}

function withoutUndefinedValues<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `extras`: the verbalizer head's spec (verbalizer-setup.ts) and the ids a pt/ptv1 prompt starts from. */
export function modelSpec(job: Job, data: TaskData, seed: number, tables: PromptTables, extras: Pick<ModelSpec, 'verbalizer' | 'promptInitIds'> = {}): ModelSpec {
  return {
    ...withoutUndefinedValues(extras),
    prompt: promptOptions(job, seed, tables),
    head: data.definition.head,
    numLabels: data.labels.length,
    dropout: job.config.train.dropout,
    usePooler: job.config.model.use_pooler,
    seed,
  };
}

/** The optimiser and schedule settings of a job's train section, as the trainer takes them. */
export function trainingSchedule(cfg: Ptv2Config) {
  return {
    epochs: cfg.train.epochs,
    lr: cfg.train.lr,
    weightDecay: cfg.train.weight_decay,
    warmupRatio: cfg.train.warmup_ratio,
    maxGradNorm: cfg.train.max_grad_norm,
    patience: cfg.train.patience ?? undefined,
    logEvery: cfg.train.log_every,
  };
}

/** Stored with the run: its prompt and train settings, the seed its random streams start from, and (sweeps) whether it is a reference. */
export function jobParams(job: Job): Record<string, unknown> {
  return {
    prompt: job.config.prompt,
    train: job.config.train,
    run_seed: job.runSeed,
    head: job.config.head,
    ...(job.reference ? {sweep_reference: true} : {}),
    ...(job.from ? {from: job.from} : {}),
  };
}
