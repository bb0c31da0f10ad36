/**
 * The orchestrator: config → checkpoint, tokenizer, task data → one run per planned job, each
 * recorded in the store as it goes. Commands drive it job by job (so the progress UI owns the
 * loop); the trainer below it only emits events.
 *
 * Everything that can be wrong with the user's input (config, checkpoint, data files, lengths)
 * is checked before the experiment row is written, so bad input never leaves a half-written
 * experiment behind.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import {initBackend, resolveBackendChoice, type BackendInfo, type Tf} from './backend.js';
import type {LoadedConfig} from './config/load.js';
import {planJobs, type Job} from './config/plan.js';
import type {Ptv2Config, TaskConfig} from './config/schema.js';
import {UserError} from './errors.js';
import {buildChoiceFeatures, buildPairFeatures, buildTaggingFeatures, type Feature, evaluationBatches, trainingBatches, type Batch, type FeatureSet} from './data/features.js';
import {buildSpanFeatures, decodeSpans, type SpanFeatureSet} from './data/qa-features.js';
import {labelsOf, taskDefinition, type Evaluation, type TaskDefinition} from './data/registry.js';
import {isLabelled, type ChoiceExample, type Example, type PairExample, type SpanExample, type Split, type TaggingExample} from './data/types.js';
import {loadCheckpoint, randomCheckpoint, writeCheckpoint} from './model/checkpoint.js';
import type {EncoderWeights} from './model/encoder.js';
import type {TaskModel} from './model/model.js';
import {writeSafetensors} from './model/safetensors.js';
import {checkWasmFits} from './model/memory.js';
import {buildWordPieceVocab} from './model/vocab.js';
import {deriveSeed, mulberry32, shuffled} from './random.js';
import {Store} from './store/index.js';
import {loadTokenizer, type PtTokenizer} from './tokenizer/index.js';
import type {TrainEvent} from './train/trainer.js';

/** One split of a task: where it came from, its examples and their features. */
export interface SplitData {
  /** The file as read (data dir joined with the file name). */
  file: string;
  examples: Example[];
  set: FeatureSet;
  /** Whether every example has its gold answer (train and dev must; a test file may not). */
  labelled: boolean;
}

export interface TaskData {
  definition: TaskDefinition;
  /** The task's labels (read from the training file where the task has no fixed list). */
  labels: readonly string[];
  config: TaskConfig;
  train: SplitData;
  dev: SplitData;
  /** Only when the config names a test file. */
  test?: SplitData;
  maxLength: number;
}

export interface JobResult {
  job: Job;
  runId: number;
  status: 'completed' | 'failed' | 'interrupted';
  bestEpoch?: number;
  bestValue?: number;
  keyMetric: string;
  error?: string;
}

export interface PrepareOptions {
  /** --backend flag, else PTV2_BACKEND, else the config. */
  backend?: string;
  /** --db flag, else the config's database. */
  database?: string;
}

/** Write the random checkpoint a config asks for when its directory does not exist yet. */
export async function ensureCheckpoint(config: Ptv2Config): Promise<{created: boolean}> {
  const dir = config.model.path;
  if (fs.existsSync(dir) || !config.model.init) return {created: false};
  const init = config.model.init;
  const {worldVocabulary} = await import('./data/synthetic/index.js');
  const vocab = buildWordPieceVocab(worldVocabulary());
  const {config: hfConfig, weights} = randomCheckpoint({
    modelType: init.type,
    layers: init.layers,
    hidden: init.hidden,
    heads: init.heads,
    intermediate: init.intermediate,
    maxPositions: init.max_positions,
    vocabSize: vocab.length,
    seed: config.seed,
  });
  writeCheckpoint(dir, hfConfig, weights, vocab);
  return {created: true};
}

function readSplit(definition: TaskDefinition, task: TaskConfig, file: string, split: Split): Example[] {
  const full = path.join(task.data, file);
  if (!fs.existsSync(full)) {
    throw new UserError(`${split} file not found for task ${task.name}`, {file: full}, [
      `check tasks[].data and tasks[].${split}_file (default for ${task.name}: ${definition.files.train}, ${definition.files.dev})`,
    ]);
  }
  const examples = definition.read(full, split);
  if (examples.length === 0) throw new UserError(`no examples in the ${split} file of task ${task.name}`, {file: full});
  if (split !== 'test') {
    const unlabelled = examples.find((example) => !isLabelled(example));
    if (unlabelled) {
      throw new UserError(`this ${split} example has no label; train and dev files need labels (only a test file may come without)`, {file: full, line: unlabelled.line, field: 'label'});
    }
  }
  return examples;
}

