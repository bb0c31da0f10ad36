/**
 * Tests for the SQLite results store: schema migration, WAL and foreign keys, atomic metric batches,
 * best-dev selection, orphaned-run recovery and concurrent writers on one file.
 */

import {spawn, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import {Store, type MetricRow, type RunStart} from '../../src/store/index.js';
import {MIGRATIONS} from '../../src/store/migrations.js';

const STORE_MODULE = fileURLToPath(new URL('../../src/store/index.ts', import.meta.url));

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tempDbPath(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-')), 'nested', 'dir', 'results.db');
}

/** A second, raw connection: to inspect pragmas and to plant rows the Store API never writes. */
function rawConnection(dbPath: string): Database.Database {
  return new Database(dbPath);
}

function runStart(experimentId: number, overrides: Partial<RunStart> = {}): RunStart {
  return {
    experimentId,
    task: 'rte',
    method: 'pt2',
    params: {lr: 0.01, prefixLength: 16},
    seed: 42,
    backend: 'cpu',
    modelPath: 'models/bert-tiny',
    trainableParams: 1234,
    totalParams: 4_400_000,
    keyMetric: 'accuracy',
    ...overrides,
  };
}

function epochRows(epoch: number, values: Record<string, number>, split = 'dev'): MetricRow[] {
  return Object.entries(values).map(([name, value]) => ({epoch, step: epoch * 10, split, name, value}));
}

describe('Store schema', () => {
  test('a fresh file is migrated to the latest version, and re-opening keeps version and data', () => {
    const dbPath = tempDbPath();
    const store = Store.open(dbPath);
    const experimentId = store.createExperiment({name: 'first', configText: 'a: 1\n'});
    store.close();

    const raw = rawConnection(dbPath);
    assert.equal(raw.pragma('user_version', {simple: true}), MIGRATIONS.length);
    raw.close();

    const reopened = Store.open(dbPath);
    assert.equal(reopened.experiments().length, 1);
    assert.equal(reopened.experiments()[0].id, experimentId);
    reopened.close();
    const rawAgain = rawConnection(dbPath);
    assert.equal(rawAgain.pragma('user_version', {simple: true}), MIGRATIONS.length);
    rawAgain.close();
  });

  test('a database from a newer schema is refused, naming the file', () => {
    const dbPath = tempDbPath();
    Store.open(dbPath).close();
    const raw = rawConnection(dbPath);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    assert.throws(() => Store.open(dbPath), (error: Error) => {
      assert.equal(error.name, 'UserError');
      assert.ok(error.message.startsWith(`${dbPath}: `), error.message);
      assert.match(error.message, new RegExp(`schema version ${MIGRATIONS.length + 1} is newer`));
      return true;
    });
  });

  test('a file that is not a database is refused, naming the file', () => {
    const dbPath = tempDbPath();
    fs.mkdirSync(path.dirname(dbPath), {recursive: true});
    fs.writeFileSync(dbPath, 'task,metric\n'.repeat(100));
    assert.throws(() => Store.open(dbPath), {name: 'UserError', message: `${dbPath}: not a SQLite database`});
  });

  test('the file is in WAL mode', () => {
    const dbPath = tempDbPath();
    Store.open(dbPath).close();
    const raw = rawConnection(dbPath);
    assert.equal(raw.pragma('journal_mode', {simple: true}), 'wal');
    raw.close();
  });

  test('foreign keys are enforced: a metric for a missing run throws', () => {
    const store = Store.open(':memory:');
    assert.throws(
      () => store.recordMetrics(999, epochRows(1, {accuracy: 0.5})),
      /FOREIGN KEY constraint failed/,
    );
    store.close();
  });

  test('status values are checked by the schema', () => {
    const store = Store.open(':memory:');
    const experimentId = store.createExperiment({name: 'e', configText: ''});
    const runId = store.startRun(runStart(experimentId));
    assert.throws(
      () => store.finishRun(runId, {status: 'done' as unknown as 'completed'}),
      /CHECK constraint failed/,
    );
    assert.equal(store.runs(experimentId)[0].status, 'running');
    store.close();
  });
});

describe('Store writes', () => {
  test('experiments record a sha256 of their config text and are listed newest first', () => {
    const store = Store.open(':memory:');
    const configText = 'task: rte\nmethod: pt2\n';
    const first = store.createExperiment({name: 'sweep', configPath: 'configs/rte.yaml', configText});
    const second = store.createExperiment({name: 'sweep', configText: 'task: boolq\n'});
    const third = store.createExperiment({name: 'other', configText: ''});

    const rows = store.experiments();
    assert.deepEqual(rows.map((e) => e.id), [third, second, first]);
    const oldest = rows[2];
    assert.equal(oldest.configHash, createHash('sha256').update(configText).digest('hex'));
    assert.equal(oldest.configPath, 'configs/rte.yaml');
    assert.equal(oldest.status, 'running');
    assert.equal(oldest.pid, process.pid);

    assert.equal(store.findExperiment('sweep')?.id, second);
    assert.equal(store.findExperiment(String(first))?.id, first);
    assert.equal(store.findExperiment('missing'), undefined);
    assert.equal(store.latestExperiment()?.id, third);

    store.finishExperiment(first, 'completed');
    const finished = store.findExperiment(String(first));
    assert.equal(finished?.status, 'completed');
    assert.ok(finished?.finishedAt);
    store.close();
  });

  test('a run starts running under this pid and finishing it records best, error and duration', () => {
    const store = Store.open(':memory:');
    const experimentId = store.createExperiment({name: 'e', configText: ''});
    const runId = store.startRun(runStart(experimentId, {stage: 'sweep', sweepKey: 'lr', sweepValue: '0.01'}));

    const [started] = store.runs(experimentId);
    assert.equal(started.status, 'running');
    assert.equal(started.pid, process.pid);
    assert.equal(started.stage, 'sweep');
    assert.deepEqual(started.params, {lr: 0.01, prefixLength: 16});
    assert.equal(started.finishedAt, null);

    store.finishRun(runId, {status: 'failed', bestEpoch: 2, bestValue: 0.61, error: 'out of memory'});
    const [finished] = store.runs(experimentId);
    assert.equal(finished.status, 'failed');
    assert.equal(finished.bestEpoch, 2);
    assert.equal(finished.bestValue, 0.61);
    assert.equal(finished.error, 'out of memory');
    assert.ok(finished.finishedAt !== null && finished.finishedAt >= finished.startedAt);
    assert.ok(finished.seconds !== null && finished.seconds >= 0 && finished.seconds < 60, String(finished.seconds));
    store.close();
  });

  test('a metric batch with one NaN writes none of the batch and names the metric', () => {
    const store = Store.open(':memory:');
    const experimentId = store.createExperiment({name: 'e', configText: ''});
    const runId = store.startRun(runStart(experimentId));
    store.recordMetrics(runId, epochRows(1, {accuracy: 0.5}));

    const batch = [...epochRows(2, {accuracy: 0.6, loss: NaN}), ...epochRows(2, {loss: 0.4}, 'train')];
    assert.throws(() => store.recordMetrics(runId, batch), /run \d+ epoch 2 step 20: metric dev\/loss is NaN/);
    assert.deepEqual(store.metrics(runId), epochRows(1, {accuracy: 0.5}));

    assert.throws(() => store.recordMetrics(runId, epochRows(3, {loss: -Infinity})), /is -Infinity/);
    assert.equal(store.metrics(runId).length, 1);
    store.close();
  });

  test('artifacts are recorded per run', () => {
    const store = Store.open(':memory:');
    const experimentId = store.createExperiment({name: 'e', configText: ''});
    const runId = store.startRun(runStart(experimentId));
    const sha256 = 'ab'.repeat(32);
    store.recordArtifact(runId, {kind: 'prompt', path: 'runs/1/prompt.safetensors', sha256});
    store.recordArtifact(runId, {kind: 'log', path: 'runs/1/train.log'});
    assert.deepEqual(
      store.artifacts(runId).map(({kind, path: p, sha256: s}) => ({kind, path: p, sha256: s})),
      [
        {kind: 'prompt', path: 'runs/1/prompt.safetensors', sha256},
        {kind: 'log', path: 'runs/1/train.log', sha256: null},
      ],
    );
    store.close();
  });
});

describe('Store.bestScores', () => {
  test('takes the max over epochs of the dev key metric only, with its epoch', () => {
    const store = Store.open(':memory:');
    const experimentId = store.createExperiment({name: 'e', configText: ''});
    const rte = store.startRun(runStart(experimentId, {task: 'rte', keyMetric: 'accuracy'}));
    // f1 and train accuracy are higher than any dev accuracy: neither may be picked.
    store.recordMetrics(rte, [...epochRows(1, {accuracy: 0.55, f1: 0.9}), ...epochRows(1, {accuracy: 0.99}, 'train')]);
    store.recordMetrics(rte, epochRows(2, {accuracy: 0.71, f1: 0.95}));
    store.recordMetrics(rte, epochRows(3, {accuracy: 0.64, f1: 0.97}));
    store.recordMetrics(rte, epochRows(4, {accuracy: 0.71}));

    const cb = store.startRun(runStart(experimentId, {task: 'cb', method: 'ft', keyMetric: 'f1'}));
    store.recordMetrics(cb, epochRows(1, {accuracy: 0.9, f1: 0.8}));
    store.recordMetrics(cb, epochRows(2, {accuracy: 0.95, f1: 0.7}));

    const empty = store.startRun(runStart(experimentId, {task: 'boolq'}));
    store.finishRun(empty, {status: 'failed', error: 'diverged'});

    const scores = store.bestScores(experimentId);
    const picked = scores.map(({runId, task, value, epoch, status}) => ({runId, task, value, epoch, status}));
    assert.deepEqual(picked, [
      {runId: rte, task: 'rte', value: 0.71, epoch: 2, status: 'running'},
      {runId: cb, task: 'cb', value: 0.8, epoch: 1, status: 'running'},
      {runId: empty, task: 'boolq', value: null, epoch: null, status: 'failed'},
    ]);
    assert.equal(scores[1].keyMetric, 'f1');
    assert.equal(scores[1].method, 'ft');
    // Runs that do not say otherwise report fractions.
    assert.deepEqual(scores.map((s) => s.metricScale), [1, 1, 1]);
    store.close();
  });

  test('another split and a run whose metric is in percent', () => {
    const store = Store.open(':memory:');
    const experimentId = store.createExperiment({name: 'e', configText: ''});
    const squad = store.startRun({...runStart(experimentId, {task: 'squad', keyMetric: 'f1'}), params: {task: {metric_scale: 100}}});
    store.recordMetrics(squad, [...epochRows(1, {f1: 40}), ...epochRows(2, {f1: 55})]);
    store.recordMetrics(squad, epochRows(2, {f1: 51.5}, 'test'));
    assert.deepEqual(store.bestScores(experimentId, 'test').map(({value, epoch, metricScale}) => ({value, epoch, metricScale})), [{value: 51.5, epoch: 2, metricScale: 100}]);
    assert.equal(store.bestScores(experimentId)[0].value, 55);
    store.close();
  });
});

describe('Store.markOrphanedRunsInterrupted', () => {
  test('runs and experiments whose process exited (and missed two heartbeats) become interrupted; live and other-host runs stay running', () => {
    const dbPath = tempDbPath();
    const store = Store.open(dbPath);
    const experimentId = store.createExperiment({name: 'e', configText: ''});
    const live = store.startRun(runStart(experimentId, {task: 'live'}));
    const dead = store.startRun(runStart(experimentId, {task: 'dead'}));
    const elsewhere = store.startRun(runStart(experimentId, {task: 'elsewhere'}));
    const done = store.startRun(runStart(experimentId, {task: 'done'}));
    store.finishRun(done, {status: 'completed'});
    const abandonedExperiment = store.createExperiment({name: 'abandoned', configText: ''});

    const exited = spawnSync(process.execPath, ['-e', '0']);
    assert.equal(exited.status, 0);
    const deadPid = exited.pid;
    const raw = rawConnection(dbPath);
    raw.prepare('UPDATE runs SET pid = ? WHERE id IN (?, ?, ?)').run(deadPid, dead, elsewhere, done);
    raw.prepare(`UPDATE runs SET host = 'another-host' WHERE id = ?`).run(elsewhere);
    raw.prepare('UPDATE experiments SET pid = ? WHERE id = ?').run(deadPid, abandonedExperiment);
    // Two heartbeats missed: a pid missing here is not merely in another PID namespace.
    raw.prepare('UPDATE runs SET heartbeat_at = ? WHERE id IN (?, ?)').run(new Date(Date.now() - 30_000).toISOString(), dead, elsewhere);
    raw.prepare('UPDATE experiments SET heartbeat_at = ? WHERE id = ?').run(new Date(Date.now() - 30_000).toISOString(), abandonedExperiment);
    raw.close();

    assert.equal(store.markOrphanedRunsInterrupted(), 1);
    const statusByTask = Object.fromEntries(store.runs(experimentId).map((r) => [r.task, r.status]));
    assert.deepEqual(statusByTask, {live: 'running', dead: 'interrupted', elsewhere: 'running', done: 'completed'});
    const interrupted = store.runs(experimentId).find((r) => r.id === dead);
    assert.match(interrupted?.error ?? '', new RegExp(`process ${deadPid} .* exited without finishing`));
    assert.equal(store.findExperiment(String(experimentId))?.status, 'running');
    assert.equal(store.findExperiment('abandoned')?.status, 'interrupted');

    assert.equal(store.markOrphanedRunsInterrupted(), 0);
    assert.equal(store.runs(experimentId).find((r) => r.id === live)?.status, 'running');
    store.close();
  });
});

describe('Store on a shared file', () => {
  test('two Store instances on one file interleave writes without SQLITE_BUSY', () => {
    const dbPath = tempDbPath();
    const a = Store.open(dbPath);
    const b = Store.open(dbPath);
    const experimentA = a.createExperiment({name: 'a', configText: ''});
    const experimentB = b.createExperiment({name: 'b', configText: ''});
    const runA = a.startRun(runStart(experimentA));
    const runB = b.startRun(runStart(experimentB));
    for (let epoch = 1; epoch <= 50; epoch++) {
      a.recordMetrics(runA, epochRows(epoch, {accuracy: epoch / 100}));
      b.recordMetrics(runB, epochRows(epoch, {accuracy: epoch / 200}));
    }
    assert.equal(b.metrics(runA).length, 50);
    assert.equal(a.metrics(runB).length, 50);
    assert.deepEqual(a.experiments().map((e) => e.name), ['b', 'a']);
    a.close();
    b.close();
  });

  test('a child process waits for the write lock this process holds, then both write', async () => {
    const dbPath = tempDbPath();
    const store = Store.open(dbPath);
    const experimentId = store.createExperiment({name: 'shared', configText: ''});
    const parentRun = store.startRun(runStart(experimentId, {task: 'parent'}));
    const childEpochs = 300;

    const script = `
      import {Store} from ${JSON.stringify(STORE_MODULE)};
      const store = Store.open(${JSON.stringify(dbPath)});
      process.stdout.write('opened\\n');
      const runId = store.startRun({experimentId: ${experimentId}, task: 'child', method: 'pt2', params: {},
        seed: 1, backend: 'cpu', trainableParams: 1, totalParams: 2, keyMetric: 'accuracy'});
      for (let epoch = 1; epoch <= ${childEpochs}; epoch++) {
        store.recordMetrics(runId, [{epoch, step: epoch, split: 'dev', name: 'accuracy', value: epoch / 1000}]);
      }
      store.finishRun(runId, {status: 'completed'});
      store.close();
    `;
    // Take the write lock before the child starts: its first write must wait in the busy handler, not fail.
    const raw = rawConnection(dbPath);
    raw.exec('BEGIN IMMEDIATE');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const opened = new Promise<boolean>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('opened') && resolve(true));
      void exited.then(() => resolve(false));
    });
    const childOpened = await opened;
    await sleep(300);
    assert.equal(store.runs(experimentId).some((r) => r.task === 'child'), false);
    raw.exec('COMMIT');
    raw.close();
    assert.ok(childOpened, stderr);

    for (let epoch = 1; epoch <= 200; epoch++) {
      store.recordMetrics(parentRun, [{epoch, step: epoch, split: 'dev', name: 'accuracy', value: epoch / 1000}]);
      if (epoch % 10 === 0) await sleep(1);
    }
    assert.equal(await exited, 0, stderr);

    const childRun = store.runs(experimentId).find((r) => r.task === 'child');
    assert.equal(childRun?.status, 'completed');
    assert.equal(store.metrics(childRun.id).length, childEpochs);
    assert.equal(store.metrics(parentRun).length, 200);
    store.close();
  });
});

