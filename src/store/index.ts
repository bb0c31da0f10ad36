/**
 * The ptv2 results database: experiments, their runs, per-epoch metrics and artifacts in SQLite.
 *
 * Several ptv2 processes (parallel sweeps, a `report` while training runs) may share one file, so
 * the database runs in WAL mode with a 5 s busy timeout, and every write batch is one IMMEDIATE
 * transaction: it takes the write lock up front, so it waits for other writers instead of failing
 * with SQLITE_BUSY when a read would have to be upgraded to a write. Each epoch's metrics are
 * committed as soon as they are recorded, so a crash loses at most the epoch in progress, and runs a
 * crashed process left 'running' are found later by pid (`markOrphanedRunsInterrupted`).
 *
 * References: https://github.com/WiseLibs/better-sqlite3/blob/master/docs/api.md,
 * https://www.sqlite.org/wal.html, https://www.sqlite.org/lang_transaction.html
 */

import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {UserError} from '../errors.js';
import {MIGRATIONS} from './migrations.js';

/** `queued`: waiting in the queue of experiments across machines (src/queue). */
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'interrupted';

export interface RunStart {
  experimentId: number;
  task: string;
  method: string;
  stage?: string;
  sweepKey?: string;
  sweepValue?: string;
  params: Record<string, unknown>;
  seed: number;
  backend: string;
  modelPath?: string;
  trainableParams: number;
  totalParams: number;
  keyMetric: string;
}

export interface MetricRow {
  epoch: number;
  step: number;
  split: string;
  name: string;
  value: number;
}

export interface ExperimentRow {
  id: number;
  name: string;
  configPath: string | null;
  configText: string;
  configHash: string;
  createdAt: string;
  status: RunStatus;
  finishedAt: string | null;
  pid: number | null;
  host: string | null;
}

export interface RunRow {
  id: number;
  experimentId: number;
  task: string;
  method: string;
  stage: string;
  sweepKey: string | null;
  sweepValue: string | null;
  params: Record<string, unknown>;
  seed: number;
  backend: string;
  modelPath: string | null;
  trainableParams: number;
  totalParams: number;
  keyMetric: string;
  status: RunStatus;
  error: string | null;
  bestEpoch: number | null;
  bestValue: number | null;
  pid: number | null;
  host: string | null;
  startedAt: string;
  finishedAt: string | null;
  seconds: number | null;
}

export interface BestScoreRow {
  runId: number;
  task: string;
  method: string;
  stage: string;
  sweepKey: string | null;
  sweepValue: string | null;
  keyMetric: string;
  /** Best value of the key metric on the split, or null when the run recorded none. */
  value: number | null;
  epoch: number | null;
  status: RunStatus;
  /** What 100% is in the task's metric: 1 for fractions, 100 for scorers that print percentages (SQuAD). */
  metricScale: number;
}

export interface ArtifactRow {
  id: number;
  runId: number;
  kind: string;
  path: string;
  sha256: string | null;
}

/** The split whose key metric selects the best epoch and fills the report. */
export const DEV_SPLIT = 'dev';

const BUSY_TIMEOUT_MS = 5000;

const EXPERIMENT_COLUMNS = `id, name, config_path AS configPath, config_text AS configText,
  config_hash AS configHash, created_at AS createdAt, status, finished_at AS finishedAt, pid, host`;

const RUN_COLUMNS = `id, experiment_id AS experimentId, task, method, stage, sweep_key AS sweepKey,
  sweep_value AS sweepValue, params_json AS paramsJson, seed, backend, model_path AS modelPath,
  trainable_params AS trainableParams, total_params AS totalParams, key_metric AS keyMetric, status,
  error, best_epoch AS bestEpoch, best_value AS bestValue, pid, host, started_at AS startedAt,
  finished_at AS finishedAt, seconds`;

type StoredRun = Omit<RunRow, 'params'> & {paramsJson: string};

type StoredRunStart = Omit<RunStart, 'params' | 'stage' | 'sweepKey' | 'sweepValue' | 'modelPath'> & {
  stage: string;
  sweepKey: string | null;
  sweepValue: string | null;
  modelPath: string | null;
  paramsJson: string;
  pid: number;
  host: string;
  startedAt: string;
};

