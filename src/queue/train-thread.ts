/**
 * The worker's training thread: trains one queue job at a time with the orchestrator a local run
 * uses (Experiment.prepare, then runJob), keeping the records in a private in-memory store, and
 * posts back what that store records: the run row when training begins, each epoch's metric rows,
 * and at the end every metric row, the run's outcome and its files.
 *
 * It runs in a worker thread because training keeps its thread busy for a whole job: the main
 * thread stays free to renew the job's lock in Redis (else the job would look stalled and be
 * taken by another worker) and to send progress as it comes.
 *
 * The prepared experiment (checkpoint, tokenizer, task data) is kept while jobs of the same config
 * follow each other.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {parentPort, workerData} from 'node:worker_threads';
import {parseConfig} from '../config/load.js';
import {ensureCheckpoint, Experiment, jobOutputDir} from '../experiment/experiment.js';
import {isUserError} from '../errors.js';
import type {TrainEvent} from '../train/trainer.js';
import {maxShippedBytes, PAYLOAD_VERSION, sha256, type JobPayload, type JobProgress, type JobReturn, type ShippedFile} from './payload.js';
import {resolveJobPaths, resolveOutputDir} from './paths.js';

export interface ThreadOptions {
  backend?: string;
  root?: string;
}

/** main → thread */
export interface ThreadJob {
  payload: JobPayload;
  attempt: number;
}

/** thread → main */
export type ThreadMessage = {type: 'progress'; progress: JobProgress} | {type: 'done'; result: JobReturn} | {type: 'error'; message: string; retry: boolean};

/** Step events are sent at most this often; epochs, evaluations and the start always. */
const STEP_EVENT_MS = 1000;

const options = workerData as ThreadOptions;
let cached: {key: string; experiment: Experiment; scratch: string; outputDir: {output_dir: string; name: string}} | undefined;

parentPort!.on('message', (message: ThreadJob) => {
  runJob(message).then(
    (result) => parentPort!.postMessage({type: 'done', result} satisfies ThreadMessage),
    (error: unknown) => {
      const text = error instanceof Error ? error.message : String(error);
      parentPort!.postMessage({type: 'error', message: text, retry: !(error instanceof TrainingFailed)} satisfies ThreadMessage);
    },
  );
});

/** Training itself failed (diverged, …): the same seed would fail the same way, so no retry. */
class TrainingFailed extends Error {}

async function runJob({payload, attempt}: ThreadJob): Promise<JobReturn> {
  if (payload.version !== PAYLOAD_VERSION) throw new Error(`the job was queued by a ptv2 whose jobs are version ${payload.version}; this worker reads version ${PAYLOAD_VERSION}: run the same ptv2 on every machine`);
  const experiment = await experimentFor(payload);
  const job = experiment.jobs.find((j) => j.id === payload.jobKey);
  if (!job) throw new Error(`the config plans no job ${payload.jobKey}`);
  if (job.stage === 'finetune') {
    if (payload.sharedState === undefined) throw new Error(`${job.id} came without the state of its shared stage ${job.from}`);
    const file = path.join(cached!.scratch, `${crypto.randomUUID()}.shared.safetensors`);
    fs.writeFileSync(file, Buffer.from(payload.sharedState, 'base64'));
    experiment.useSharedState(job.from!, file);
  }

  const store = experiment.store;
  const post = (progress: JobProgress) => parentPort!.postMessage({type: 'progress', progress} satisfies ThreadMessage);
  let runId: number | undefined;
  let lastStep = 0;
  const onEvent = (event: TrainEvent) => {
    if (event.type === 'start') {
      // The run row exists from here on (written just before training starts).
      const row = store.runs(experiment.experimentId).at(-1)!;
      runId = row.id;
      post({type: 'started', run: {attempt, startedAt: row.startedAt, host: os.hostname(), pid: process.pid, backend: row.backend, params: row.params, trainableParams: row.trainableParams, totalParams: row.totalParams, keyMetric: row.keyMetric}});
      post({type: 'event', attempt, event, rows: store.metrics(runId).filter((r) => r.epoch === 0)});
      return;
    }
    if (event.type === 'step') {
      if (Date.now() - lastStep < STEP_EVENT_MS) return;
      lastStep = Date.now();
    }
    // After an evaluation the store holds the whole epoch: its step rows, dev metrics and mean loss.
    const rows = event.type === 'eval' && runId !== undefined ? store.metrics(runId).filter((r) => r.epoch === event.epoch) : undefined;
    post({type: 'event', attempt, event, ...(rows ? {rows} : {})});
  };

  const result = await experiment.runJob(job, onEvent);
  if (result.status !== 'completed' || result.runId === null) throw new TrainingFailed(result.error ?? `run ${result.status}`);
  const finishedRun = result.runId;
  const run = store.run(finishedRun)!;
  const files = store.artifacts(finishedRun).map((a): ShippedFile => {
    const bytes = fs.readFileSync(a.path);
    const file = {kind: a.kind, name: path.basename(a.path), sha256: sha256(bytes)};
    if (bytes.length <= maxShippedBytes()) return {...file, base64: bytes.toString('base64')};
    // Too large for the queue: left under the config's own output_dir, where the submitter looks for it.
    const dir = jobOutputDir(cached!.outputDir, payload.experimentId, job.id);
    fs.mkdirSync(dir, {recursive: true});
    fs.copyFileSync(a.path, path.join(dir, file.name));
    return {...file, path: path.join(dir, file.name)};
  });
  fs.rmSync(experiment.outputDir(job), {recursive: true, force: true});
  return {
    run: {
      attempt,
      startedAt: run.startedAt,
      host: os.hostname(),
      pid: process.pid,
      backend: run.backend,
      params: run.params,
      trainableParams: run.trainableParams,
      totalParams: run.totalParams,
      keyMetric: run.keyMetric,
      status: 'completed',
      error: null,
      bestEpoch: run.bestEpoch,
      bestValue: run.bestValue,
      finishedAt: run.finishedAt!,
      seconds: run.seconds ?? 0,
      metrics: store.metrics(finishedRun),
    },
    files,
  };
}

