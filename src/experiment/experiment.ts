/**
 * The orchestrator: config → checkpoint, tokenizer, task data → one run per planned job, each
 * recorded in the store as it goes. Commands drive it job by job (so the progress UI owns the
 * loop); the trainer below it only emits events.
 *
 * Everything that can be wrong with the user's input (config, checkpoint, data files, lengths)
 * is checked before the experiment row is written (setup.ts), so bad input never leaves a
 * half-written experiment behind.
 *
 * While it trains, the experiment stamps a heartbeat on its row and its current run every few
 * seconds (store/liveness.ts), and stops between two steps once its AbortSignal fires (Ctrl-C),
 * marking the run and itself interrupted. Every job ends as a JobResult, whatever failed, the
 * store included.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type {BackendInfo, Tf} from '../compute/backend.js';
import type {LoadedConfig} from '../config/load.js';
import type {Job} from '../config/plan.js';
import type {Ptv2Config} from '../config/schema.js';
import {isInterrupted, UserError} from '../errors.js';
import {evaluationBatches, trainingBatches, type Batch} from '../data/features.js';
import type {Evaluation} from '../data/registry.js';
import type {EncoderWeights} from '../model/encoder.js';
import type {TaskModel} from '../model/model.js';
import {readSafetensors, writeSafetensors} from '../model/safetensors.js';
import {deriveSeed, mulberry32} from '../random.js';
import {mergedBatches, multitaskMetrics, MULTITASK_KEY_METRIC, type TaskBatch} from './multitask.js';
import {predictSplit} from './predict.js';
import {writeScoredPredictions} from '../data/scores.js';
import {recordingEvents} from './recording.js';
import {HEARTBEAT_SECONDS} from '../store/liveness.js';
import type {RunRow, Store} from '../store/index.js';
import type {PtTokenizer} from '../tokenizer/index.js';
import {yieldToEventLoop, type TrainEvent, type TrainerOptions, type TrainResult} from '../train/trainer.js';
import type {PrepareOptions} from './setup.js';

export type {SplitData, TaskData} from './task-data.js';
export type {PrepareOptions} from './setup.js';
export {ensureCheckpoint} from './setup.js';
import {evaluatedSplits, taskParams, truncationCounts, type SplitData, type TaskData} from './task-data.js';
import {jobParams, modelSpec, promptOptions, trainingSchedule, variableName, type PromptTables} from './job-setup.js';
import {promptInitIds, type VerbalizedTasks} from './verbalizer-setup.js';

export interface JobResult {
  job: Job;
  /** Null when the run could not even be recorded (the store failed at its start) or never started. */
  runId: number | null;
  status: 'completed' | 'failed' | 'interrupted';
  bestEpoch?: number;
  bestValue?: number;
  keyMetric: string;
  error?: string;
  /** Completed by an earlier process of a resumed experiment; nothing was trained now. */
  resumed?: boolean;
}

export class Experiment {
  experimentId = -1;
  private currentRun: number | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Run outcomes the store could not take when they happened (a lock, a full disk): tried again at the end. */
  private readonly unrecorded = new Map<number, {status: 'failed' | 'interrupted'; error: string}>();
  /** MPT-2: per shared job id, the saved file of its best prompt and per-task heads. */
  private readonly sharedStateFiles = new Map<string, string>();
  /** Resumed experiment: the runs an earlier process completed, by job id. */
  private completedRuns = new Map<string, RunRow>();

  /** Built by setup.ts (openExperiment), which checks everything first. */
  constructor(
    readonly loaded: LoadedConfig,
    readonly config: Ptv2Config,
    readonly backend: BackendInfo,
    readonly tf: Tf,
    readonly weights: EncoderWeights,
    readonly tokenizer: PtTokenizer,
    readonly tasks: Map<string, TaskData>,
    readonly store: Store,
    readonly checkpointCreated: boolean,
    readonly jobs: Job[],
    private readonly promptTables: PromptTables,
    private readonly verbalizers: VerbalizedTasks,
    private readonly signal?: AbortSignal,
  ) {}

