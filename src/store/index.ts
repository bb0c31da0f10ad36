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
import {abandonedBecause, staleSeconds} from './liveness.js';
import {checkPtv2Database, migrate, OLDEST_READABLE_VERSION} from './schema.js';
import {databaseError, openDatabase} from './database-errors.js';
import {parsedRun, prepareStatements, type Statements} from './statements.js';
import {DEV_SPLIT, type ArtifactRow, type BestScoreRow, type ExperimentRow, type MetricRow, type RunRow, type RunStart, type RunStatus} from './rows.js';

export * from './rows.js';

const BUSY_TIMEOUT_MS = 5000;


export class Store {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly sql: Statements;
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

  /** The connection, for the store's own extensions in this folder (queue-records.ts). */
  get connection(): Database.Database {
    return this.db;
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
