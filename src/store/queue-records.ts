/**
 * The store's side of experiments across machines (src/queue): experiments and runs recorded as
 * `queued`, then brought up to date from what workers report through the queue.
 *
 * Every write is keyed by run id and idempotent, so a result that arrives twice (a retried job, a
 * follower and a `ptv2 collect` both catching up) is recorded once: a live epoch replaces that
 * epoch's rows, a finished run replaces all of the run's metrics and artifacts in one transaction
 * and is refused once the run is `completed`. Events of an older attempt than the row's are
 * ignored, so a worker that lost its job cannot overwrite the one that took it over.
 */
import os from 'node:os';
import type Database from 'better-sqlite3';
import type {MetricRow, RunStatus, Store} from './index.js';
import type {RunRow} from './rows.js';

/** What a queued run row holds before a worker has started it. */
export interface QueuedRunStart extends Pick<RunRow, 'task' | 'method' | 'stage' | 'sweepKey' | 'sweepValue' | 'params' | 'seed' | 'modelPath' | 'keyMetric'> {
  /** The planned job's id (`rte/pt2/prompt.length=4`). */
  jobKey: string;
}

/** The run row as the worker's own store had it when training began. */
export interface StartedRun {
  attempt: number;
  startedAt: string;
  host: string;
  pid: number;
  backend: string;
  params: Record<string, unknown>;
  trainableParams: number;
  totalParams: number;
  keyMetric: string;
}

/** A finished run as the worker recorded it: the row's outcome, every metric row and the artifacts, written locally. */
export interface FinishedRun extends StartedRun {
  status: 'completed' | 'failed';
  error: string | null;
  bestEpoch: number | null;
  bestValue: number | null;
  finishedAt: string;
  seconds: number;
  metrics: MetricRow[];
  artifacts: {kind: string; path: string; sha256: string}[];
}

/** A run of the queue as the follower needs it. */
export interface QueueRunRow {
  id: number;
  experimentId: number;
  jobKey: string;
  queueJob: string;
  status: RunStatus;
  attempts: number;
  queuedAt: string;
}

const QUEUE_RUN_COLUMNS = `id, experiment_id AS experimentId, job_key AS jobKey, queue_job AS queueJob, status, attempts, queued_at AS queuedAt`;

export class QueueRecords {
  private readonly db: Database.Database;
  private readonly host = os.hostname();

  constructor(readonly store: Store) {
    this.db = store.connection;
  }

  /** A new experiment whose runs will all go through the queue: `queued` until they finish. */
  createQueuedExperiment(e: {name: string; configPath?: string; configText: string}): number {
    return this.db
      .transaction(() => {
        const id = this.store.createExperiment(e);
        this.db.prepare(`UPDATE experiments SET status = 'queued' WHERE id = ?`).run(id);
        return id;
      })
      .immediate();
  }

  /** `--resume`: the experiment is on the queue again. */
  requeueExperiment(id: number): void {
    this.db.prepare(`UPDATE experiments SET status = 'queued', finished_at = NULL WHERE id = ?`).run(id);
  }

  /**
   * One `queued` row per planned job, each given its queue job id (`e3-r17-<token>`: unique across
   * databases that share one Redis, thanks to the random token). Returns the rows in order.
   */
  insertQueuedRuns(experimentId: number, runs: readonly QueuedRunStart[], token: string): QueueRunRow[] {
    const now = new Date().toISOString();
    const insert = this.db.prepare(
      `INSERT INTO runs (experiment_id, task, method, stage, sweep_key, sweep_value, params_json, seed, backend, model_path,
         trainable_params, total_params, key_metric, status, pid, host, started_at, queued_at, attempts, job_key)
       VALUES (@experimentId, @task, @method, @stage, @sweepKey, @sweepValue, @paramsJson, @seed, 'queued', @modelPath,
         0, 0, @keyMetric, 'queued', @pid, @host, @now, @now, 0, @jobKey)`,
    );
    const setJob = this.db.prepare(`UPDATE runs SET queue_job = ? WHERE id = ?`);
    return this.db
      .transaction(() =>
        runs.map((r) => {
          const {params, ...rest} = r;
          const id = Number(insert.run({...rest, experimentId, paramsJson: JSON.stringify(params), pid: process.pid, host: this.host, now}).lastInsertRowid);
          setJob.run(queueJobId(experimentId, id, token), id);
          return this.queueRun(id)!;
        }),
      )
      .immediate();
  }