interface RunningProcess {
  id: number;
  pid: number | null;
}

function parsedRun({paramsJson, ...run}: StoredRun): RunRow {
  return {...run, params: JSON.parse(paramsJson) as Record<string, unknown>};
}

/** Every statement the store runs, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  return {
    insertExperiment: db.prepare<{
      name: string;
      configPath: string | null;
      configText: string;
      configHash: string;
      createdAt: string;
      pid: number;
      host: string;
    }>(
      `INSERT INTO experiments (name, config_path, config_text, config_hash, created_at, status, pid, host)
       VALUES (@name, @configPath, @configText, @configHash, @createdAt, 'running', @pid, @host)`,
    ),
    reopenExperiment: db.prepare<{id: number; pid: number; host: string}>(
      `UPDATE experiments SET status = 'running', finished_at = NULL, pid = @pid, host = @host WHERE id = @id`,
    ),
    finishExperiment: db.prepare<{id: number; status: RunStatus; finishedAt: string}>(
      `UPDATE experiments SET status = @status, finished_at = @finishedAt WHERE id = @id`,
    ),
    experiments: db.prepare<[], ExperimentRow>(`SELECT ${EXPERIMENT_COLUMNS} FROM experiments ORDER BY id DESC`),
    experimentById: db.prepare<[number], ExperimentRow>(`SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?`),
    latestExperimentByName: db.prepare<[string], ExperimentRow>(
      `SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE name = ? ORDER BY id DESC LIMIT 1`,
    ),
    latestExperiment: db.prepare<[], ExperimentRow>(
      `SELECT ${EXPERIMENT_COLUMNS} FROM experiments ORDER BY id DESC LIMIT 1`,
    ),
    runningExperiments: db.prepare<[string], RunningProcess>(
      `SELECT id, pid FROM experiments WHERE status = 'running' AND (host = ? OR host IS NULL)`,
    ),
    interruptExperiment: db.prepare<[number]>(
      `UPDATE experiments SET status = 'interrupted' WHERE id = ? AND status = 'running'`,
    ),

    insertRun: db.prepare<StoredRunStart>(
      `INSERT INTO runs (experiment_id, task, method, stage, sweep_key, sweep_value, params_json, seed,
         backend, model_path, trainable_params, total_params, key_metric, status, pid, host, started_at)
       VALUES (@experimentId, @task, @method, @stage, @sweepKey, @sweepValue, @paramsJson, @seed,
         @backend, @modelPath, @trainableParams, @totalParams, @keyMetric, 'running', @pid, @host, @startedAt)`,
    ),
    finishRun: db.prepare<{
      id: number;
      status: RunStatus;
      bestEpoch: number | null;
      bestValue: number | null;
      error: string | null;
      finishedAt: string;
    }>(
      `UPDATE runs SET status = @status, best_epoch = @bestEpoch, best_value = @bestValue, error = @error,
         finished_at = @finishedAt,
         seconds = (julianday(@finishedAt) - julianday(started_at)) * 86400.0
       WHERE id = @id`,
    ),
    runs: db.prepare<[number], StoredRun>(`SELECT ${RUN_COLUMNS} FROM runs WHERE experiment_id = ? ORDER BY id`),
    runById: db.prepare<[number], StoredRun>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`),
    scoredSplits: db.prepare<[number], {split: string}>(
      `SELECT DISTINCT m.split FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.experiment_id = ? AND m.split <> 'train' ORDER BY m.split`,
    ),
    runningRuns: db.prepare<[string], RunningProcess>(
      `SELECT id, pid FROM runs WHERE status = 'running' AND (host = ? OR host IS NULL)`,
    ),
    interruptRun: db.prepare<[string, number]>(
      `UPDATE runs SET status = 'interrupted', error = coalesce(error, ?) WHERE id = ? AND status = 'running'`,
    ),

    insertMetric: db.prepare<MetricRow & {runId: number}>(
      `INSERT INTO metrics (run_id, epoch, step, split, name, value)
       VALUES (@runId, @epoch, @step, @split, @name, @value)`,
    ),
    metrics: db.prepare<[number], MetricRow>(
      `SELECT epoch, step, split, name, value FROM metrics WHERE run_id = ? ORDER BY epoch, step, id`,
    ),
    // Ties on the best value go to the earliest epoch: the one a checkpoint would have been kept from.
    bestScores: db.prepare<{experimentId: number; split: string}, BestScoreRow>(
      `WITH ranked AS (
         SELECT m.run_id, m.value, m.epoch,
                row_number() OVER (PARTITION BY m.run_id ORDER BY m.value DESC, m.epoch, m.id) AS rank
         FROM metrics m JOIN runs r ON r.id = m.run_id
         WHERE r.experiment_id = @experimentId AND m.split = @split AND m.name = r.key_metric
       )
       SELECT r.id AS runId, r.task, r.method, r.stage, r.sweep_key AS sweepKey, r.sweep_value AS sweepValue,
              r.key_metric AS keyMetric, b.value, b.epoch, r.status,
              coalesce(json_extract(r.params_json, '$.task.metric_scale'), 1) AS metricScale
       FROM runs r LEFT JOIN ranked b ON b.run_id = r.id AND b.rank = 1
       WHERE r.experiment_id = @experimentId
       ORDER BY r.id`,
    ),

    insertArtifact: db.prepare<{runId: number; kind: string; path: string; sha256: string | null}>(
      `INSERT INTO artifacts (run_id, kind, path, sha256) VALUES (@runId, @kind, @path, @sha256)`,
    ),
    artifacts: db.prepare<[number], ArtifactRow>(
      `SELECT id, run_id AS runId, kind, path, sha256 FROM artifacts WHERE run_id = ? ORDER BY id`,
    ),
  };
}

export class Store {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly host = os.hostname();

  private constructor(dbPath: string, db: Database.Database) {
    this.path = dbPath;
    this.db = db;
    this.sql = prepareStatements(db);
  }

  /** Opens (creating if needed) and migrates the database at `dbPath`; ':memory:' is a private in-memory one. */
  static open(dbPath: string): Store {
    if (!isInMemory(dbPath)) fs.mkdirSync(path.dirname(path.resolve(dbPath)), {recursive: true});
    const db = new Database(dbPath, {timeout: BUSY_TIMEOUT_MS});
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      migrate(db, dbPath);
      return new Store(dbPath, db);
    } catch (error) {
      db.close();
      if ((error as {code?: unknown}).code === 'SQLITE_NOTADB') {
        throw new UserError('not a SQLite database', {file: dbPath}, [
          'use the path of a ptv2 results database, or a new path to create one',
        ]);
      }
      throw error;
    }
  }

  /**
   * Opens an existing database for reading only (`ptv2 ui`): SQLite's read-only mode, so nothing
   * here can write the file, no migration runs and orphaned runs are not marked. Reading is safe
   * while other processes write in WAL mode. A database of an older schema must be opened once by
   * a writing command first, which migrates it.
   */
  static openReadOnly(dbPath: string): Store {
    if (!fs.existsSync(dbPath)) {
      throw new UserError('no database here yet', {file: dbPath}, ['run an experiment first: ptv2 run configs/quickstart.yaml', 'or pass --db PATH']);
    }
    const db = new Database(dbPath, {readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS});
    try {
      const version = db.pragma('user_version', {simple: true}) as number;
      if (version !== MIGRATIONS.length) {
        const newer = version > MIGRATIONS.length;
        throw new UserError(
          `database schema version ${version} is ${newer ? 'newer' : 'older'} than this ptv2's (${MIGRATIONS.length})`,
          {file: dbPath},
          [newer ? 'upgrade ptv2' : `migrate it once: ptv2 report --db ${dbPath}`],
        );
      }
      return new Store(dbPath, db);
    } catch (error) {
      db.close();
      if ((error as {code?: unknown}).code === 'SQLITE_NOTADB') {
        throw new UserError('not a SQLite database', {file: dbPath}, ['use the path of a ptv2 results database']);
      }
      throw error;
    }
  }

  /** The connection, for the store's own extensions in this folder (queue-records.ts). */
  get connection(): Database.Database {
    return this.db;
  }

  /** SQLite's counter of commits by other connections: it changes whenever another process writes. */
  dataVersion(): number {
    return this.db.pragma('data_version', {simple: true}) as number;
  }

  createExperiment(e: {name: string; configPath?: string; configText: string}): number {
    const result = this.sql.insertExperiment.run({
      name: e.name,
      configPath: e.configPath ?? null,
      configText: e.configText,
      configHash: createHash('sha256').update(e.configText).digest('hex'),
      createdAt: now(),
      pid: process.pid,
      host: this.host,
    });
    return Number(result.lastInsertRowid);
  }

  /** `ptv2 run --resume`: the experiment is running again, in this process. */
  reopenExperiment(id: number): void {
    const result = this.sql.reopenExperiment.run({id, pid: process.pid, host: this.host});
    if (result.changes === 0) throw new Error(`cannot reopen experiment ${id}: no such experiment`);
  }

  finishExperiment(id: number, status: RunStatus): void {
    requireFinalStatus(status, `experiment ${id}`);
    const result = this.sql.finishExperiment.run({id, status, finishedAt: now()});
    if (result.changes === 0) throw new Error(`cannot finish experiment ${id}: no such experiment`);
  }

  startRun(r: RunStart): number {
    const result = this.sql.insertRun.run({
      experimentId: r.experimentId,
      task: r.task,
      method: r.method,
      stage: r.stage ?? 'single',
      sweepKey: r.sweepKey ?? null,
      sweepValue: r.sweepValue ?? null,
      paramsJson: JSON.stringify(r.params),
      seed: r.seed,
      backend: r.backend,
      modelPath: r.modelPath ?? null,
      trainableParams: r.trainableParams,
      totalParams: r.totalParams,
      keyMetric: r.keyMetric,
      pid: process.pid,
      host: this.host,
      startedAt: now(),
    });
    return Number(result.lastInsertRowid);
  }

  /** Writes all rows or none: a non-finite value rejects the whole batch before anything is written. */
  recordMetrics(runId: number, rows: MetricRow[]): void {
    for (const row of rows) {
      if (!Number.isFinite(row.value)) {
        throw new Error(
          `run ${runId} epoch ${row.epoch} step ${row.step}: metric ${row.split}/${row.name} is ${row.value}; ` +
            'only finite values are recorded (did training diverge?)',
        );
      }
    }
    this.db
      .transaction(() => {
        for (const row of rows) this.sql.insertMetric.run({runId, ...row});
      })
      .immediate();
  }

  recordArtifact(runId: number, a: {kind: string; path: string; sha256?: string}): void {
    this.sql.insertArtifact.run({runId, kind: a.kind, path: a.path, sha256: a.sha256 ?? null});
  }

  finishRun(runId: number, r: {status: RunStatus; bestEpoch?: number; bestValue?: number; error?: string}): void {
    requireFinalStatus(r.status, `run ${runId}`);
    if (r.bestValue !== undefined && !Number.isFinite(r.bestValue)) {
      throw new Error(`cannot finish run ${runId}: best value ${r.bestValue} is not finite`);
    }
    const result = this.sql.finishRun.run({
      id: runId,
      status: r.status,
      bestEpoch: r.bestEpoch ?? null,
      bestValue: r.bestValue ?? null,
      error: r.error ?? null,
      finishedAt: now(),
    });
    if (result.changes === 0) throw new Error(`cannot finish run ${runId}: no such run`);
  }

  /**
   * Runs left 'running' by a process that no longer exists (pid not alive on this host) become
   * 'interrupted'; returns how many. Experiments whose process is gone are marked the same way.
   * Their finished_at stays empty: when the process died is not known.
   */
  markOrphanedRunsInterrupted(): number {
    const orphanedRuns = this.sql.runningRuns.all(this.host).filter((r) => !isProcessAlive(r.pid));
    const orphanedExperiments = this.sql.runningExperiments.all(this.host).filter((e) => !isProcessAlive(e.pid));
    return this.db
      .transaction(() => {
        let interrupted = 0;
        for (const run of orphanedRuns) {
          const reason = `process ${run.pid ?? '?'} on ${this.host} exited without finishing the run`;
          interrupted += this.sql.interruptRun.run(reason, run.id).changes;
        }
        for (const experiment of orphanedExperiments) this.sql.interruptExperiment.run(experiment.id);
        return interrupted;
      })
      .immediate();
  }

  /** Newest first. */
  experiments(): ExperimentRow[] {
    return this.sql.experiments.all();
  }

  /** By numeric id when `nameOrId` is one and such an experiment exists, else the latest with that name. */
  findExperiment(nameOrId: string): ExperimentRow | undefined {
    if (/^\d+$/.test(nameOrId)) {
      const byId = this.sql.experimentById.get(Number(nameOrId));
      if (byId) return byId;
    }
    return this.sql.latestExperimentByName.get(nameOrId);
  }

  latestExperiment(): ExperimentRow | undefined {
    return this.sql.latestExperiment.get();
  }

  runs(experimentId: number): RunRow[] {
    return this.sql.runs.all(experimentId).map(parsedRun);
  }

  /** The splits an experiment has evaluation scores for (dev, test, test_wsj, …). */
  scoredSplits(experimentId: number): string[] {
    return this.sql.scoredSplits.all(experimentId).map((row) => row.split);
  }

  /** One run by its id (unique across experiments). */
  run(id: number): RunRow | undefined {
    const stored = this.sql.runById.get(id);
    return stored && parsedRun(stored);
  }

  metrics(runId: number): MetricRow[] {
    return this.sql.metrics.all(runId);
  }

  artifacts(runId: number): ArtifactRow[] {
    return this.sql.artifacts.all(runId);
  }

  /** For each run of an experiment: its best dev value of its key metric (max over epochs) and the epoch. */
  /** Per run, the best value of its key metric on a split (test metrics exist only at the best epoch). */
  bestScores(experimentId: number, split: string = DEV_SPLIT): BestScoreRow[] {
    return this.sql.bestScores.all({experimentId, split});
  }

  close(): void {
    this.db.close();
  }
}