/** Token features of one split, with the head's feature builder and the task's settings. */
function buildFeatures(task: TaskConfig, definition: TaskDefinition, examples: Example[], tokenizer: PtTokenizer, labels: readonly string[], maxLength: number, file: string): FeatureSet {
  switch (definition.head) {
    case 'choice':
      return buildChoiceFeatures(examples as ChoiceExample[], tokenizer, maxLength);
    case 'span':
      return buildSpanFeatures(examples as SpanExample[], tokenizer, maxLength, definition.qa!);
    case 'token':
      return buildTaggingFeatures(examples as TaggingExample[], tokenizer, labels, maxLength, file);
    case 'classification':
      return buildPairFeatures(examples as PairExample[], tokenizer, labels, maxLength, file, task.fields?.label);
  }
}

function limit<T>(items: T[], max: number | null, seed: number): T[] {
  if (max === null || items.length <= max) return items;
  return shuffled(items, mulberry32(seed)).slice(0, max);
}

export class Experiment {
  readonly jobs: Job[];
  experimentId = -1;
  private currentRun: number | undefined;

  private constructor(
    readonly loaded: LoadedConfig,
    readonly config: Ptv2Config,
    readonly backend: BackendInfo,
    readonly tf: Tf,
    readonly weights: EncoderWeights,
    readonly tokenizer: PtTokenizer,
    readonly tasks: Map<string, TaskData>,
    readonly store: Store,
    readonly checkpointCreated: boolean,
  ) {
    this.jobs = planJobs(config);
  }

  /** Validate and load everything, then open the store and write the experiment row. */
  static async prepare(loaded: LoadedConfig, opts: PrepareOptions = {}): Promise<Experiment> {
    const config = loaded.config;
    const {info, tf} = await initBackend(resolveBackendChoice(opts.backend, config.backend));
    tf.enableProdMode();
    const {created} = await ensureCheckpoint(config);
    const checkpoint = loadCheckpoint(config.model.path);
    const tokenizer = loadTokenizer(config.model.path, config.model.lowercase === null ? {} : {lowercase: config.model.lowercase});
    const definitions = new Map(config.tasks.map((t) => [t.name, taskDefinition(t)]));
    const lengths = new Map(config.tasks.map((t, i) => [t.name, inputLength(config, i, definitions.get(t.name)!)]));
    const jobs = planJobs(config);
    for (const job of jobs) checkPositions(job, lengths.get(job.task)!, checkpoint.config.maxPositions - checkpoint.config.positionOffset, loaded.file);
    if (info.name === 'wasm') {
      for (const job of jobs) {
        const shape = {method: job.method, batch: job.config.train.batch_size, seqLen: lengths.get(job.task)!.value, promptLength: job.config.prompt.length};
        checkWasmFits(checkpoint.config, shape, {file: loaded.file});
      }
    }
    const tasks = new Map<string, TaskData>();
    for (const t of config.tasks) {
      const definition = definitions.get(t.name)!;
      const maxLength = lengths.get(t.name)!.value;
      const read = (split: Split, file: string, max: number | null): Omit<SplitData, 'set'> => {
        const examples = limit(readSplit(definition, t, file, split), max, deriveSeed(config.seed, `${t.name}/${split}`));
        return {file: path.join(t.data, file), examples, labelled: examples.every(isLabelled)};
      };
      const train = read('train', t.train_file ?? definition.files.train, config.train.max_train_examples);
      const dev = read('dev', t.dev_file ?? definition.files.dev, config.train.max_eval_examples);
      const test = t.test_file === null ? undefined : read('test', t.test_file, null);
      const labels = labelsOf(definition, train.examples);
      const withFeatures = (split: Omit<SplitData, 'set'>): SplitData => ({
        ...split,
        set: buildFeatures(t, definition, split.examples, tokenizer, labels, maxLength, split.file),
      });
      tasks.set(t.name, {
        definition,
        labels,
        config: t,
        train: withFeatures(train),
        dev: withFeatures(dev),
        ...(test ? {test: withFeatures(test)} : {}),
        maxLength,
      });
    }
    const {EncoderWeights} = await import('./model/encoder.js');
    const weights = new EncoderWeights(checkpoint);
    const store = Store.open(opts.database ?? config.database);
    store.markOrphanedRunsInterrupted();
    const experiment = new Experiment(loaded, config, info, tf, weights, tokenizer, tasks, store, created);
    experiment.experimentId = store.createExperiment({name: config.name, configPath: loaded.file, configText: loaded.text});
    return experiment;
  }

