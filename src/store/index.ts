/**
 * The ptv2 results database: experiments, their runs, per-epoch metrics and artifacts in SQLite.
 *
 * Several ptv2 processes (parallel sweeps, a `report` while training runs) may share one file, so
 * the database runs in WAL mode with a 5 s busy timeout, and every write batch is one IMMEDIATE
 * transaction: it takes the write lock up front, so it waits for other writers instead of failing
 * with SQLITE_BUSY when a read would have to be upgraded to a write. Each epoch's metrics are
 * committed as soon as they are recorded, so a crash loses at most the epoch in progress. A running
 * process stamps a heartbeat on its experiment and run; one that died (here, or on another host)
 * is read as 'interrupted' by every command and marked so by the next run (liveness.ts).
 *
 * Nothing is written to a file that is not ptv2's (schema.ts), and every database error names the
 * file, so a locked or full disk is reported as such.
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
import {abandonedBecause, staleSeconds, type Liveness} from './liveness.js';
import {checkPtv2Database, hasColumn, migrate, OLDEST_READABLE_VERSION} from './schema.js';

export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

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
  /** When its process last showed it was alive (null before schema version 2). */
  heartbeatAt: string | null;
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
  heartbeatAt: string | null;
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

/** `heartbeat` is the column, or NULL on a schema version 1 database opened read-only. */
const experimentColumns = (heartbeat: string) => `id, name, config_path AS configPath, config_text AS configText,
  config_hash AS configHash, created_at AS createdAt, status, finished_at AS finishedAt, pid, host, ${heartbeat} AS heartbeatAt`;

const runColumns = (heartbeat: string) => `id, experiment_id AS experimentId, task, method, stage, sweep_key AS sweepKey,
  sweep_value AS sweepValue, params_json AS paramsJson, seed, backend, model_path AS modelPath,
  trainable_params AS trainableParams, total_params AS totalParams, key_metric AS keyMetric, status,
  error, best_epoch AS bestEpoch, best_value AS bestValue, pid, host, started_at AS startedAt,
  finished_at AS finishedAt, seconds, ${heartbeat} AS heartbeatAt`;

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

type RunningRow = Liveness & {id: number};

function parsedRun({paramsJson, ...run}: StoredRun): RunRow {
  return {...run, params: JSON.parse(paramsJson) as Record<string, unknown>};
}