  /** A task's data as a job reads it: written into the verbalizer's template when the job's head is the verbalizer. */
  private dataFor(job: Job, task: string): TaskData {
    return (job.config.head === 'verbalizer' ? this.verbalizers.get(task)?.data : undefined) ?? this.tasks.get(task)!;
  }

  /** The model spec of a job on one task, with its verbalizer and prompt start when it has them. */
  private specFor(job: Job, task: string, seed: number) {
    const verbalizer = job.config.head === 'verbalizer' ? this.verbalizers.get(task)?.spec : undefined;
    return modelSpec(job, this.dataFor(job, task), seed, this.promptTables, {verbalizer, promptInitIds: promptInitIds(job, this.tokenizer, deriveSeed(seed, 'prompt-init'), this.loaded.file)});
  }

  /** Validate and load everything (setup.ts: inputs, checkpoint, model), then open the store and write the experiment row. */
  static async prepare(loaded: LoadedConfig, opts: PrepareOptions = {}): Promise<Experiment> {
    const {prepareExperiment} = await import('./setup.js');
    return prepareExperiment(loaded, opts);
  }

  /** A new experiment row, running in this process. */
  start(): void {
    this.experimentId = this.store.createExperiment({name: this.config.name, configPath: this.loaded.file, configText: this.loaded.text});
    this.startHeartbeat();
  }