  outputDir(job: Job): string {
    const safe = job.id.replace(/[^\w.=-]+/g, '_');
    return path.join(this.config.output_dir, `${this.config.name}-${this.experimentId}`, safe);
  }

  /** Train and evaluate one job; the run is in the store from its start. */
  async runJob(job: Job, onEvent: (event: TrainEvent) => void = () => {}): Promise<JobResult> {
    const tf = this.tf;
    const data = this.tasks.get(job.task)!;
    const cfg = job.config;
    const {TaskModel} = await import('./model/model.js');
    const {train, restoreState} = await import('./train/trainer.js');
    const seed = deriveSeed(job.seed, job.id);
    const model: TaskModel = new TaskModel(this.weights, {
      prompt: {
        method: job.method,
        length: cfg.prompt.length,
        reparameterize: cfg.prompt.reparameterize,
        reparamHidden: cfg.prompt.reparam_hidden,
        dropout: cfg.prompt.dropout,
        depth: cfg.prompt.depth ?? undefined,
        depthOrder: cfg.prompt.depth_order,
        shiftPositions: cfg.prompt.shift_positions,
        initStd: cfg.prompt.init_std,
        seed,
      },
      head: data.definition.head,
      numLabels: data.labels.length,
      dropout: cfg.train.dropout,
      usePooler: cfg.model.use_pooler,
      seed,
    });
    const runId = this.store.startRun({
      experimentId: this.experimentId,
      task: job.task,
      method: job.method,
      stage: job.stage,
      sweepKey: job.sweepKey,
      sweepValue: job.sweepValue === undefined ? undefined : JSON.stringify(job.sweepValue),
      params: {prompt: cfg.prompt, train: cfg.train, model: {max_length: data.maxLength, use_pooler: cfg.model.use_pooler}, task: taskParams(data), truncated: truncationCounts(data)},
      seed: job.seed,
      backend: this.backend.name,
      modelPath: cfg.model.path,
      trainableParams: model.params.trainable,
      totalParams: model.params.total,
      keyMetric: data.definition.keyMetric,
    });
    this.currentRun = runId;
    const padId = this.tokenizer.padId;
    const shuffleRng = mulberry32(deriveSeed(seed, 'shuffle'));
    const devBatches = evaluationBatches(data.dev.set.features, cfg.train.eval_batch_size, padId);
    const stepsPerEpoch = Math.ceil(data.train.set.features.length / cfg.train.batch_size);
    let pendingLoss: {epoch: number; loss: number} | undefined;
    let bestState: TF.Tensor[] = [];
    try {
      const result = await train<Batch>({
        variables: model.variables,
        epochs: cfg.train.epochs,
        lr: cfg.train.lr,
        weightDecay: cfg.train.weight_decay,
        warmupRatio: cfg.train.warmup_ratio,
        maxGradNorm: cfg.train.max_grad_norm,
        patience: cfg.train.patience ?? undefined,
        logEvery: cfg.train.log_every,
        stepsPerEpoch,
        batchesForEpoch: () => trainingBatches(data.train.set.features, cfg.train.batch_size, padId, shuffleRng),
        lossOf: (batch, training) => model.loss(batch, batch.tokenLabels ?? batch.labels, training, batch.choices),
        evaluate: () => data.definition.score(this.predict(data, model, data.dev, devBatches)),
        keyMetric: data.definition.keyMetric,
        onEvent: (event) => {
          if (event.type === 'epoch') pendingLoss = {epoch: event.epoch, loss: event.trainLoss};
          if (event.type === 'eval') {
            const rows = Object.entries(event.metrics).map(([name, value]) => ({epoch: event.epoch, step: event.step, split: 'dev', name, value}));
            if (pendingLoss) rows.push({epoch: pendingLoss.epoch, step: event.step, split: 'train', name: 'loss', value: pendingLoss.loss});
            this.store.recordMetrics(runId, rows);
          }
          onEvent(event);
        },
      });
      bestState = result.bestState;
      restoreState(model.variables, bestState);
      this.writeArtifacts(job, runId, model, data, {epoch: result.bestEpoch, step: result.bestEpoch * stepsPerEpoch});
      this.store.finishRun(runId, {status: 'completed', bestEpoch: result.bestEpoch, bestValue: result.bestValue});
      return {job, runId, status: 'completed', bestEpoch: result.bestEpoch, bestValue: result.bestValue, keyMetric: data.definition.keyMetric};
    } catch (error) {
      const message = (error as Error).message;
      this.store.finishRun(runId, {status: 'failed', error: message});
      return {job, runId, status: 'failed', error: message, keyMetric: data.definition.keyMetric};
    } finally {
      this.currentRun = undefined;
      tf.dispose(bestState);
      model.dispose();
    }
  }

