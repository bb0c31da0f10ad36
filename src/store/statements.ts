/**
 * Every SQL statement of the store, prepared once per connection, and the stored shapes they
 * read and write. A read-only connection (report, ui) gets the reads only, and on the previous
 * schema (version 1) reads `heartbeat_at` as NULL.
 */
import type Database from 'better-sqlite3';
import type {Liveness} from './liveness.js';
import {hasColumn} from './schema.js';
import type {ArtifactRow, BestScoreRow, ExperimentRow, MetricRow, RunRow, RunStart, RunStatus} from './rows.js';

/** `heartbeat` is the column, or NULL on a schema version 1 database opened read-only. */
const experimentColumns = (heartbeat: string) => `id, name, config_path AS configPath, config_text AS configText,
  config_hash AS configHash, created_at AS createdAt, status, finished_at AS finishedAt, pid, host, ${heartbeat} AS heartbeatAt`;

const runColumns = (heartbeat: string) => `id, experiment_id AS experimentId, task, method, stage, sweep_key AS sweepKey,
  sweep_value AS sweepValue, params_json AS paramsJson, seed, backend, model_path AS modelPath,
  trainable_params AS trainableParams, total_params AS totalParams, key_metric AS keyMetric, status,
  error, best_epoch AS bestEpoch, best_value AS bestValue, pid, host, started_at AS startedAt,
  finished_at AS finishedAt, seconds, ${heartbeat} AS heartbeatAt`;

export type StoredRun = Omit<RunRow, 'params'> & {paramsJson: string};

export type StoredRunStart = Omit<RunStart, 'params' | 'stage' | 'sweepKey' | 'sweepValue' | 'modelPath'> & {
  stage: string;
  sweepKey: string | null;
  sweepValue: string | null;
  modelPath: string | null;
  paramsJson: string;
  pid: number;
  host: string;
  startedAt: string;
};

export type RunningRow = Liveness & {id: number};

export function parsedRun({paramsJson, ...run}: StoredRun): RunRow {
  return {...run, params: JSON.parse(paramsJson) as Record<string, unknown>};
}

/** Every statement the store runs, prepared once per connection; a read-only connection gets the reads only. */
export function prepareStatements(db: Database.Database, readOnly: boolean) {
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

export type Statements = ReturnType<typeof prepareStatements>;
