/**
 * The parts of experiments across machines that need no Redis: the migration that brings the
 * `queued` status (a table rebuild that keeps every row, link and column), the idempotent records
 * (a result recorded once, an older attempt ignored), queue URLs and their masking, and the
 * worker's --root rule for the paths a job names.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {parseConfig} from '../../src/config/load.js';
import {maskUrl, parseQueueUrl, queueTarget} from '../../src/queue/connection.js';
import {resolveJobPaths} from '../../src/queue/paths.js';
import {Store} from '../../src/store/index.js';
import {MIGRATIONS} from '../../src/store/migrations.js';
import {QueueRecords, type FinishedRun, type QueuedRunStart} from '../../src/store/queue-records.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-records-'));
}

describe('the queued-status migration', () => {
  test('a version-2 database keeps its rows, links, indexes and the columns earlier migrations added, and accepts queued', () => {
    const file = path.join(tempDir(), 'old.db');
    const old = new Database(file);
    old.exec(MIGRATIONS[0] as string);
    // Migration 2 adds heartbeat_at, a column the rebuild knows nothing of: it must survive it.
    old.exec(MIGRATIONS[1] as string);
    old.pragma('user_version = 2');
    old.exec(`
      INSERT INTO experiments (id, name, config_text, config_hash, created_at, status) VALUES (7, 'e', 'x', '${'a'.repeat(64)}', 't0', 'completed');
      INSERT INTO runs (id, experiment_id, task, method, params_json, seed, backend, trainable_params, total_params, key_metric, status, started_at, heartbeat_at)
        VALUES (3, 7, 'rte', 'pt2', '{}', 1, 'wasm', 10, 100, 'accuracy', 'completed', 't1', 'hb');
      INSERT INTO metrics (run_id, epoch, step, split, name, value) VALUES (3, 1, 5, 'dev', 'accuracy', 0.5), (3, 2, 10, 'dev', 'accuracy', 0.75);
      INSERT INTO artifacts (run_id, kind, path) VALUES (3, 'trainable_state', '/x');
    `);
    old.close();

    Store.open(file).close();
    const db = new Database(file);
    assert.equal(db.pragma('user_version', {simple: true}), MIGRATIONS.length);
    assert.deepEqual(db.pragma('integrity_check'), [{integrity_check: 'ok'}]);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.deepEqual(db.prepare(`SELECT id, heartbeat_at, attempts, queued_at, queue_job FROM runs`).all(), [{id: 3, heartbeat_at: 'hb', attempts: 0, queued_at: null, queue_job: null}]);
    assert.equal((db.prepare(`SELECT count(*) AS n FROM metrics WHERE run_id = 3`).get() as {n: number}).n, 2);
    const indexes = (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('runs', 'experiments') ORDER BY name`).all() as {name: string}[]).map((r) => r.name);
    assert.deepEqual(indexes, ['experiments_by_name', 'runs_by_experiment', 'runs_by_queue_job', 'runs_still_running']);

    // The new status is accepted in both tables, anything else still refused.
    db.exec(`UPDATE runs SET status = 'queued' WHERE id = 3; UPDATE experiments SET status = 'queued' WHERE id = 7`);
    assert.throws(() => db.exec(`UPDATE runs SET status = 'waiting' WHERE id = 3`), /CHECK constraint failed/);
    // The foreign keys still hold and still cascade after the rebuild.
    db.pragma('foreign_keys = ON');
    assert.throws(() => db.exec(`INSERT INTO runs (experiment_id, task, method, params_json, seed, backend, trainable_params, total_params, key_metric, status, started_at) VALUES (99, 'a', 'b', '{}', 1, 'c', 1, 1, 'k', 'queued', 't')`), /FOREIGN KEY/);
    db.exec(`DELETE FROM experiments WHERE id = 7`);
    assert.equal((db.prepare(`SELECT count(*) AS n FROM metrics`).get() as {n: number}).n, 0);
    db.close();
  });
});

describe('QueueRecords', () => {
  const start = (jobKey: string): QueuedRunStart => ({task: 'rte', method: 'pt2', stage: 'single', sweepKey: null, sweepValue: null, params: {planned: true}, seed: 1, modelPath: 'm', keyMetric: 'accuracy', jobKey});
  const started = (attempt: number) => ({attempt, startedAt: '2026-01-01T00:00:0' + attempt + '.000Z', host: 'h', pid: 100 + attempt, backend: 'wasm', params: {trained: attempt}, trainableParams: 5, totalParams: 50, keyMetric: 'accuracy'});
  const finished = (attempt: number): FinishedRun => ({
    ...started(attempt),
    status: 'completed',
    error: null,
    bestEpoch: 2,
    bestValue: 0.75,
    finishedAt: '2026-01-01T00:01:00.000Z',
    seconds: 60,
    metrics: [1, 2].map((epoch) => ({epoch, step: epoch * 3, split: 'dev', name: 'accuracy', value: epoch / 2 - 0.25})),
    artifacts: [{kind: 'trainable_state', path: '/out/trainable.safetensors', sha256: 'b'.repeat(64)}],
  });

  test('a queued run goes running, records its epochs, and its result once; an older attempt is ignored', () => {
    const store = Store.open(':memory:');
    const records = new QueueRecords(store);
    const experimentId = records.createQueuedExperiment({name: 'q', configText: 'x'});
    assert.equal(store.findExperiment('q')!.status, 'queued');
    const [run, other] = records.insertQueuedRuns(experimentId, [start('rte/pt2'), start('cb/pt2')], 'abc123');
    assert.match(run.queueJob, new RegExp(`^e${experimentId}-r${run.id}-abc123$`));
    assert.deepEqual([run.status, run.attempts, run.jobKey], ['queued', 0, 'rte/pt2']);

    assert.ok(records.markStarted(run.id, started(1)));
    assert.ok(records.recordEpoch(run.id, 1, 1, [{epoch: 1, step: 3, split: 'dev', name: 'accuracy', value: 0.1}]));
    // The worker died; the job's second attempt starts afresh, and the first one's late rows are refused.
    assert.ok(records.markStarted(run.id, started(2)));
    assert.deepEqual(store.metrics(run.id), []);
    assert.equal(records.recordEpoch(run.id, 1, 2, [{epoch: 2, step: 6, split: 'dev', name: 'accuracy', value: 0.9}]), false);
    assert.equal(records.markStarted(run.id, started(1)), false);
    assert.ok(records.recordEpoch(run.id, 2, 1, [{epoch: 1, step: 3, split: 'dev', name: 'accuracy', value: 0.25}]));

    assert.ok(records.recordFinished(run.id, finished(2)));
    assert.equal(records.recordFinished(run.id, finished(2)), false, 'recorded once');
    assert.equal(records.recordFailed(run.id, 'late failure', 3), false, 'a completed run stays completed');
    const row = store.run(run.id)!;
    assert.deepEqual([row.status, row.bestValue, row.pid, row.trainableParams, row.params], ['completed', 0.75, 102, 5, {trained: 2}]);
    assert.deepEqual(store.metrics(run.id).map((m) => m.value), [0.25, 0.75]);
    assert.equal(store.artifacts(run.id).length, 1);
    assert.equal(records.queueRun(run.id)!.attempts, 2);

    assert.equal(records.settleExperiment(experimentId), 'queued', 'one run is still queued');
    assert.ok(records.recordFailed(other.id, 'attempts exhausted', 3));
    assert.equal(records.settleExperiment(experimentId), 'failed');
    assert.equal(store.findExperiment('q')!.status, 'failed');
    store.close();
  });
});

describe('queue URLs', () => {
  test('host, port, database, user, password and TLS come from the URL; the mask hides the password', () => {
    const plain = parseQueueUrl('redis://127.0.0.1:6380');
    assert.deepEqual([plain.redis.host, plain.redis.port, plain.redis.db, plain.redis.password, plain.redis.tls], ['127.0.0.1', 6380, 0, undefined, undefined]);
    assert.equal(plain.masked, 'redis://127.0.0.1:6380');
    const full = parseQueueUrl('rediss://ptv2:p%40ss@queue.example:6390/2');
    assert.deepEqual([full.redis.host, full.redis.port, full.redis.db, full.redis.username, full.redis.password], ['queue.example', 6390, 2, 'ptv2', 'p@ss']);
    assert.deepEqual(full.redis.tls, {servername: 'queue.example'});
    assert.equal(full.masked, 'rediss://ptv2:***@queue.example:6390/2');
    assert.equal(parseQueueUrl('redis://:secret@h').masked, 'redis://:***@h');
    assert.equal(maskUrl('not a url secret'), '…');
  });

  const BAD = [
    {input: 'http://h:6379', message: /--queue: expected a redis:\/\/ or rediss:\/\/ URL, got http:/},
    {input: 'redis://:pw@h:6379/x', message: /--queue: the database number in redis:\/\/:\*\*\*@h:6379\/x is not an integer/},
    {input: 'h:6379 pw', message: /--queue: /},
  ];
  for (const {input, message} of BAD) {
    test(`${input.replace('pw', '…')} is refused without showing a password`, () => {
      assert.throws(() => parseQueueUrl(input), (error: Error) => {
        assert.match(error.message, message);
        assert.ok(!error.message.includes('pw'), error.message);
        return true;
      });
    });
  }

  test('--queue env reads PTV2_QUEUE_URL, and says so when it is not set', () => {
    const saved = process.env.PTV2_QUEUE_URL;
    try {
      delete process.env.PTV2_QUEUE_URL;
      assert.throws(() => queueTarget('env'), /PTV2_QUEUE_URL: not set/);
      assert.throws(() => queueTarget(undefined, {fallBackToEnv: true}), /PTV2_QUEUE_URL: not set/);
      process.env.PTV2_QUEUE_URL = 'redis://:pw@10.0.0.5:6379/1';
      assert.equal(queueTarget('env').masked, 'redis://:***@10.0.0.5:6379/1');
      assert.equal(queueTarget(undefined, {fallBackToEnv: true}).redis.password, 'pw');
    } finally {
      if (saved === undefined) delete process.env.PTV2_QUEUE_URL;
      else process.env.PTV2_QUEUE_URL = saved;
    }
  });
});

describe('a worker\'s --root', () => {
  const root = fs.realpathSync(tempDir());
  fs.mkdirSync(path.join(root, 'model'));
  fs.mkdirSync(path.join(root, 'data', 'rte'), {recursive: true});
  const outside = fs.realpathSync(tempDir());
  fs.symlinkSync(outside, path.join(root, 'escape'));
  const config = (model: string, data: string, initFrom = 'adapters/a') =>
    parseConfig(`name: r\nmodel: {path: ${model}}\nmethods: [pt2]\nmethod_overrides: {pt2: {prompt: {init_from: ${initFrom}}}}\ntasks:\n  - {name: rte, data: ${data}}\n`, 'job.yaml').config;

  test('relative paths resolve under the root; without a root they stay as given', () => {
    const resolved = resolveJobPaths(config('model', 'data/rte'), root, 'job.yaml');
    assert.equal(resolved.model.path, path.join(root, 'model'));
    assert.equal(resolved.tasks[0].data, path.join(root, 'data/rte'));
    assert.equal(resolved.method_overrides!.pt2!.prompt!.init_from, path.join(root, 'adapters/a'));
    assert.equal(resolveJobPaths(config(path.join(root, 'model'), 'data/rte'), root, 'job.yaml').model.path, path.join(root, 'model'));
    assert.equal(resolveJobPaths(config('model', '../x'), undefined, 'job.yaml').tasks[0].data, '../x');
  });

  const REFUSED = [
    {name: 'a relative path that climbs out', args: ['model', '../data'], field: 'tasks[0].data'},
    {name: 'an absolute path elsewhere', args: ['/etc', 'data/rte'], field: 'model.path'},
    {name: 'a symbolic link out of the root', args: ['escape/model', 'data/rte'], field: 'model.path'},
    {name: 'a method override\'s init_from', args: ['model', 'data/rte', '/tmp/adapter'], field: 'method_overrides.pt2.prompt.init_from'},
  ];
  for (const {name, args, field} of REFUSED) {
    test(`${name} is refused, naming the field`, () => {
      assert.throws(() => resolveJobPaths(config(args[0], args[1], args[2]), root, 'job.yaml'), (error: Error) => {
        assert.equal(error.name, 'UserError');
        assert.ok(error.message.startsWith(`job.yaml ${field}: `), error.message);
        assert.match(error.message, new RegExp(`is outside the worker's --root ${root}`));
        return true;
      });
    });
  }
});