  /** Predictions of the model as it is now for one split, in the form the task's scorer reads. */
  private predict(data: TaskData, model: TaskModel, split: SplitData, batches: Batch[]): Evaluation {
    const examples = split.examples as Evaluation['examples'];
    const base = {examples, labels: data.labels, pred: [], gold: [], probabilities: []};
    switch (data.definition.head) {
      case 'span': {
        const logits = spanLogitsOf(this.tf, model, batches, split.set.features);
        const qa = data.definition.qa!;
        const decoded = decodeSpans(split.examples as SpanExample[], split.set as SpanFeatureSet, logits.start, logits.end, qa);
        return {...base, ...decoded};
      }
      case 'token':
        return {...base, predTags: predictTags(this.tf, model, batches, split.set.features, data.labels)};
      case 'classification':
      case 'choice': {
        const predicted = predictLabels(this.tf, model, batches, split.set.features.length, data.labels);
        const gold = split.examples.map((e) => ((e.kind === 'pair' || e.kind === 'choice') && e.label !== null ? String(e.label) : ''));
        return {...base, gold, ...predicted};
      }
    }
  }

  /**
   * Best-epoch predictions for dev and (when given) test, in the official scorer's format, and the
   * trained parameters. A labelled test file is also scored, under split "test" at the best epoch.
   */
  private writeArtifacts(job: Job, runId: number, model: TaskModel, data: TaskData, best: {epoch: number; step: number}): void {
    const dir = this.outputDir(job);
    fs.mkdirSync(dir, {recursive: true});
    const splits: [Split, SplitData][] = [['dev', data.dev]];
    if (data.test) splits.push(['test', data.test]);
    for (const [name, split] of splits) {
      const batches = evaluationBatches(split.set.features, job.config.train.eval_batch_size, this.tokenizer.padId);
      const evaluation = this.predict(data, model, split, batches);
      const outputs = [{kind: 'predictions', extension: data.definition.predictionExtension, write: data.definition.writePredictions}, ...(data.definition.extraOutputs ?? [])];
      for (const output of outputs) {
        const file = path.join(dir, `${name}_${output.kind}${output.extension}`);
        output.write(file, evaluation);
        this.store.recordArtifact(runId, {kind: `${name}_${output.kind}`, path: file, sha256: sha256File(file)});
      }
      if (name === 'test' && split.labelled) {
        const rows = Object.entries(data.definition.score(evaluation)).map(([metric, value]) => ({...best, split: 'test', name: metric, value}));
        this.store.recordMetrics(runId, rows);
      }
    }

    const stateFile = path.join(dir, 'trainable.safetensors');
    const tensors = new Map(model.variables.map((v) => [v.name.split('#')[0], {shape: v.shape, data: v.dataSync() as Float32Array}]));
    writeSafetensors(stateFile, tensors, {method: job.method, task: job.task, prompt_length: String(job.config.prompt.length)});
    this.store.recordArtifact(runId, {kind: 'trainable_state', path: stateFile, sha256: sha256File(stateFile)});
  }

  /** Mark the run in progress (if any) and the experiment interrupted; used on SIGINT/SIGTERM. */
  interrupt(): void {
    if (this.currentRun !== undefined) this.store.finishRun(this.currentRun, {status: 'interrupted', error: 'interrupted by signal'});
    this.store.finishExperiment(this.experimentId, 'interrupted');
    this.store.close();
  }

  finish(results: JobResult[]): void {
    this.store.finishExperiment(this.experimentId, results.every((r) => r.status === 'completed') ? 'completed' : 'failed');
    this.store.close();
    this.weights.dispose();
  }
}