  /** Every few seconds while it runs: this experiment and its current run are alive. */
  private startHeartbeat(): void {
    this.heartbeatTimer = setInterval(() => {
      try {
        this.store.heartbeat(this.experimentId, this.currentRun);
      } catch {
        // A locked database misses a beat; the writes that matter report their own failure.
      }
    }, HEARTBEAT_SECONDS * 1000);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /**
   * Continue the latest experiment with this config's name: its completed runs stand (and MPT-2
   * fine-tuning starts from a shared stage completed earlier); every other job runs again. Only
   * the same config text may resume, so the stored config keeps describing every run.
   */
  resumeLatest(): void {
    // Checked already (setup.ts checkDatabase); checked again in case another process got there first.
    const previous = this.store.findExperiment(this.config.name);
    const fail = (message: string, suggestions: string[]) => {
      throw new UserError(message, {file: this.loaded.file}, suggestions);
    };
    if (!previous) return fail(`no experiment named "${this.config.name}" in ${this.store.path} to resume`, ['run without --resume to start it']);
    if (previous.status === 'running') return fail(`experiment ${previous.name} #${previous.id} is still running (pid ${previous.pid} on ${previous.host})`, ['wait for it, or take it over: ptv2 run CONFIG --resume --force']);
    if (previous.configText !== this.loaded.text) {
      return fail(`the config has changed since experiment ${previous.name} #${previous.id} ran`, ['run without --resume to start a new experiment', 'or restore the config as it was (it is stored in the database)']);
    }
    this.experimentId = previous.id;
    const runs = this.store.runs(previous.id).filter((run) => run.status === 'completed');
    for (const job of this.jobs) {
      const run = runs.find((r) => r.task === job.task && r.method === job.method && r.stage === job.stage && r.sweepKey === (job.sweepKey ?? null) && r.sweepValue === (job.sweepValue === undefined ? null : JSON.stringify(job.sweepValue)));
      if (!run) continue;
      this.completedRuns.set(job.id, run);
      const state = this.store.artifacts(run.id).find((a) => a.kind === 'trainable_state');
      if (job.stage === 'shared' && state) this.sharedStateFiles.set(job.id, state.path);
    }
    this.store.reopenExperiment(previous.id);
    this.startHeartbeat();
  }

  /** Jobs an earlier process of a resumed experiment completed. */
  get completedJobs(): number {
    return this.completedRuns.size;
  }

  outputDir(job: Job): string {
    return jobOutputDir(this.config, this.experimentId, job.id);
  }

  /**
   * MPT-2 fine-tuning of `sharedJobId` starts from this saved state (a shared stage trained
   * elsewhere, e.g. by another worker of the queue; see src/queue).
   */
  useSharedState(sharedJobId: string, file: string): void {
    this.sharedStateFiles.set(sharedJobId, file);
  }

  /** Train and evaluate one job; the run is in the store from its start. */
  async runJob(job: Job, onEvent: (event: TrainEvent) => void = () => {}): Promise<JobResult> {
    const done = this.completedRuns.get(job.id);
    if (done) return {job, runId: done.id, status: 'completed', bestEpoch: done.bestEpoch ?? undefined, bestValue: done.bestValue ?? undefined, keyMetric: done.keyMetric, resumed: true};
    if (job.stage === 'shared') return this.runSharedJob(job, onEvent);
    const data = this.dataFor(job, job.task);
    const cfg = job.config;
    const {TaskModel} = await import('../model/model.js');
    const seed = job.runSeed;
    const model: TaskModel = new TaskModel(this.weights, this.specFor(job, job.task, seed));
    const runId = this.store.startRun({
      ...this.runStart(job),
      params: {...jobParams(job), model: {max_length: data.maxLength, use_pooler: cfg.model.use_pooler, architecture: this.architecture()}, task: taskParams(data), truncated: truncationCounts(data)},
      trainableParams: model.params.trainable,
      totalParams: model.params.total,
      keyMetric: data.definition.keyMetric,
    });
    const padId = this.tokenizer.padId;
    const shuffleRng = mulberry32(deriveSeed(seed, 'shuffle'));
    const devBatches = evaluationBatches(data.dev.set.features, cfg.train.eval_batch_size, padId);
    const stepsPerEpoch = Math.ceil(data.train.set.features.length / cfg.train.batch_size);
    return this.trainRun<Batch>(job, runId, onEvent, {
      options: {
        variables: model.variables,
        stepsPerEpoch,
        batchesForEpoch: () => trainingBatches(data.train.set.features, cfg.train.batch_size, padId, shuffleRng),
        lossOf: (batch, training) => model.loss(batch, batch.tokenLabels ?? batch.labels, training, batch.choices),
        evaluate: async () => data.definition.score(await this.predict(data, model, data.dev, devBatches)),
        keyMetric: data.definition.keyMetric,
      },
      before: () => {
        if (job.stage === 'finetune') this.startFromShared(job, model);
      },
      after: (best) => this.writeArtifacts(job, runId, model, data, {epoch: best.bestEpoch, step: best.bestEpoch * stepsPerEpoch}),
      dispose: () => model.dispose(),
    });
  }

  /**
   * MPT-2's shared stage: one deep prompt and one head per task, trained on the tasks' merged
   * training sets (each batch from one task, the batches of all tasks shuffled together). The
   * best epoch has the highest mean key metric over the tasks; its prompt and heads are kept for
   * the fine-tuning jobs.
   */
  private async runSharedJob(job: Job, onEvent: (event: TrainEvent) => void): Promise<JobResult> {
    const cfg = job.config;
    const {TaskModel} = await import('../model/model.js');
    const {createPrompt} = await import('../model/prompt.js');
    const seed = job.runSeed;
    const tasks = job.tasks!.map((name) => this.dataFor(job, name));
    const prompt = createPrompt(this.weights.config, {...promptOptions(job, seed, this.promptTables), seed: deriveSeed(seed, 'prompt')});
    const models = new Map(
      tasks.map((data) => [data.config.name, new TaskModel(this.weights, {...this.specFor(job, data.config.name, deriveSeed(seed, data.config.name)), sharedPrompt: prompt})]),
    );
    const variables = [...new Set([...models.values()].flatMap((m) => m.variables))];
    const trainable = variables.reduce((n, v) => n + v.size, 0);
    const runId = this.store.startRun({
      ...this.runStart(job),
      params: {
        ...jobParams(job),
        model: {use_pooler: cfg.model.use_pooler, architecture: this.architecture()},
        tasks: Object.fromEntries(tasks.map((data) => [data.config.name, {max_length: data.maxLength, ...taskParams(data)}])),
        truncated: Object.fromEntries(tasks.map((data) => [data.config.name, truncationCounts(data)])),
      },
      trainableParams: trainable,
      totalParams: this.weights.totalParams() + trainable,
      keyMetric: MULTITASK_KEY_METRIC,
    });
    const padId = this.tokenizer.padId;
    const shuffleRng = mulberry32(deriveSeed(seed, 'shuffle'));
    const devBatches = new Map(tasks.map((data) => [data.config.name, evaluationBatches(data.dev.set.features, cfg.train.eval_batch_size, padId)]));
    const evaluateAll = async () => {
      const results = [];
      for (const data of tasks) {
        const name = data.config.name;
        results.push({data, metrics: data.definition.score(await this.predict(data, models.get(name)!, data.dev, devBatches.get(name)!))});
      }
      return multitaskMetrics(results);
    };
    return this.trainRun<TaskBatch>(job, runId, onEvent, {
      options: {
        variables,
        stepsPerEpoch: tasks.reduce((n, data) => n + Math.ceil(data.train.set.features.length / cfg.train.batch_size), 0),
        batchesForEpoch: () => mergedBatches(tasks, cfg.train.batch_size, padId, shuffleRng),
        lossOf: (batch, training) => models.get(batch.task)!.loss(batch, batch.tokenLabels ?? batch.labels, training, batch.choices),
        evaluate: evaluateAll,
        keyMetric: MULTITASK_KEY_METRIC,
      },
      after: async () => {
        // Heads of one kind share tensor names across tasks, so each is stored under its task's name.
        const named = [
          ...prompt.variables.map((v): [string, TF.Variable] => [variableName(v), v]),
          ...[...models].flatMap(([task, model]) => model.head.variables.map((v): [string, TF.Variable] => [`${task}.${variableName(v)}`, v])),
        ];
        // The saved file is what fine-tuning starts from, now or in a resumed experiment.
        this.sharedStateFiles.set(job.id, this.writeTrainableState(job, runId, named));
      },
      dispose: () => {
        for (const model of models.values()) model.dispose();
        prompt.dispose();
      },
    });
  }

  /**
   * Trains a started run and records how it ended: `before` runs first (inside the run, so its
   * failure fails the run), then training; the best epoch's values are restored for `after` to
   * write its files; the run is marked completed or failed, and `dispose` frees the model.
   */
  private async trainRun<B>(
    job: Job,
    runId: number,
    onEvent: (event: TrainEvent) => void,
    run: {options: Omit<TrainerOptions<B>, keyof ReturnType<typeof trainingSchedule> | 'onEvent'>; before?: () => void; after: (best: TrainResult) => void | Promise<void>; dispose: () => void},
  ): Promise<JobResult> {
    const keyMetric = run.options.keyMetric;
    this.currentRun = runId;
    let bestState: TF.Tensor[] = [];
    try {
      const {train, restoreState} = await import('../train/trainer.js');
      run.before?.();
      const result = await train<B>({...trainingSchedule(job.config), ...run.options, signal: this.signal, onEvent: recordingEvents(this.store, runId, onEvent)});
      bestState = result.bestState;
      restoreState(run.options.variables, bestState);
      await run.after(result);
      this.store.finishRun(runId, {status: 'completed', bestEpoch: result.bestEpoch, bestValue: result.bestValue});
      return {job, runId, status: 'completed', bestEpoch: result.bestEpoch, bestValue: result.bestValue, keyMetric};
    } catch (error) {
      // Stopped by a signal: interrupted; anything else (the store included): failed. Recording
      // that may fail too (a locked database); the result says so rather than being lost.
      const status = isInterrupted(error) ? 'interrupted' : 'failed';
      let message = (error as Error).message;
      try {
        this.store.finishRun(runId, {status, error: message});
      } catch (storeError) {
        this.unrecorded.set(runId, {status, error: message});
        message += `; the run could not be marked ${status} either: ${(storeError as Error).message}`;
      }
      return {job, runId, status, error: message, keyMetric};
    } finally {
      this.currentRun = undefined;
      this.tf.dispose(bestState);
      run.dispose();
    }
  }

  /** An MPT-2 fine-tuning job starts from the shared stage's saved prompt and this task's head. */
  private startFromShared(job: Job, model: TaskModel): void {
    const file = this.sharedStateFiles.get(job.from!);
    if (!file) throw new Error(`the shared stage ${job.from} did not complete, so there is no prompt to fine-tune from`);
    const saved = readSafetensors(file).tensors;
    const assign = (variable: TF.Variable, name: string) => {
      const tensor = saved.get(name);
      if (!tensor) throw new Error(`${file} has no tensor ${name}; was it written by this config's shared stage?`);
      this.tf.tidy(() => variable.assign(this.tf.tensor(tensor.data as Float32Array, variable.shape)));
    };
    for (const v of model.prompt.variables) assign(v, variableName(v));
    for (const v of model.head.variables) assign(v, `${job.task}.${variableName(v)}`);
  }

  /** The checkpoint's architecture as config.json names it; reports match it against the paper's models. */
  private architecture() {
    const c = this.weights.config;
    return {model_type: c.modelType, layers: c.numLayers, hidden: c.hiddenSize};
  }

  /** The store fields every run row shares. */
  private runStart(job: Job) {
    return {
      experimentId: this.experimentId,
      task: job.task,
      method: job.method,
      stage: job.stage,
      sweepKey: job.sweepKey,
      sweepValue: job.sweepValue === undefined ? undefined : JSON.stringify(job.sweepValue),
      seed: job.seed,
      backend: this.backend.name,
      modelPath: job.config.model.path,
    };
  }

  /** Predictions of the model as it is now for one split, in the form the task's scorer reads. */
  private async predict(data: TaskData, model: TaskModel, split: SplitData, batches: Batch[]): Promise<Evaluation> {
    return predictSplit(this.tf, data.definition, data.labels, model, split, batches, () => yieldToEventLoop(this.signal));
  }

  /**
   * Best-epoch predictions for dev and each test file given, in the official scorer's format, and
   * the trained parameters. A labelled test file is also scored, under its split name (`test`, or
   * `test_wsj`, … for several) at the best epoch.
   */
  private async writeArtifacts(job: Job, runId: number, model: TaskModel, data: TaskData, best: {epoch: number; step: number}): Promise<void> {
    const dir = this.outputDir(job);
    fs.mkdirSync(dir, {recursive: true});
    for (const [name, split] of evaluatedSplits(data)) {
      const batches = evaluationBatches(split.set.features, job.config.train.eval_batch_size, this.tokenizer.padId);
      const evaluation = await this.predict(data, model, split, batches);
      const outputs = [
        {kind: 'predictions', extension: data.definition.predictionExtension, write: data.definition.writePredictions},
        ...(data.definition.extraOutputs ?? []),
        // Beside the official-format files, which stay as the official scorers read them.
        {kind: 'scores', extension: '.jsonl', write: (file: string, e: Evaluation) => writeScoredPredictions(file, data.definition.head, e)},
      ];
      for (const output of outputs) {
        const file = path.join(dir, `${name}_${output.kind}${output.extension}`);
        output.write(file, evaluation);
        this.store.recordArtifact(runId, {kind: `${name}_${output.kind}`, path: file, sha256: sha256File(file)});
      }
      if (name !== 'dev' && split.labelled) {
        const rows = Object.entries(data.definition.score(evaluation)).map(([metric, value]) => ({...best, split: name, name: metric, value}));
        this.store.recordMetrics(runId, rows);
      }
    }

    const materialised = model.savedTensors();
    this.writeTrainableState(job, runId, [...model.variables.map((v): [string, TF.Tensor] => [variableName(v), v]), ...materialised]);
    this.tf.dispose(materialised.map(([, t]) => t));
  }

  /** The trained parameters as safetensors, recorded as the run's `trainable_state` artifact. */
  private writeTrainableState(job: Job, runId: number, named: readonly [string, TF.Tensor][]): string {
    const dir = this.outputDir(job);
    fs.mkdirSync(dir, {recursive: true});
    const stateFile = path.join(dir, 'trainable.safetensors');
    const tensors = new Map(named.map(([name, v]) => [name, {shape: v.shape, data: v.dataSync() as Float32Array}]));
    writeSafetensors(stateFile, tensors, {method: job.method, task: job.task, stage: job.stage, prompt_length: String(job.config.prompt.length)});
    this.store.recordArtifact(runId, {kind: 'trainable_state', path: stateFile, sha256: sha256File(stateFile)});
    return stateFile;
  }

  /**
   * Marks the run in progress (if any) and the experiment interrupted and closes the store: for a
   * second Ctrl-C, which does not wait for the step in progress. Best effort: a locked database
   * is not waited for.
   */
  interrupt(): void {
    this.stopHeartbeat();
    if (this.currentRun !== undefined) this.store.finishRun(this.currentRun, {status: 'interrupted', error: 'interrupted by signal'});
    this.store.finishExperiment(this.experimentId, 'interrupted');
    this.store.close();
  }

  /**
   * Records how the experiment ended: completed when every job did, interrupted when a signal
   * stopped it, else failed; closes the store and frees the model. Throws (a UserError naming the
   * database) when the store cannot record it; the store and model are released all the same.
   */
  finish(results: JobResult[], interrupted = false): void {
    this.stopHeartbeat();
    try {
      // Outcomes a lock kept out of the store earlier may go in now; what still fails stays 'running'
      // in the file and reads as interrupted once this process is gone.
      for (const [runId, outcome] of this.unrecorded) {
        try {
          this.store.finishRun(runId, outcome);
          this.unrecorded.delete(runId);
        } catch {
          // Reported with the job already.
        }
      }
      const status = interrupted ? 'interrupted' : results.length === this.jobs.length && results.every((r) => r.status === 'completed') ? 'completed' : 'failed';
      this.store.finishExperiment(this.experimentId, status);
    } finally {
      this.store.close();
      this.weights.dispose();
    }
  }

  /** Whether an earlier process of a resumed experiment completed this job. */
  isCompleted(job: Job): boolean {
    return this.completedRuns.has(job.id);
  }

  /** The metric that picks a job's best epoch. */
  keyMetricOf(job: Job): string {
    return job.stage === 'shared' ? MULTITASK_KEY_METRIC : this.tasks.get(job.task)!.definition.keyMetric;
  }

  /** What 100% is in a job's key metric: 1 for fractions, 100 for SQuAD's percentages (the shared stage's mean is a fraction). */
  metricScale(job: Job): number {
    return job.stage === 'shared' ? 1 : this.tasks.get(job.task)!.definition.metricScale;
  }

  /** The optimiser steps a job will take (before early stopping), for progress and ETA. */
  plannedSteps(job: Job): number {
    const perEpoch = (job.tasks ?? [job.task]).reduce((n, task) => n + Math.ceil(this.tasks.get(task)!.train.set.features.length / job.config.train.batch_size), 0);
    return perEpoch * job.config.train.epochs;
  }
}

/** Where a job's prediction files and trainable state go: `output_dir/NAME-ID/JOB`. */
export function jobOutputDir(config: Pick<Ptv2Config, 'output_dir' | 'name'>, experimentId: number, jobId: string): string {
  const safe = jobId.replace(/[^\w.=-]+/g, '_');
  return path.join(config.output_dir, `${config.name}-${experimentId}`, safe);
}

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