  /** A run that did not complete goes back on the queue as a new queue job; what it recorded so far goes. */
  requeueRun(runId: number, token: string): QueueRunRow {
    return this.db
      .transaction(() => {
        const run = this.queueRun(runId)!;
        this.db.prepare(`DELETE FROM metrics WHERE run_id = ?`).run(runId);
        this.db.prepare(`DELETE FROM artifacts WHERE run_id = ?`).run(runId);
        this.db
          .prepare(
            `UPDATE runs SET status = 'queued', error = NULL, best_epoch = NULL, best_value = NULL, finished_at = NULL, seconds = NULL,
               attempts = 0, queued_at = @now, started_at = @now, queue_job = @job WHERE id = @id`,
          )
          .run({id: runId, now: new Date().toISOString(), job: queueJobId(run.experimentId, runId, token)});
        return this.queueRun(runId)!;
      })
      .immediate();
  }

  queueRun(runId: number): QueueRunRow | undefined {
    return this.db.prepare<[number], QueueRunRow>(`SELECT ${QUEUE_RUN_COLUMNS} FROM runs WHERE id = ?`).get(runId);
  }

  /** The experiment's runs that went through the queue, in plan order. */
  queueRuns(experimentId: number): QueueRunRow[] {
    return this.db.prepare<[number], QueueRunRow>(`SELECT ${QUEUE_RUN_COLUMNS} FROM runs WHERE experiment_id = ? AND queue_job IS NOT NULL ORDER BY id`).all(experimentId);
  }

  /** Experiments still on the queue, oldest first. */
  queuedExperiments(): number[] {
    return this.db.prepare<[], {id: number}>(`SELECT id FROM experiments WHERE status = 'queued' ORDER BY id`).all().map((r) => r.id);
  }

  /**
   * A worker began an attempt: the row takes the worker's values (its params, backend, parameter
   * counts, host and pid) and `running`. A new attempt drops what an earlier one recorded.
   */
  markStarted(runId: number, s: StartedRun): boolean {
    return this.db
      .transaction(() => {
        const run = this.queueRun(runId);
        if (!run || run.status === 'completed' || run.status === 'failed' || s.attempt < run.attempts) return false;
        if (s.attempt > run.attempts) {
          this.db.prepare(`DELETE FROM metrics WHERE run_id = ?`).run(runId);
          this.db.prepare(`DELETE FROM artifacts WHERE run_id = ?`).run(runId);
        }
        this.db.prepare(`UPDATE runs SET ${STARTED_SET}, status = 'running' WHERE id = @id`).run(startedValues(runId, s));
        return true;
      })
      .immediate();
  }

  /** One epoch's rows of the current attempt, as they arrive; the epoch's earlier rows (if any) are replaced. */
  recordEpoch(runId: number, attempt: number, epoch: number, rows: readonly MetricRow[]): boolean {
    return this.db
      .transaction(() => {
        const run = this.queueRun(runId);
        if (!run || run.status !== 'running' || run.attempts !== attempt) return false;
        this.db.prepare(`DELETE FROM metrics WHERE run_id = ? AND epoch = ?`).run(runId, epoch);
        const insert = this.db.prepare(`INSERT INTO metrics (run_id, epoch, step, split, name, value) VALUES (@runId, @epoch, @step, @split, @name, @value)`);
        for (const row of rows) if (Number.isFinite(row.value)) insert.run({runId, ...row});
        return true;
      })
      .immediate();
  }

