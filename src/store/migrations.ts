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

const STATUS_CHECK = `CHECK (status IN ('running', 'completed', 'failed', 'interrupted'))`;

export const MIGRATIONS: readonly string[] = [
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
];
