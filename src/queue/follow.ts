/**
 * Following queued runs from the submitting machine (`ptv2 run/sweep --queue`, `ptv2 collect`):
 * what workers report arrives through BullMQ and goes into the local store as it comes, and the
 * live display (or `--plain` lines) shows it.
 *
 * Two channels: QueueEvents (Redis stream) brings each job's progress (its start, every epoch with
 * the rows the worker recorded) for the live view; a poll of every open job's state (completed:
 * its return value; failed: its reason) makes the end certain even for events missed while this
 * process was not running or Redis restarted. Every write is idempotent (queue-records.ts), so the
 * two channels, and a `collect` after a follower, record each result once.
 *
 * References: https://docs.bullmq.io/guide/events, https://docs.bullmq.io/guide/jobs/getters
 */
import fs from 'node:fs';
import path from 'node:path';
import type {Job, Queue, QueueEvents} from 'bullmq';
import {QueueRecords} from '../store/queue-records.js';
import type {RunStatus, Store} from '../store/index.js';
import type {TrainEvent} from '../train/trainer.js';
import {describeEvent, runTasks} from '../ui/progress.js';
import {loadBullmq, QUEUE_NAME, type QueueTarget} from './connection.js';
import {sha256, type JobProgress, type JobReturn} from './payload.js';

export interface FollowedRun {
  runId: number;
  experimentId: number;
  queueJob: string;
  jobKey: string;
  /** Where the run's files go on this machine (the layout of a local run). */
  outputDir: string;
  /** MPT-2 fine-tuning: the run of the shared stage whose worker puts this job on the queue. */
  sharedRunId?: number;
}

export interface FollowedOutcome {
  runId: number;
  jobKey: string;
  status: RunStatus;
  error: string | null;
  keyMetric: string;
  bestValue: number | null;
  bestEpoch: number | null;
  attempts: number;
}

export interface FollowOptions {
  /** No display at all (--json). */
  quiet: boolean;
  plain?: boolean;
  log: (line: string) => void;
  /** Printed on Ctrl-C: how to pick the runs up again. */
  resumeHint: string;
  /** Called once Ctrl-C is handled: the place for the line that says the runs are on their way. */
  ready?: () => void;
}

/** How often every open job's state is read (PTV2_QUEUE_POLL_MS). */
function pollInterval(): number {
  const ms = Number(process.env.PTV2_QUEUE_POLL_MS ?? 1000);
  return Number.isFinite(ms) && ms >= 50 ? ms : 1000;
}

/** A job missing from the queue this many polls in a row (after what it waits for has finished) fails its run. */
const MISSING_POLLS = 5;

interface Tracked {
  run: FollowedRun;
  finished: boolean;
  checking: boolean;
  missing: number;
  listener?: (event: TrainEvent) => void;
  done: Promise<FollowedOutcome>;
  resolve: (outcome: FollowedOutcome) => void;
}