describe('Store history', () => {
  test('appending a second experiment leaves the first one\'s rows untouched', () => {
    const dbPath = tempDbPath();
    const first = Store.open(dbPath);
    const firstId = first.createExperiment({name: 'baseline', configText: 'x: 1\n'});
    const runId = first.startRun(runStart(firstId));
    first.recordMetrics(runId, [...epochRows(1, {accuracy: 0.6}), ...epochRows(2, {accuracy: 0.7})]);
    first.recordArtifact(runId, {kind: 'prompt', path: 'p.safetensors'});
    first.finishRun(runId, {status: 'completed', bestEpoch: 2, bestValue: 0.7});
    first.finishExperiment(firstId, 'completed');
    const snapshot = () => ({
      experiment: first.findExperiment(String(firstId)),
      runs: first.runs(firstId),
      metrics: first.metrics(runId),
      artifacts: first.artifacts(runId),
      best: first.bestScores(firstId),
    });
    const before = snapshot();

    const second = Store.open(dbPath);
    const secondId = second.createExperiment({name: 'baseline', configText: 'x: 2\n'});
    const secondRun = second.startRun(runStart(secondId, {task: 'rte'}));
    second.recordMetrics(secondRun, epochRows(1, {accuracy: 0.9}));
    second.finishRun(secondRun, {status: 'completed', bestEpoch: 1, bestValue: 0.9});
    second.finishExperiment(secondId, 'failed');
    second.close();

    assert.deepEqual(snapshot(), before);
    assert.equal(first.findExperiment('baseline')?.id, secondId);
    assert.deepEqual(first.experiments().map((e) => e.id), [secondId, firstId]);
    first.close();
  });
});

describe('Store.run', () => {
  test('finds a run by id across experiments, with its params parsed; an unknown id gives undefined', () => {
    const store = Store.open(':memory:');
    const first = store.createExperiment({name: 'a', configText: ''});
    const second = store.createExperiment({name: 'b', configText: ''});
    store.startRun(runStart(first));
    const id = store.startRun(runStart(second, {task: 'cb', params: {prompt: {length: 8}}}));
    const run = store.run(id);
    assert.deepEqual([run?.experimentId, run?.task, run?.params], [second, 'cb', {prompt: {length: 8}}]);
    assert.equal(store.run(id + 100), undefined);
    store.close();
  });
});
