/**
 * What travels through the queue: a job's data (the experiment's config text and which planned
 * job to train), the progress a worker reports while it trains, and the finished run it returns.
 * Plain JSON, so BullMQ stores it as is; files go as base64 (prediction files and trainable states
 * are small: the prompt and head of PT-2, a few hundred kB for a base-size model).
 */
import crypto from 'node:crypto';
import type {JobsOptions} from 'bullmq';
import type {MetricRow} from '../store/index.js';
import type {FinishedRun, StartedRun} from '../store/queue-records.js';
import type {TrainEvent} from '../train/trainer.js';

/** Bumped when what jobs carry changes: a worker refuses jobs of another version rather than misread them. */
export const PAYLOAD_VERSION = 1;

export interface JobPayload {
  /** PAYLOAD_VERSION of the submitting ptv2. */
  version: number;
  /** The experiment's config text exactly as recorded in the database; the worker plans it again. */
  configText: string;
  /** The file it was read from: for messages, and to name the config in errors. */
  configFile: string;
  /** The planned job's id (`rte/pt2`, `+shared/mpt2/prompt.length=4`). */
  jobKey: string;
  /** For the worker's log. */
  experiment: string;
  /** The experiment's id in the submitter's database: where files too large for the queue go (see ShippedFile). */
  experimentId: number;
  /** `--backend` given to the submitting command, if any; the worker's own `--backend` wins. */
  backend?: string;
  /** MPT-2 shared stage: the fine-tuning jobs to put on the queue once it has completed. */
  then?: {queueJob: string; payload: JobPayload}[];
  /** MPT-2 fine-tuning: the shared stage's trainable state (safetensors, base64). */
  sharedState?: string;
}

/**
 * A file written by the run on the worker: its bytes (base64) when it is small enough for the
 * queue, else the path where the worker left it under the config's output_dir, which must then be
 * a directory the submitting machine shares (FT's trainable state of a large model).
 */
export interface ShippedFile {
  kind: string;
  /** File name inside the job's output directory. */
  name: string;
  sha256: string;
  base64?: string;
  path?: string;
}

/** Files up to this size travel through the queue (PTV2_QUEUE_MAX_FILE_MB, default 32). */
export function maxShippedBytes(): number {
  const mb = Number(process.env.PTV2_QUEUE_MAX_FILE_MB ?? 32);
  return (Number.isFinite(mb) && mb >= 0 ? mb : 32) * 1024 * 1024;
}

/** The job's return value: the run as the worker's store recorded it, and its files. */
export interface JobReturn {
  run: Omit<FinishedRun, 'artifacts'>;
  files: ShippedFile[];
}

/** `job.updateProgress` values: the run began (with its row), a training event (with the rows it recorded). */
export type JobProgress =
  | {type: 'started'; run: StartedRun}
  | {type: 'event'; attempt: number; event: TrainEvent; rows?: MetricRow[]};

/** Attempts per job (PTV2_QUEUE_ATTEMPTS): a worker that dies or fails leaves the job to another. */
export function queueAttempts(): number {
  const n = Number(process.env.PTV2_QUEUE_ATTEMPTS ?? 3);
  return Number.isInteger(n) && n >= 1 ? n : 3;
}

/**
 * Options of every job: its id (so adding it again is a no-op), retries, and kept after it ends
 * (the submitter, or `ptv2 collect` later, reads the result and then removes it).
 */
export function jobOptions(queueJob: string): JobsOptions {
  return {jobId: queueJob, attempts: queueAttempts(), backoff: {type: 'fixed', delay: 1000}, removeOnComplete: false, removeOnFail: false};
}

/** A fresh token for queue job ids, so two databases sharing one Redis never pick the same id. */
export function newToken(): string {
  return crypto.randomBytes(6).toString('hex');
}

export function sha256(bytes: Buffer): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}