/** Every statement the store runs, prepared once per connection; a read-only connection gets the reads only. */
function prepareStatements(db: Database.Database, readOnly: boolean) {
  const heartbeat = hasColumn(db, 'runs', 'heartbeat_at') ? 'heartbeat_at' : 'NULL';
  const EXPERIMENT_COLUMNS = experimentColumns(heartbeat);
  const RUN_COLUMNS = runColumns(heartbeat);
  const write = <T extends unknown[] | object = unknown[]>(sql: string) => (readOnly ? (undefined as unknown as Database.Statement<T>) : db.prepare<T>(sql));
  return {
    insertExperiment: write<{
      name: string;
      configPath: string | null;
      configText: string;
      configHash: string;
      createdAt: string;
      pid: number;
      host: string;
    }>(
      `INSERT INTO experiments (name, config_path, config_text, config_hash, created_at, status, pid, host, heartbeat_at)
       VALUES (@name, @configPath, @configText, @configHash, @createdAt, 'running', @pid, @host, @createdAt)`,
    ),
    reopenExperiment: write<{id: number; pid: number; host: string; now: string}>(
      `UPDATE experiments SET status = 'running', finished_at = NULL, pid = @pid, host = @host, heartbeat_at = @now WHERE id = @id`,
    ),
    heartbeat: write<{experimentId: number; now: string}>(
      `UPDATE experiments SET heartbeat_at = @now WHERE id = @experimentId AND status = 'running'`,
    ),
    runHeartbeat: write<{runId: number; now: string}>(`UPDATE runs SET heartbeat_at = @now WHERE id = @runId AND status = 'running'`),
    finishExperiment: write<{id: number; status: RunStatus; finishedAt: string}>(
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
    runningExperiments: db.prepare<[], RunningRow>(
      `SELECT id, status, pid, host, ${heartbeat} AS heartbeatAt, created_at AS since FROM experiments WHERE status = 'running'`,
    ),
    interruptExperiment: write<[number]>(
      `UPDATE experiments SET status = 'interrupted' WHERE id = ? AND status = 'running'`,
    ),

    insertRun: write<StoredRunStart>(
      `INSERT INTO runs (experiment_id, task, method, stage, sweep_key, sweep_value, params_json, seed,
         backend, model_path, trainable_params, total_params, key_metric, status, pid, host, started_at, heartbeat_at)
       VALUES (@experimentId, @task, @method, @stage, @sweepKey, @sweepValue, @paramsJson, @seed,
         @backend, @modelPath, @trainableParams, @totalParams, @keyMetric, 'running', @pid, @host, @startedAt, @startedAt)`,
    ),
    finishRun: write<{
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
    runningRuns: db.prepare<[], RunningRow & {experimentId: number}>(
      `SELECT id, experiment_id AS experimentId, status, pid, host, ${heartbeat} AS heartbeatAt, started_at AS since FROM runs WHERE status = 'running'`,
    ),
    interruptRun: write<[string, number]>(
      `UPDATE runs SET status = 'interrupted', error = coalesce(error, ?) WHERE id = ? AND status = 'running'`,
    ),

    insertMetric: write<MetricRow & {runId: number}>(
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

    insertArtifact: write<{runId: number; kind: string; path: string; sha256: string | null}>(
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
  /** Seconds without a heartbeat after which a 'running' row is read as 'interrupted'. */
  readonly staleSeconds: number;

  private constructor(dbPath: string, db: Database.Database, readOnly: boolean) {
    this.path = dbPath;
    this.db = db;
    this.staleSeconds = staleSeconds();
    this.sql = prepareStatements(db, readOnly);
  }

  /**
   * Opens (creating if needed) and migrates the database at `dbPath`; ':memory:' is a private
   * in-memory one. A file that is not ptv2's is refused before anything is written to it.
   */
  static open(dbPath: string): Store {
    if (!isInMemory(dbPath)) {
      try {
        fs.mkdirSync(path.dirname(path.resolve(dbPath)), {recursive: true});
      } catch (error) {
        throw new UserError(`cannot create the database's directory: ${(error as Error).message}`, {file: dbPath}, ['pass --db with a path you can write']);
      }
    }
    if (fs.existsSync(dbPath) && fs.statSync(dbPath).isDirectory()) throw new UserError('is a directory, not a database file', {file: dbPath}, ['pass --db with a file path, e.g. runs/ptv2.db']);
    const db = openDatabase(dbPath, {timeout: BUSY_TIMEOUT_MS});
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      checkPtv2Database(db, dbPath);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
      return new Store(dbPath, db, false);
    } catch (error) {
      db.close();
      throw databaseError(error, dbPath, 'cannot open it');
    }
  }

  /**
   * Opens an existing database for reading only (`ptv2 report`, `ptv2 ui`): SQLite's read-only
   * mode, so nothing here can write the file, no migration runs and abandoned runs are not marked
   * (they are read as 'interrupted' all the same). Reading is safe while other processes write in
   * WAL mode. The previous schema (version 1, before heartbeats) is read as it is; an older or
   * newer one is refused.
   */
  static openReadOnly(dbPath: string): Store {
    if (!fs.existsSync(dbPath)) {
      throw new UserError('no database here yet', {file: dbPath}, ['run an experiment first: ptv2 run configs/quickstart.yaml', 'or pass --db PATH']);
    }
    const db = openDatabase(dbPath, {readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS});
    try {
      const version = checkPtv2Database(db, dbPath);
      if (version < OLDEST_READABLE_VERSION) {
        throw new UserError(`database schema version ${version} is older than this ptv2 reads (${OLDEST_READABLE_VERSION} to ${MIGRATIONS.length})`, {file: dbPath}, [
          `upgrade it by running an experiment on it: ptv2 run CONFIG --db ${dbPath}`,
        ]);
      }
      return new Store(dbPath, db, true);
    } catch (error) {
      db.close();
      throw databaseError(error, dbPath, 'cannot open it');
    }
  }

  /**
   * Whether `open` would succeed here, found without writing anything: an existing file must be
   * ptv2's (or empty) and writable, with its directory (WAL keeps -wal and -shm files beside it);
   * a new file's nearest existing directory must be writable. Run before any expensive work.
   */
  static checkWritable(dbPath: string): void {
    if (isInMemory(dbPath)) return;
    const file = path.resolve(dbPath);
    const writable = (target: string) => {
      try {
        fs.accessSync(target, fs.constants.W_OK);
        return true;
      } catch {
        return false;
      }
    };
    if (fs.existsSync(file)) {
      if (fs.statSync(file).isDirectory()) throw new UserError('is a directory, not a database file', {file: dbPath}, ['pass --db with a file path, e.g. runs/ptv2.db']);
      if (!writable(file) || !writable(path.dirname(file))) {
        throw new UserError('the database (or its directory) is not writable', {file: dbPath}, ['check its permissions, or pass --db with a path you can write']);
      }
      const db = openDatabase(dbPath, {readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS});
      try {
        checkPtv2Database(db, dbPath);
      } catch (error) {
        throw databaseError(error, dbPath, 'cannot read it');
      } finally {
        db.close();
      }
      return;
    }
    let dir = path.dirname(file);
    while (!fs.existsSync(dir)) dir = path.dirname(dir);
    if (!fs.statSync(dir).isDirectory() || !writable(dir)) {
      throw new UserError(`cannot create the database: ${dir} is not a directory you can write`, {file: dbPath}, ['pass --db with a path you can write']);
    }
  }

  /** SQLite's counter of commits by other connections: it changes whenever another process writes. */
  dataVersion(): number {
    return this.db.pragma('data_version', {simple: true}) as number;
  }

  /**
   * Runs one write; a database error (locked, disk full, read-only file) becomes a UserError that
   * names the file and what could not be recorded.
   */
  private write<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw databaseError(error, this.path, what);
    }
  }

  createExperiment(e: {name: string; configPath?: string; configText: string}): number {
    const result = this.write(`cannot record experiment ${e.name}`, () =>
      this.sql.insertExperiment.run({
        name: e.name,
        configPath: e.configPath ?? null,
        configText: e.configText,
        configHash: createHash('sha256').update(e.configText).digest('hex'),
        createdAt: now(),
        pid: process.pid,
        host: this.host,
      }),
    );
    return Number(result.lastInsertRowid);
  }

  /** `ptv2 run --resume`: the experiment is running again, in this process. */
  reopenExperiment(id: number): void {
    const result = this.write(`cannot reopen experiment ${id}`, () => this.sql.reopenExperiment.run({id, pid: process.pid, host: this.host, now: now()}));
    if (result.changes === 0) throw new Error(`cannot reopen experiment ${id}: no such experiment`);
  }

  finishExperiment(id: number, status: RunStatus): void {
    requireFinalStatus(status, `experiment ${id}`);
    const result = this.write(`cannot mark experiment ${id} ${status}`, () => this.sql.finishExperiment.run({id, status, finishedAt: now()}));
    if (result.changes === 0) throw new Error(`cannot finish experiment ${id}: no such experiment`);
  }

  /**
   * This process is alive: stamps the experiment and, when given, its run in progress. It does not
   * wait for a lock (a beat is missed instead), so a locked database cannot stall training here.
   */
  heartbeat(experimentId: number, runId?: number): void {
    const at = now();
    this.db.pragma('busy_timeout = 0');
    try {
      this.write('cannot record a heartbeat', () =>
        this.db
          .transaction(() => {
            this.sql.heartbeat.run({experimentId, now: at});
            if (runId !== undefined) this.sql.runHeartbeat.run({runId, now: at});
          })
          .immediate(),
      );
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  startRun(r: RunStart): number {
    const result = this.write(`cannot record the start of run ${r.task}/${r.method}`, () =>
      this.sql.insertRun.run({
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
      }),
    );
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
    this.write(`cannot record metrics of run ${runId}`, () =>
      this.db
        .transaction(() => {
          for (const row of rows) this.sql.insertMetric.run({runId, ...row});
        })
        .immediate(),
    );
  }

  recordArtifact(runId: number, a: {kind: string; path: string; sha256?: string}): void {
    this.write(`cannot record artifact ${a.path}`, () => this.sql.insertArtifact.run({runId, kind: a.kind, path: a.path, sha256: a.sha256 ?? null}));
  }

  finishRun(runId: number, r: {status: RunStatus; bestEpoch?: number; bestValue?: number; error?: string}): void {
    requireFinalStatus(r.status, `run ${runId}`);
    if (r.bestValue !== undefined && !Number.isFinite(r.bestValue)) {
      throw new Error(`cannot finish run ${runId}: best value ${r.bestValue} is not finite`);
    }
    const result = this.write(`cannot mark run ${runId} ${r.status}`, () =>
      this.sql.finishRun.run({
        id: runId,
        status: r.status,
        bestEpoch: r.bestEpoch ?? null,
        bestValue: r.bestValue ?? null,
        error: r.error ?? null,
        finishedAt: now(),
      }),
    );
    if (result.changes === 0) throw new Error(`cannot finish run ${runId}: no such run`);
  }

  /**
   * Runs and experiments left 'running' by a process that is gone become 'interrupted': on this
   * host a pid that no longer exists, anywhere a heartbeat older than the stale limit (liveness.ts).
   * With `experimentId` (`--resume --force`), that experiment and its runs are taken over whatever
   * they look like. Returns how many runs were marked. Their finished_at stays empty: when the
   * process died is not known.
   */
  markOrphanedRunsInterrupted(opts: {takeOver?: number} = {}): number {
    const ctx = {host: this.host, staleSeconds: this.staleSeconds};
    const forced = `taken over by process ${process.pid} on ${this.host} (--resume --force)`;
    return this.write('cannot mark abandoned runs interrupted', () =>
      this.db
        .transaction(() => {
          let interrupted = 0;
          for (const run of this.sql.runningRuns.all()) {
            const reason = run.experimentId === opts.takeOver ? forced : abandonedBecause(run, ctx);
            if (reason !== undefined) interrupted += this.sql.interruptRun.run(reason, run.id).changes;
          }
          for (const experiment of this.sql.runningExperiments.all()) {
            if (experiment.id === opts.takeOver || abandonedBecause(experiment, ctx) !== undefined) this.sql.interruptExperiment.run(experiment.id);
          }
          return interrupted;
        })
        .immediate(),
    );
  }

  /** A stored 'running' status as every command reads it: 'interrupted' once its process is gone. */
  private live<T extends {status: RunStatus; pid: number | null; host: string | null; heartbeatAt: string | null}>(row: T, since: string): T {
    if (row.status !== 'running') return row;
    return abandonedBecause({...row, since}, {host: this.host, staleSeconds: this.staleSeconds}) === undefined ? row : {...row, status: 'interrupted'};
  }

  private liveExperiment = (e: ExperimentRow): ExperimentRow => this.live(e, e.createdAt);

  private liveRun = (r: RunRow): RunRow => this.live(r, r.startedAt);

  /** Newest first. */
  experiments(): ExperimentRow[] {
    return this.sql.experiments.all().map(this.liveExperiment);
  }

  /** By numeric id when `nameOrId` is one and such an experiment exists, else the latest with that name. */
  findExperiment(nameOrId: string): ExperimentRow | undefined {
    if (/^\d+$/.test(nameOrId)) {
      const byId = this.sql.experimentById.get(Number(nameOrId));
      if (byId) return this.liveExperiment(byId);
    }
    const byName = this.sql.latestExperimentByName.get(nameOrId);
    return byName && this.liveExperiment(byName);
  }

  latestExperiment(): ExperimentRow | undefined {
    const latest = this.sql.latestExperiment.get();
    return latest && this.liveExperiment(latest);
  }

  runs(experimentId: number): RunRow[] {
    return this.sql.runs.all(experimentId).map(parsedRun).map(this.liveRun);
  }

  /** The splits an experiment has evaluation scores for (dev, test, test_wsj, …). */
  scoredSplits(experimentId: number): string[] {
    return this.sql.scoredSplits.all(experimentId).map((row) => row.split);
  }

  /** One run by its id (unique across experiments). */
  run(id: number): RunRow | undefined {
    const stored = this.sql.runById.get(id);
    return stored && this.liveRun(parsedRun(stored));
  }

  metrics(runId: number): MetricRow[] {
    return this.sql.metrics.all(runId);
  }

  artifacts(runId: number): ArtifactRow[] {
    return this.sql.artifacts.all(runId);
  }

  /** Per run, the best value of its key metric on a split (test metrics exist only at the best epoch). */
  bestScores(experimentId: number, split: string = DEV_SPLIT): BestScoreRow[] {
    const status = new Map(this.runs(experimentId).map((r) => [r.id, r.status]));
    return this.sql.bestScores.all({experimentId, split}).map((row) => ({...row, status: status.get(row.runId) ?? row.status}));
  }

  close(): void {
    this.db.close();
  }
}

function openDatabase(dbPath: string, options: Database.Options): Database.Database {
  try {
    return new Database(dbPath, options);
  } catch (error) {
    throw databaseError(error, dbPath, 'cannot open');
  }
}

/** What to do about SQLite's error codes a user can meet. */
const DATABASE_HINTS: Record<string, string[]> = {
  SQLITE_BUSY: ['another program holds a lock on it (an open transaction in a SQLite shell or browser?); close it, then continue with ptv2 run CONFIG --resume'],
  SQLITE_FULL: ['the disk is full: free space, then continue with ptv2 run CONFIG --resume'],
  SQLITE_READONLY: ['the file or its directory is read-only: pass --db with a path you can write'],
  SQLITE_CANTOPEN: ['check that the directory exists and you can write it, or pass --db with another path'],
  SQLITE_IOERR: ['the disk reported an error writing it; check free space and the file system'],
  SQLITE_CORRUPT: ['the file is damaged; keep a copy and start a new database with --db'],
  SQLITE_NOTADB: ['use the path of a ptv2 results database, or a new path to create one'],
};

/** A SQLite error as a UserError naming the database file; other errors pass through. */
function databaseError(error: unknown, dbPath: string, what: string): unknown {
  const code = (error as {code?: unknown}).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  if (code === 'SQLITE_NOTADB') return new UserError('not a SQLite database', {file: dbPath}, DATABASE_HINTS.SQLITE_NOTADB);
  const base = Object.keys(DATABASE_HINTS).find((k) => code === k || code.startsWith(`${k}_`));
  // Constraint failures are ptv2's own bugs or a bad value; they keep SQLite's message, with the file.
  return new UserError(`${what}: ${(error as Error).message}`, {file: dbPath}, base ? DATABASE_HINTS[base] : []);
}

/** ':memory:' and '' (a private temporary database) have no directory to create. */
function isInMemory(dbPath: string): boolean {
  return dbPath === ':memory:' || dbPath === '';
}

function requireFinalStatus(status: RunStatus, what: string): void {
  if (status === 'running') throw new Error(`cannot finish ${what} with status 'running'`);
}

function now(): string {
  return new Date().toISOString();
}
