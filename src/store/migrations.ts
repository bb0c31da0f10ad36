/**
 * Schema of the ptv2 results database, as an append-only list of migrations.
 *
 * Migration i (0-based) brings a database from `PRAGMA user_version = i` to `i + 1`; a migration
 * that has shipped is never edited, a schema change is a new entry at the end. Statuses and metric
 * values are constrained in SQL as well as in code so that a database written by any version of
 * ptv2 (or by hand) can be trusted by `ptv2 report`.
 *
 * References: https://www.sqlite.org/pragma.html#pragma_user_version,
 * https://www.sqlite.org/lang_createtable.html#ckconst
 */

import type Database from 'better-sqlite3';

const STATUS_CHECK = `CHECK (status IN ('running', 'completed', 'failed', 'interrupted'))`;

/**
 * SQL to run, or a function for a change SQL alone cannot say (rebuilding a table whose columns
 * later migrations may have added). Each runs inside one transaction with foreign keys off, and
 * must leave `PRAGMA foreign_key_check` empty.
 */
export type Migration = string | ((db: Database.Database) => void);

export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE experiments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    config_path TEXT,
    config_text TEXT NOT NULL,
    config_hash TEXT NOT NULL CHECK (length(config_hash) = 64),
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL ${STATUS_CHECK},
    finished_at TEXT,
    -- pid and host identify the process that ran the experiment, to tell a crash from a live run.
    pid         INTEGER,
    host        TEXT
  );
  CREATE INDEX experiments_by_name ON experiments(name);

  CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    experiment_id    INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    task             TEXT NOT NULL,
    method           TEXT NOT NULL,
    stage            TEXT NOT NULL DEFAULT 'single',
    sweep_key        TEXT,
    sweep_value      TEXT,
    params_json      TEXT NOT NULL CHECK (json_valid(params_json)),
    seed             INTEGER NOT NULL,
    backend          TEXT NOT NULL,
    model_path       TEXT,
    trainable_params INTEGER NOT NULL,
    total_params     INTEGER NOT NULL,
    key_metric       TEXT NOT NULL,
    status           TEXT NOT NULL ${STATUS_CHECK},
    error            TEXT,
    best_epoch       INTEGER,
    best_value       REAL,
    pid              INTEGER,
    host             TEXT,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    seconds          REAL
  );
  CREATE INDEX runs_by_experiment ON runs(experiment_id);
  CREATE INDEX runs_still_running ON runs(status) WHERE status = 'running';

  CREATE TABLE metrics (
    id     INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch  INTEGER NOT NULL,
    step   INTEGER NOT NULL,
    split  TEXT NOT NULL,
    name   TEXT NOT NULL,
    -- SQLite stores a bound NaN as NULL, and 9e999 reads as Infinity: together these keep every value finite.
    value  REAL NOT NULL CHECK (abs(value) < 9e999)
  );
  CREATE INDEX metrics_by_run_split_name ON metrics(run_id, split, name);

  CREATE TABLE artifacts (
    id     INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    path   TEXT NOT NULL,
    sha256 TEXT CHECK (sha256 IS NULL OR length(sha256) = 64)
  );
  CREATE INDEX artifacts_by_run ON artifacts(run_id);
  `,
  // 2: heartbeats. A running process stamps its experiment and its current run every few seconds,
  // so a run whose process died anywhere (another host, another PID namespace) is recognised by
  // its silence (store/liveness.ts), not only by a pid on this host.
  `
  ALTER TABLE experiments ADD COLUMN heartbeat_at TEXT;
  ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
  `,
  // 3: experiments across machines (src/queue): a run waits in the queue as 'queued' (and an
  // experiment whose runs are all on the queue stays 'queued' until they finish), keeps when it was
  // queued and how many attempts it took, and which queue job and planned job it is.
  (db) => {
    const queued = `CHECK (status IN ('queued', 'running', 'completed', 'failed', 'interrupted'))`;
    rebuildWithCheck(db, 'experiments', STATUS_CHECK, queued);
    rebuildWithCheck(db, 'runs', STATUS_CHECK, queued);
    db.exec(`
      ALTER TABLE runs ADD COLUMN queued_at TEXT;
      ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
      ALTER TABLE runs ADD COLUMN queue_job TEXT;
      ALTER TABLE runs ADD COLUMN job_key TEXT;
      CREATE UNIQUE INDEX runs_by_queue_job ON runs(queue_job) WHERE queue_job IS NOT NULL;
    `);
  },
];

/**
 * Replaces one CHECK constraint of a table, the way SQLite documents for schema changes ALTER
 * TABLE cannot make (https://www.sqlite.org/lang_altertable.html#otheralter): a new table from the
 * stored CREATE statement with the constraint replaced (so columns added by earlier migrations come
 * along, whatever they are), the rows copied, the old table dropped, the new one renamed, and the
 * table's indexes and triggers created again. The caller has foreign keys off (a DROP TABLE with
 * them on would cascade into the child tables) and checks them afterwards.
 */
function rebuildWithCheck(db: Database.Database, table: string, from: string, to: string): void {
  const row = db.prepare<[string], {sql: string}>(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(table);
  if (!row || !row.sql.includes(from)) throw new Error(`cannot migrate table ${table}: its schema does not have ${from}`);
  const dependents = db.prepare<[string], {sql: string}>(`SELECT sql FROM sqlite_schema WHERE type IN ('index', 'trigger') AND tbl_name = ? AND sql IS NOT NULL`).all(table);
  const rebuilt = `${table}_rebuilt`;
  const create = row.sql.replace(from, to).replace(new RegExp(`^CREATE TABLE\\s+"?${table}"?`), `CREATE TABLE ${rebuilt}`);
  if (!create.startsWith(`CREATE TABLE ${rebuilt}`)) throw new Error(`cannot migrate table ${table}: unexpected schema ${row.sql.slice(0, 40)}`);
  db.exec(create);
  db.exec(`INSERT INTO ${rebuilt} SELECT * FROM ${table}`);
  db.exec(`DROP TABLE ${table}`);
  db.exec(`ALTER TABLE ${rebuilt} RENAME TO ${table}`);
  for (const {sql} of dependents) db.exec(sql);
}
