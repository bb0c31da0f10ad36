/**
 * `ptv2 worker`: takes jobs from the queue, trains each in a training thread (train-thread.ts) as
 * a local run would, and reports back through BullMQ: the run's start and epochs as job progress,
 * the finished run and its files as the job's return value. N threads train N jobs at once.
 *
 * Faults: a job whose worker dies stops renewing its lock; after the lock expires another worker's
 * stalled-job check puts it back on the queue and it runs again from its first epoch (the store
 * keeps one row per job, with the attempts). An MPT-2 shared stage puts its fine-tuning jobs on the
 * queue once it has trained, with its state in their data, so they never start before it.
 *
 * References: https://docs.bullmq.io/guide/workers, https://docs.bullmq.io/guide/workers/stalled-jobs
 */
import fs from 'node:fs';
import os from 'node:os';
import {Worker as Thread} from 'node:worker_threads';
import type {Job} from 'bullmq';
import {checkReachable, loadBullmq, QUEUE_NAME, type QueueTarget} from './connection.js';
import {jobOptions, type JobPayload, type JobProgress, type JobReturn} from './payload.js';
import type {ThreadJob, ThreadMessage, ThreadOptions} from './train-thread.js';

export interface WorkerOptions {
  target: QueueTarget;
  concurrency: number;
  backend?: string;
  root?: string;
  log: (line: string) => void;
}

export interface WorkerSummary {
  queue: string;
  jobs: {completed: number; failed: number};
}

/** How long a job's lock lasts without renewal (PTV2_QUEUE_LOCK_MS): how soon a dead worker's job is taken over. */
export function lockDuration(): number {
  const ms = Number(process.env.PTV2_QUEUE_LOCK_MS ?? 30_000);
  return Number.isFinite(ms) && ms >= 500 ? ms : 30_000;
}

/** Runs until SIGINT/SIGTERM: the first lets running jobs finish, a second stops at once (they are retried elsewhere). */
export async function runWorker(opts: WorkerOptions): Promise<WorkerSummary> {
  await checkReachable(opts.target);
  const {Worker, Queue, UnrecoverableError} = await loadBullmq();
  const connection = opts.target.redis;
  const queue = new Queue(QUEUE_NAME, {connection});
  const threads = new ThreadPool({backend: opts.backend, root: opts.root});
  const counts = {completed: 0, failed: 0};
  const lock = lockDuration();

  const processor = async (job: Job<JobPayload, JobReturn>): Promise<JobReturn> => {
    const payload = job.data;
    const attempt = Math.max(1, job.attemptsStarted);
    const label = `${payload.jobKey} (${payload.experiment}, job ${job.id}, attempt ${attempt})`;
    opts.log(`started ${label}`);
    try {
      const result = await threads.run({payload, attempt}, (progress) => {
        job.updateProgress(progress).catch(() => {});
      });
      // MPT-2: the fine-tuning jobs go on the queue now that the shared state exists (a retried
      // shared job adds them again, which the fixed job ids make a no-op).
      if (payload.then && payload.then.length > 0) {
        const state = result.files.find((f) => f.kind === 'trainable_state');
        if (!state) throw new Error(`${payload.jobKey} saved no trainable state to fine-tune from`);
        await queue.addBulk(payload.then.map((t) => ({name: t.payload.jobKey, data: {...t.payload, sharedState: state.base64 ?? fs.readFileSync(state.path!).toString('base64')}, opts: jobOptions(t.queueJob)})));
      }
      counts.completed += 1;
      opts.log(`completed ${payload.jobKey}: best dev ${result.run.keyMetric} ${result.run.bestValue?.toFixed(4)} (epoch ${result.run.bestEpoch}) in ${result.run.seconds.toFixed(1)} s`);
      return result;
    } catch (error) {
      const failure = error as ThreadFailure;
      counts.failed += 1;
      opts.log(`failed ${label}: ${failure.message}${failure.retry === false ? ' (not retried: training itself failed)' : ''}`);
      throw failure.retry === false ? new UnrecoverableError(failure.message) : failure;
    }
  };

  const worker = new Worker<JobPayload, JobReturn>(QUEUE_NAME, processor, {
    connection,
    concurrency: opts.concurrency,
    lockDuration: lock,
    stalledInterval: Math.max(250, Math.floor(lock / 2)),
    // A job whose worker died counts as stalled; it is tried again this many times.
    maxStalledCount: 2,
  });
  worker.on('error', (error) => opts.log(`queue: ${error.message}`));
  await worker.waitUntilReady();
  // The handlers are in place before the ready line, so a signal right after it is handled.
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) {
        opts.log('stopping now; running jobs go back to the queue when their lock expires');
        process.exit(130);
      }
      stopping = true;
      opts.log('stopping: finishing the running jobs (Ctrl-C again to stop now)');
      worker.close().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  opts.log(`waiting for jobs on ${opts.target.masked} (queue ${QUEUE_NAME}, ${opts.concurrency} at a time, host ${os.hostname()}, pid ${process.pid}${opts.root ? `, root ${opts.root}` : ''})`);
  await stopped;
  await threads.close();
  await queue.close();
  return {queue: opts.target.masked, jobs: counts};
}

type ThreadFailure = Error & {retry?: boolean};

/** Training threads, started on demand, one job each at a time. */
class ThreadPool {
  private readonly idle: Thread[] = [];
  private readonly all = new Set<Thread>();

  constructor(private readonly options: ThreadOptions) {}

  run(job: ThreadJob, onProgress: (progress: JobProgress) => void): Promise<JobReturn> {
    const thread = this.idle.pop() ?? this.start();
    return new Promise<JobReturn>((resolve, reject) => {
      const release = () => {
        thread.off('message', onMessage);
        thread.off('error', onError);
      };
      const onMessage = (message: ThreadMessage) => {
        if (message.type === 'progress') return onProgress(message.progress);
        release();
        this.idle.push(thread);
        if (message.type === 'done') resolve(message.result);
        else reject(Object.assign(new Error(message.message), {retry: message.retry}));
      };
      // A thread that crashed is not reused: its tfjs state is unknown.
      const onError = (error: Error) => {
        release();
        this.all.delete(thread);
        void thread.terminate();
        reject(error);
      };
      thread.on('message', onMessage);
      thread.on('error', onError);
      thread.postMessage(job);
    });
  }

  private start(): Thread {
    // From the built files, train-thread.js; from the sources (bin/dev.js, under tsx), train-thread.ts.
    const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    const thread = new Thread(new URL(`./train-thread.${extension}`, import.meta.url), {workerData: this.options});
    this.all.add(thread);
    return thread;
  }

  async close(): Promise<void> {
    await Promise.all([...this.all].map((t) => t.terminate()));
    this.all.clear();
    this.idle.length = 0;
  }
}