/** Follows `runs` until each is completed or failed; Ctrl-C stops following (the jobs stay on the queue) and exits 130. */
export async function followRuns(store: Store, target: QueueTarget, runs: readonly FollowedRun[], opts: FollowOptions): Promise<FollowedOutcome[]> {
  const onSignal = () => {
    if (!opts.quiet) opts.log(`stopped following; the jobs stay on the queue and keep running on the workers. Pick them up with: ${opts.resumeHint}`);
    store.close();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  opts.ready?.();
  const records = new QueueRecords(store);
  const {Queue, QueueEvents} = await loadBullmq();
  const queue: Queue = new Queue(QUEUE_NAME, {connection: target.redis});
  const events: QueueEvents = new QueueEvents(QUEUE_NAME, {connection: target.redis});
  const reported = new Set<string>();
  const report = (message: string) => {
    // Redis going away is reported once per kind of error, not once per poll.
    if (reported.has(message)) return;
    reported.add(message);
    if (!opts.quiet) opts.log(`queue: ${message}`);
  };
  queue.on('error', (error) => report(error.message));
  events.on('error', (error) => report(error.message));

  const tracked = new Map<string, Tracked>();
  const byRun = new Map<number, Tracked>();
  for (const run of runs) {
    let resolve!: (outcome: FollowedOutcome) => void;
    const done = new Promise<FollowedOutcome>((r) => (resolve = r));
    const t: Tracked = {run, finished: false, checking: false, missing: 0, done, resolve};
    tracked.set(run.queueJob, t);
    byRun.set(run.runId, t);
  }
  const plainLine = (t: Tracked, line: string) => {
    if (!opts.quiet && opts.plain) opts.log(`${t.run.jobKey}: ${line}`);
  };

  const outcomeOf = (t: Tracked): FollowedOutcome => {
    const row = store.run(t.run.runId)!;
    const queued = records.queueRun(t.run.runId)!;
    return {runId: row.id, jobKey: t.run.jobKey, status: row.status, error: row.error, keyMetric: row.keyMetric, bestValue: row.bestValue, bestEpoch: row.bestEpoch, attempts: queued.attempts};
  };
  const finish = (t: Tracked) => {
    if (t.finished) return;
    t.finished = true;
    const outcome = outcomeOf(t);
    plainLine(t, outcome.status === 'completed' ? `completed: best dev ${outcome.keyMetric} ${outcome.bestValue?.toFixed(4)} (epoch ${outcome.bestEpoch}), ${outcome.attempts} attempt(s)` : `${outcome.status}: ${outcome.error}`);
    const experiment = t.run.experimentId;
    if (runs.every((r) => r.experimentId !== experiment || byRun.get(r.runId)!.finished)) records.settleExperiment(experiment);
    t.resolve(outcome);
  };

  const onProgress = (t: Tracked, progress: JobProgress) => {
    if (t.finished) return;
    if (progress.type === 'started') {
      if (records.markStarted(t.run.runId, progress.run)) plainLine(t, `started on ${progress.run.host} (pid ${progress.run.pid}, attempt ${progress.run.attempt})`);
      return;
    }
    const {event, rows, attempt} = progress;
    if (rows) records.recordEpoch(t.run.runId, attempt, event.type === 'eval' ? event.epoch : 0, rows);
    t.listener?.(event);
    const line = describeEvent(event);
    if (line && event.type !== 'step') plainLine(t, line);
  };

  const check = async (t: Tracked) => {
    if (t.finished || t.checking) return;
    t.checking = true;
    try {
      // The state first: a job read before it completed would have no return value yet.
      const state = await queue.getJobState(t.run.queueJob);
      if (state === 'unknown') return missing(t);
      t.missing = 0;
      if (state !== 'completed' && state !== 'failed') return;
      const job = (await queue.getJob(t.run.queueJob)) as Job<unknown, JobReturn> | undefined;
      if (!job) return;
      if (state === 'completed') {
        try {
          writeFinished(records, t.run, job.returnvalue);
        } catch (error) {
          // The result stays in Redis: --resume trains the run again.
          records.recordFailed(t.run.runId, `its result could not be recorded: ${(error as Error).message}`, job.attemptsStarted);
          return finish(t);
        }
        finish(t);
        await job.remove().catch(() => {});
      } else if (state === 'failed') {
        records.recordFailed(t.run.runId, job.failedReason || 'failed on the queue', job.attemptsStarted);
        finish(t);
        await job.remove().catch(() => {});
      }
    } catch (error) {
      report((error as Error).message);
    } finally {
      t.checking = false;
    }
  };

  const missing = (t: Tracked) => {
    // A fine-tuning job is put on the queue by its shared stage's worker: it may not be there yet.
    const shared = t.run.sharedRunId === undefined ? undefined : store.run(t.run.sharedRunId);
    if (shared && shared.status === 'failed') {
      records.recordFailed(t.run.runId, `its shared stage ${byRun.get(shared.id)?.run.jobKey ?? shared.id} failed: ${shared.error}`);
      return finish(t);
    }
    if (shared && shared.status !== 'completed') return;
    t.missing += 1;
    if (t.missing >= MISSING_POLLS) {
      records.recordFailed(t.run.runId, `the queue has no job ${t.run.queueJob} (was Redis emptied or restarted without appendonly?); ptv2 run CONFIG --resume --queue URL puts it back`);
      finish(t);
    }
  };

  events.on('progress', ({jobId, data}) => {
    const t = tracked.get(jobId);
    if (t && typeof data === 'object' && data !== null) onProgress(t, data as JobProgress);
  });
  for (const name of ['completed', 'failed'] as const) {
    events.on(name, ({jobId}: {jobId: string}) => {
      const t = tracked.get(jobId);
      if (t) void check(t);
    });
  }

  for (const t of tracked.values()) {
    const row = records.queueRun(t.run.runId);
    if (row && (row.status === 'completed' || row.status === 'failed')) finish(t);
  }
  const pollAll = () => {
    for (const t of tracked.values()) void check(t);
  };
  pollAll();
  const timer = setInterval(pollAll, pollInterval());

  try {
    const all = [...tracked.values()];
    if (opts.quiet || opts.plain) return await Promise.all(all.map((t) => t.done));
    const outcomes = new Map<Tracked, FollowedOutcome>();
    await runTasks(
      all.map((t) => ({
        title: t.run.jobKey,
        run: async (control) => {
          t.listener = (event) => {
            const line = describeEvent(event);
            if (line) control.status(line);
          };
          const o = await t.done;
          outcomes.set(t, o);
          return o.status === 'completed'
            ? {title: `${o.jobKey}: best dev ${o.keyMetric} ${o.bestValue?.toFixed(4)} (epoch ${o.bestEpoch})${o.attempts > 1 ? `, ${o.attempts} attempts` : ''}`}
            : {title: `${o.jobKey}: ${o.status}`, failed: o.error ?? o.status};
        },
      })),
      {concurrent: true},
    );
    return all.map((t) => outcomes.get(t)!);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    clearInterval(timer);
    await events.close();
    await queue.close();
  }
}

/** The run's files under its output directory on this machine (each checked against its sha256), then its records. */
function writeFinished(records: QueueRecords, run: FollowedRun, result: JobReturn): void {
  fs.mkdirSync(run.outputDir, {recursive: true});
  const artifacts = result.files.map((file) => {
    // Too large for the queue: the worker left it in the shared output_dir.
    if (file.base64 === undefined) return {kind: file.kind, path: file.path!, sha256: file.sha256};
    const bytes = Buffer.from(file.base64, 'base64');
    if (sha256(bytes) !== file.sha256) throw new Error(`${run.jobKey}: ${file.name} arrived damaged (sha256 differs)`);
    const target = path.join(run.outputDir, path.basename(file.name));
    const partial = `${target}.partial`;
    fs.writeFileSync(partial, bytes);
    fs.renameSync(partial, target);
    return {kind: file.kind, path: target, sha256: file.sha256};
  });
  records.recordFinished(run.runId, {...result.run, artifacts});
}