  /** The run as it finished, all at once; false (and nothing written) when it was recorded completed before. */
  recordFinished(runId: number, f: FinishedRun): boolean {
    return this.db
      .transaction(() => {
        const run = this.queueRun(runId);
        if (!run || run.status === 'completed') return false;
        this.db.prepare(`DELETE FROM metrics WHERE run_id = ?`).run(runId);
        this.db.prepare(`DELETE FROM artifacts WHERE run_id = ?`).run(runId);
        this.db
          .prepare(
            `UPDATE runs SET ${STARTED_SET}, status = @status, error = @error, best_epoch = @bestEpoch, best_value = @bestValue,
               finished_at = @finishedAt, seconds = @seconds WHERE id = @id`,
          )
          .run({...startedValues(runId, f), status: f.status, error: f.error, bestEpoch: f.bestEpoch, bestValue: f.bestValue, finishedAt: f.finishedAt, seconds: f.seconds});
        const metric = this.db.prepare(`INSERT INTO metrics (run_id, epoch, step, split, name, value) VALUES (@runId, @epoch, @step, @split, @name, @value)`);
        for (const row of f.metrics) if (Number.isFinite(row.value)) metric.run({runId, ...row});
        const artifact = this.db.prepare(`INSERT INTO artifacts (run_id, kind, path, sha256) VALUES (@runId, @kind, @path, @sha256)`);
        for (const a of f.artifacts) artifact.run({runId, ...a});
        return true;
      })
      .immediate();
  }

  /** The queue gave up on the run (its attempts failed, or what it needed failed); a completed run stays completed. */
  recordFailed(runId: number, error: string, attempts?: number): boolean {
    const result = this.db
      .prepare(
        `UPDATE runs SET status = 'failed', error = @error, finished_at = @now, attempts = max(attempts, @attempts),
           seconds = CASE WHEN attempts > 0 THEN (julianday(@now) - julianday(started_at)) * 86400.0 END
         WHERE id = @id AND status NOT IN ('completed', 'failed')`,
      )
      .run({id: runId, error, now: new Date().toISOString(), attempts: attempts ?? 0});
    return result.changes > 0;
  }

  /**
   * Once none of its runs is queued or running, a queued experiment is `completed` (every run
   * completed) or `failed`; returns its status.
   */
  settleExperiment(experimentId: number): RunStatus {
    const counts = this.db
      .prepare<[number], {open: number; notCompleted: number}>(
        `SELECT sum(status IN ('queued', 'running')) AS open, sum(status <> 'completed') AS notCompleted FROM runs WHERE experiment_id = ?`,
      )
      .get(experimentId)!;
    if ((counts.open ?? 0) > 0) return 'queued';
    const status = (counts.notCompleted ?? 0) === 0 ? 'completed' : 'failed';
    this.db.prepare(`UPDATE experiments SET status = ?, finished_at = ? WHERE id = ? AND status = 'queued'`).run(status, new Date().toISOString(), experimentId);
    return status;
  }
}

/** `e3-r17-9f2c4e1a7b3d`: BullMQ custom ids may not be integers nor contain ":". */
export function queueJobId(experimentId: number, runId: number, token: string): string {
  return `e${experimentId}-r${runId}-${token}`;
}

const STARTED_SET = `started_at = @startedAt, host = @host, pid = @pid, backend = @backend, params_json = @paramsJson,
  trainable_params = @trainableParams, total_params = @totalParams, key_metric = @keyMetric, attempts = max(attempts, @attempt)`;

function startedValues(runId: number, s: StartedRun) {
  return {
    id: runId,
    startedAt: s.startedAt,
    host: s.host,
    pid: s.pid,
    backend: s.backend,
    paramsJson: JSON.stringify(s.params),
    trainableParams: s.trainableParams,
    totalParams: s.totalParams,
    keyMetric: s.keyMetric,
    attempt: s.attempt,
  };
}