/** Argmax label and label probabilities of every feature, in feature order. */
export function predictLabels(
  tf: Tf,
  model: TaskModel,
  batches: Batch[],
  count: number,
  labels: readonly string[],
): {pred: string[]; probabilities: Float32Array[]} {
  const pred = new Array<string>(count);
  const probabilities = new Array<Float32Array>(count);
  const width = labels.length;
  for (const batch of batches) {
    const probs = tf.tidy(() => tf.softmax(model.logits(batch, false, batch.choices)).dataSync() as Float32Array);
    batch.indices.forEach((fi, b) => {
      const row = probs.slice(b * width, (b + 1) * width);
      probabilities[fi] = row;
      pred[fi] = labels[row.indexOf(Math.max(...row))];
    });
  }
  return {pred, probabilities};
}

/** Tagging: the argmax tag of each word's first sub-token; words truncated away get 'O'. */
export function predictTags(tf: Tf, model: TaskModel, batches: Batch[], features: readonly Feature[], labels: readonly string[]): string[][] {
  const out = new Array<string[]>(features.length);
  for (const batch of batches) {
    const best = tf.tidy(() => tf.argMax(model.logits(batch, false), 1).dataSync());
    batch.indices.forEach((fi, b) => {
      out[fi] = features[fi].wordStarts!.map((start) => (start < 0 ? 'O' : labels[best[b * batch.seqLen + start]]));
    });
  }
  return out;
}

/** Span head: each feature's start and end logits over its own positions, in feature order. */
export function spanLogitsOf(tf: Tf, model: TaskModel, batches: Batch[], features: readonly Feature[]): {start: Float32Array[]; end: Float32Array[]} {
  const start = new Array<Float32Array>(features.length);
  const end = new Array<Float32Array>(features.length);
  for (const batch of batches) {
    const [starts, ends] = tf.tidy(() => {
      const logits = model.spanLogits(batch, false);
      return [logits.start.dataSync() as Float32Array, logits.end.dataSync() as Float32Array];
    });
    batch.indices.forEach((fi, b) => {
      const from = b * batch.seqLen;
      const length = features[fi].inputIds.length;
      start[fi] = starts.slice(from, from + length);
      end[fi] = ends.slice(from, from + length);
    });
  }
  return {start, end};
}

/** Over-long inputs cut to fit, per split: stored with every run and shown by `ptv2 report --runs`. */
export function truncationCounts(data: TaskData): Record<string, number> {
  return {train: data.train.set.truncated, dev: data.dev.set.truncated, ...(data.test ? {test: data.test.set.truncated} : {})};
}

/** What the run read and how, so a stored run says which data and labels it saw. */
function taskParams(data: TaskData): Record<string, unknown> {
  return {
    family: data.definition.family,
    metric_scale: data.definition.metricScale,
    labels: data.labels,
    files: {train: data.train.file, dev: data.dev.file, ...(data.test ? {test: data.test.file} : {})},
    ...(data.definition.qa ? {qa: data.config.qa ?? null} : {}),
  };
}

/** A task's input length and the config key it comes from (for messages). */
interface InputLength {
  value: number;
  /** `tasks[i].max_length`, `model.max_length`, or the family default's key. */
  field: string;
  /** Set when neither key is written: the family's usual length. */
  familyDefault?: string;
}

/** The task's own max_length, else model.max_length, else the family's usual length (128; 384 for QA). */
function inputLength(config: Ptv2Config, index: number, definition: TaskDefinition): InputLength {
  const task = config.tasks[index];
  if (task.max_length !== null) return {value: task.max_length, field: `tasks[${index}].max_length`};
  if (config.model.max_length !== null) return {value: config.model.max_length, field: 'model.max_length'};
  return {value: definition.defaultMaxLength, field: 'model.max_length', familyDefault: `the default for ${definition.family}`};
}

/** Every job's input plus its prompt positions must fit the checkpoint's position table. */
function checkPositions(job: Job, length: InputLength, available: number, file: string): void {
  const prompt = job.config.prompt;
  const usesPrefixPositions = job.method === 'pt' || (job.method !== 'ft' && prompt.shift_positions);
  const promptPositions = usesPrefixPositions ? prompt.length : 0;
  const needed = length.value + promptPositions;
  if (needed > available) {
    const what = length.familyDefault ? `max_length ${length.value} (${length.familyDefault})` : `max_length ${length.value}`;
    throw new UserError(
      `${job.id}: ${what} + prompt length ${promptPositions} needs ${needed} positions but the checkpoint has ${available}`,
      {file, field: length.field},
      [`set ${length.field} to at most ${available - promptPositions}, or lower prompt.length`, 'or set prompt.shift_positions: false'],
    );
  }
}

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