/** The prepared experiment of this config, kept from the previous job when it is the same. */
async function experimentFor(payload: JobPayload): Promise<Experiment> {
  const key = crypto.createHash('sha256').update(`${payload.configFile}\n${payload.configText}`).digest('hex');
  if (cached?.key === key) return cached.experiment;
  if (cached) {
    cached.experiment.store.close();
    cached.experiment.weights.dispose();
    fs.rmSync(cached.scratch, {recursive: true, force: true});
    cached = undefined;
  }
  let loaded;
  try {
    loaded = parseConfig(payload.configText, payload.configFile);
  } catch (error) {
    if (isUserError(error) || (error as Error).name === 'ConfigError') throw new Error(`the job's config does not load here: ${(error as Error).message}`);
    throw error;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-worker-'));
  // Records stay in memory and files in the scratch directory until they are sent back.
  const resolved = resolveJobPaths(loaded.config, options.root, payload.configFile);
  const config = {...resolved, output_dir: scratch, database: ':memory:'};
  const local = {...loaded, config};
  const {initBackend, resolveBackendChoice} = await import('../compute/backend.js');
  await initBackend(resolveBackendChoice(options.backend ?? payload.backend, config.backend));
  await withCheckpointLock(config.model.path, () => ensureCheckpoint(config));
  const experiment = await Experiment.prepare(local, {backend: options.backend ?? payload.backend, database: ':memory:'});
  cached = {key, experiment, scratch, outputDir: {output_dir: resolveOutputDir(loaded.config.output_dir, options.root, payload.configFile), name: config.name}};
  return experiment;
}

/**
 * A checkpoint the config creates on first use (`model.init`) is written by one worker of this
 * machine at a time: the others wait for its lock directory, then find it there.
 */
async function withCheckpointLock<T>(dir: string, create: () => Promise<T>): Promise<T | undefined> {
  if (fs.existsSync(dir)) return undefined;
  const lock = `${dir}.ptv2-lock`;
  fs.mkdirSync(path.dirname(lock), {recursive: true});
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock left by a worker that died while writing is taken over after ten minutes.
      if (Date.now() - (fs.statSync(lock, {throwIfNoEntry: false})?.mtimeMs ?? Date.now()) > 600_000) fs.rmSync(lock, {recursive: true, force: true});
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return fs.existsSync(dir) ? undefined : await create();
  } finally {
    fs.rmSync(lock, {recursive: true, force: true});
  }
}