/** Applies pending migrations one transaction each; safe when several processes open a new file at once. */
function migrate(db: Database.Database, dbPath: string): void {
  const schemaVersion = (): number => db.pragma('user_version', {simple: true}) as number;
  const found = schemaVersion();
  if (found > MIGRATIONS.length) {
    throw new UserError(
      `database schema version ${found} is newer than this ptv2 understands (${MIGRATIONS.length})`,
      {file: dbPath},
      ['upgrade ptv2, or point it at a different database'],
    );
  }
  const applyNext = db.transaction(() => {
    // Re-read under the write lock: another process may have migrated since the check outside it.
    const version = schemaVersion();
    if (version >= MIGRATIONS.length) return;
    const migration = MIGRATIONS[version];
    if (typeof migration === 'string') db.exec(migration);
    else migration(db);
    const broken = db.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw new Error(`migration ${version + 1} left ${broken.length} rows whose foreign keys do not match`);
    db.pragma(`user_version = ${version + 1}`);
  });
  if (schemaVersion() >= MIGRATIONS.length) return;
  // A table rebuild drops the old table; with foreign keys on that would cascade into its children.
  // The pragma is a no-op inside a transaction, so it is set around them.
  db.pragma('foreign_keys = OFF');
  try {
    while (schemaVersion() < MIGRATIONS.length) applyNext.immediate();
  } finally {
    db.pragma('foreign_keys = ON');
  }
}

/** ':memory:' and '' (a private temporary database) have no directory to create. */
function isInMemory(dbPath: string): boolean {
  return dbPath === ':memory:' || dbPath === '';
}

function requireFinalStatus(status: RunStatus, what: string): void {
  if (status === 'running') throw new Error(`cannot finish ${what} with status 'running'`);
}

/** Signal 0 only probes: ESRCH means no such process, EPERM means it exists under another user. */
function isProcessAlive(pid: number | null): boolean {
  if (pid === null || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function now(): string {
  return new Date().toISOString();
}
