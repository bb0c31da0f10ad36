/**
 * `ptv2 ui`'s JSON API over HTTP, against a database this test fills by hand: every endpoint's
 * numbers checked against hand-computed values, the server never writing the file, loopback only
 * unless allowed, and the event stream announcing another process's writes.
 */
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {startDashboard, type Dashboard} from '../../src/dashboard/server.js';
import {isUserError} from '../../src/errors.js';
import {Store, type RunStart} from '../../src/store/index.js';
import {ROOT} from '../helpers/cli.js';

interface Filled {
  db: string;
  plain: number;
  sweep: number;
  running: number;
  runs: Record<string, number>;
  predictions: string;
}

function runStart(experimentId: number, task: string, method: string, extra: Partial<RunStart> = {}): RunStart {
  return {
    experimentId, task, method, seed: 1, backend: 'wasm', trainableParams: method === 'ft' ? 1000 : 10, totalParams: 1000, keyMetric: 'accuracy',
    params: {train: {epochs: 2}, task: {metric_scale: 1}, truncated: {train: 3, dev: 0}},
    ...extra,
  };
}

/** Two epochs of dev accuracy and logged steps (loss, lr) for a run, then its end. */
function trainRun(store: Store, id: number, dev: [number, number], opts: {finish?: boolean} = {}): void {
  store.recordMetrics(id, [{epoch: 0, step: 0, split: 'train', name: 'total_steps', value: 4}]);
  for (const epoch of [1, 2]) {
    const steps = [2 * epoch - 1, 2 * epoch];
    store.recordMetrics(id, steps.flatMap((step) => [
      {epoch, step, split: 'train', name: 'step_loss', value: 1 / step},
      {epoch, step, split: 'train', name: 'lr', value: 0.01 * step},
    ]));
    store.recordMetrics(id, [
      {epoch, step: 2 * epoch, split: 'dev', name: 'accuracy', value: dev[epoch - 1]},
      {epoch, step: 2 * epoch, split: 'train', name: 'loss', value: 1 / epoch},
    ]);
  }
  if (opts.finish !== false) {
    const best = dev[1] > dev[0] ? 2 : 1;
    store.finishRun(id, {status: 'completed', bestEpoch: best, bestValue: Math.max(...dev)});
  }
}

function fill(dir: string): Filled {
  const db = path.join(dir, 'ptv2.db');
  const store = Store.open(db);
  const runs: Record<string, number> = {};
  const plain = store.createExperiment({name: 'plain', configText: 'name: plain\n'});
  runs.rteFt = store.startRun(runStart(plain, 'rte', 'ft'));
  trainRun(store, runs.rteFt, [0.6, 0.75]);
  runs.rtePt2 = store.startRun(runStart(plain, 'rte', 'pt2'));
  trainRun(store, runs.rtePt2, [0.7, 0.65]);
  runs.cbFt = store.startRun(runStart(plain, 'cb', 'ft'));
  trainRun(store, runs.cbFt, [0.5, 0.5]);
  runs.cbPt2 = store.startRun(runStart(plain, 'cb', 'pt2'));
  store.finishRun(runs.cbPt2, {status: 'failed', error: 'loss became NaN'});
  const predictions = path.join(dir, 'dev_predictions.jsonl');
  fs.writeFileSync(predictions, '{"idx": 0, "label": "entailment"}\n');
  store.recordArtifact(runs.rtePt2, {kind: 'dev_predictions', path: predictions});
  store.finishExperiment(plain, 'failed');

  // A prompt-length sweep: two seeds at length 4, one at 8, and an ft job the sweep does not vary.
  const sweep = store.createExperiment({name: 'plen', configText: 'name: plen\n'});
  const swept = (value: number, seed: number) => runStart(sweep, 'rte', 'pt2', {sweepKey: 'prompt.length', sweepValue: String(value), seed});
  runs.len4a = store.startRun(swept(4, 1));
  trainRun(store, runs.len4a, [0.6, 0.6]);
  runs.len4b = store.startRun(swept(4, 2));
  trainRun(store, runs.len4b, [0.7, 0.8]);
  runs.len8 = store.startRun(swept(8, 1));
  trainRun(store, runs.len8, [0.9, 0.5]);
  runs.reference = store.startRun(runStart(sweep, 'rte', 'ft'));
  trainRun(store, runs.reference, [0.55, 0.55]);
  store.finishExperiment(sweep, 'completed');

  // Still running (this process is alive, so it is not an orphan): one epoch done, step 3 logged.
  const running = store.createExperiment({name: 'live', configText: 'name: live\n'});
  runs.live = store.startRun(runStart(running, 'rte', 'pt2'));
  store.recordMetrics(runs.live, [
    {epoch: 0, step: 0, split: 'train', name: 'total_steps', value: 4},
    {epoch: 1, step: 2, split: 'dev', name: 'accuracy', value: 0.625},
    {epoch: 2, step: 3, split: 'train', name: 'step_loss', value: 0.25},
  ]);
  store.close();
  return {db, plain, sweep, running, runs, predictions};
}

const fileState = (file: string) => ({sha: createHash('sha256').update(fs.readFileSync(file)).digest('hex'), mtime: fs.statSync(file).mtimeMs});

describe('ptv2 ui JSON API', () => {
  let filled: Filled;
  let dashboard: Dashboard;
  let before_: ReturnType<typeof fileState>;
  const get = async (route: string) => {
    const res = await fetch(new URL(route, dashboard.url));
    return {status: res.status, body: (await res.json()) as any};
  };

  before(async () => {
    filled = fill(fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-ui-api-')));
    // The WAL is checkpointed into the file when the writer closes, so the file now holds everything.
    before_ = fileState(filled.db);
    dashboard = await startDashboard({dbPath: filled.db, port: 0, pollMs: 50});
  });
  after(() => dashboard.close());

  test('listens on loopback at the port it printed', () => {
    assert.equal(dashboard.host, '127.0.0.1');
    assert.ok(dashboard.port > 0);
    assert.equal(dashboard.url, `http://127.0.0.1:${dashboard.port}/`);
  });

  test('/api/experiments: newest first, with status, run counts, duration and backend', async () => {
    const {status, body} = await get('/api/experiments');
    assert.equal(status, 200);
    assert.deepEqual(body.map((e: any) => [e.id, e.name, e.status]), [[filled.running, 'live', 'running'], [filled.sweep, 'plen', 'completed'], [filled.plain, 'plain', 'failed']]);
    const plain = body.find((e: any) => e.id === filled.plain);
    assert.deepEqual(plain.runs, {total: 4, queued: 0, running: 0, completed: 3, failed: 1, interrupted: 0});
    assert.deepEqual(plain.backends, ['wasm']);
    assert.equal(plain.sweepKey, null);
    assert.ok(plain.seconds >= 0 && plain.seconds < 60, String(plain.seconds));
    assert.equal(body.find((e: any) => e.id === filled.sweep).sweepKey, 'prompt.length');
  });

  test('/api/experiments/ID: the task × method table, average and trainable share, as ptv2 report prints them', async () => {
    const {status, body} = await get(`/api/experiments/${filled.plain}`);
    assert.equal(status, 200);
    assert.deepEqual(body.table.header, ['Task', 'FT', 'PT-2']);
    assert.deepEqual(body.table.rows.map((r: any) => [r.label, r.cells, r.rank]), [
      ['rte (accuracy)', ['75.0', '70.0'], [1, 2]],
      // The failed cb/pt2 run has no cell, so the average is over rte alone.
      ['cb (accuracy)', ['50.0', '–'], [0, 0]],
      ['Average (1 tasks with every method)', ['75.0', '70.0'], [1, 2]],
      ['Trainable parameters', ['100.00%', '1.00%'], [0, 0]],
    ]);
    assert.equal(body.sweep, null);
    const rte = body.runs.find((r: any) => r.run === filled.runs.rteFt);
    assert.deepEqual([rte.status, rte.bestEpoch, rte.dev, rte.test, rte.truncated, rte.label], ['completed', 2, 0.75, null, {train: 3, dev: 0}, `#${filled.runs.rteFt} rte/FT`]);
    assert.equal(body.runs.find((r: any) => r.run === filled.runs.cbPt2).error, 'loss became NaN');
    assert.deepEqual(body.charts.map((c: any) => c.id), ['loss', 'dev', 'lr']);
    for (const chart of body.charts) assert.ok(Array.isArray(chart.vega.marks) && chart.vega.marks.length > 0, chart.id);
  });

  test('/api/experiments/ID of a sweep: mean ± std per value over seeds, and the unswept job as a reference', async () => {
    const {body} = await get(`/api/experiments/${filled.sweep}`);
    assert.equal(body.sweep.key, 'prompt.length');
    assert.deepEqual(body.sweep.values, ['4', '8']);
    // Best per run: 0.6 and 0.8 at length 4 (mean 70, std √((10² + 10²)/1) = 14.142…), 0.9 at length 8.
    const [four, eight] = body.sweep.points;
    assert.deepEqual([four.x, four.line, four.n, eight.x, eight.n], ['4', 'rte / PT-2', 2, '8', 1]);
    assert.ok(Math.abs(four.y - 70) < 1e-9 && Math.abs(four.hi - four.y - Math.SQRT2 * 10) < 1e-9, JSON.stringify(four));
    assert.ok(Math.abs(eight.y - 90) < 1e-9 && eight.lo === eight.hi);
    assert.deepEqual(body.sweep.references.map((r: any) => [r.line, Math.round(r.y * 1000) / 1000]), [['rte / FT', 55]]);
    // The table agrees with the chart: repeats at a value show their mean ± std.
    assert.deepEqual(body.sweep.tables[0].rows.map((r: any) => r.cells), [['70.0 ± 14.1', '90.0']]);
    assert.equal(body.sweep.keyLabel, 'prompt length');
    assert.equal(body.charts[0].id, 'sweep');
    const marks = JSON.stringify(body.charts[0].vega.marks);
    assert.match(marks, /"rule"/);
    assert.ok(marks.includes('"errorbar"') && marks.includes('lower_lo') && marks.includes('upper_lo'), 'error bars are drawn from lo to hi');
  });

  test('/api/experiments/ID of a running experiment: the current run\'s progress', async () => {
    const {body} = await get(`/api/experiments/${filled.running}`);
    assert.equal(body.progress.length, 1);
    const [p] = body.progress;
    assert.deepEqual([p.run, p.epoch, p.epochs, p.step, p.totalSteps, p.loss, p.dev], [filled.runs.live, 2, 2, 3, 4, 0.25, '62.5']);
  });

  test('/api/runs and /api/runs/ID: every run; one run with its metrics, files and export command', async () => {
    const all = await get('/api/runs');
    assert.equal(all.body.length, 9);
    assert.deepEqual(all.body[0], {id: filled.runs.live, label: `#${filled.runs.live} rte/PT-2`, experiment: `live #${filled.running}`, experimentId: filled.running, status: 'running'});

    const {status, body} = await get(`/api/runs/${filled.runs.rtePt2}`);
    assert.equal(status, 200);
    assert.deepEqual([body.run.bestEpoch, body.run.dev, body.experiment.name], [1, 0.7, 'plain']);
    assert.equal(body.exportCommand, `ptv2 export ${filled.runs.rtePt2} --out runs/export-${filled.runs.rtePt2} --db ${filled.db}`);
    assert.deepEqual(body.epochs.map((e: any) => [e.epoch, e.split, e.metrics]), [
      [1, 'dev', {accuracy: 0.7}],
      [1, 'train', {loss: 1}],
      [2, 'dev', {accuracy: 0.65}],
      [2, 'train', {loss: 0.5}],
    ]);
    assert.deepEqual(body.params.truncated, {train: 3, dev: 0});
    assert.equal(body.artifacts.length, 1);
    const file = await fetch(new URL(body.artifacts[0].url, dashboard.url));
    assert.equal(file.status, 200);
    assert.equal(await file.text(), fs.readFileSync(filled.predictions, 'utf8'));

    const ft = await get(`/api/runs/${filled.runs.rteFt}`);
    assert.equal(ft.body.exportCommand, null);
    assert.match(ft.body.exportNote, /FT runs are not prompt adapters/);
    assert.equal((await get('/api/runs/999')).status, 404);
    assert.equal((await fetch(new URL(`/files/${filled.runs.rteFt}/${body.artifacts[0].id}`, dashboard.url))).status, 404, 'an artifact is served only under its own run');
  });

  test('/api/curves?runs=…: runs of different experiments overlaid, loss per logged step, dev in percent', async () => {
    const {body} = await get(`/api/curves?runs=${filled.runs.rteFt},${filled.runs.len8}`);
    assert.deepEqual(body.runs.map((r: any) => r.experiment), [`plain #${filled.plain}`, `plen #${filled.sweep}`]);
    const ft = `#${filled.runs.rteFt} rte/FT`;
    assert.deepEqual(body.loss.filter((p: any) => p.run === ft).map((p: any) => [p.x, p.y]), [[1, 1], [2, 0.5], [3, 1 / 3], [4, 0.25]]);
    assert.deepEqual(body.lr.filter((p: any) => p.run === ft).map((p: any) => p.y), [0.01, 0.02, 0.03, 0.04]);
    assert.deepEqual(body.dev.filter((p: any) => p.run === ft).map((p: any) => [p.x, p.y]), [[1, 60], [2, 75]]);
    assert.equal(body.loss.filter((p: any) => p.run !== ft).length, 4);
    assert.deepEqual(body.charts.map((c: any) => c.id), ['loss', 'dev', 'lr']);
  });

  test('static files: the page, its script and Vega\'s browser build from node_modules', async () => {
    for (const [route, type] of [['/', 'text/html'], ['/static/app.js', 'text/javascript'], ['/static/style.css', 'text/css'], ['/static/vega.min.js', 'text/javascript']]) {
      const res = await fetch(new URL(route, dashboard.url));
      assert.equal(res.status, 200, route);
      assert.ok(res.headers.get('content-type')!.startsWith(type), route);
      assert.ok((await res.text()).length > 100, route);
    }
    assert.equal((await get('/api/nothing')).status, 404);
  });

  test('refuses writes, and requests naming another host (DNS rebinding)', async () => {
    assert.equal((await fetch(new URL('/api/experiments', dashboard.url), {method: 'POST'})).status, 405);
    const rebound = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({request}) => {
        const req = request({host: '127.0.0.1', port: dashboard.port, path: '/api/experiments', headers: {host: 'attacker.example'}}, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      }, reject);
    });
    assert.equal(rebound, 403);
  });

  test('never writes the database: its bytes and mtime are unchanged after every request', () => {
    assert.deepEqual(fileState(filled.db), before_);
  });
});

describe('ptv2 ui server', () => {
  test('refuses a non-loopback address unless allowed (--host), then binds it', async () => {
    const {db} = fill(fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-ui-host-')));
    await assert.rejects(startDashboard({dbPath: db, host: '0.0.0.0', port: 0}), (error) => isUserError(error) && /refusing to serve on 0\.0\.0\.0/.test(error.message));
    const open = await startDashboard({dbPath: db, host: '0.0.0.0', port: 0, allowNonLoopback: true});
    try {
      assert.equal(open.host, '0.0.0.0');
      assert.equal((await fetch(`http://127.0.0.1:${open.port}/api/experiments`)).status, 200);
    } finally {
      await open.close();
    }
  });

  test('a missing database is a user error, and none is created', async () => {
    const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-ui-none-')), 'absent.db');
    await assert.rejects(startDashboard({dbPath: db, port: 0}), (error) => isUserError(error) && error.message.includes(db));
    assert.equal(fs.existsSync(db), false);
  });

  test('the event stream announces a write by another process', async () => {
    const {db, running} = fill(fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-ui-sse-')));
    const dashboard = await startDashboard({dbPath: db, port: 0, pollMs: 50});
    const controller = new AbortController();
    try {
      const res = await fetch(new URL('/api/events', dashboard.url), {signal: controller.signal});
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const until = async (pattern: RegExp) => {
        while (!pattern.test(text)) {
          const {value, done} = await reader.read();
          if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
          text += decoder.decode(value);
        }
      };
      await until(/event: hello/);
      const script = `import {Store} from ${JSON.stringify(path.join(ROOT, 'src/store/index.ts'))};
        const s = Store.open(${JSON.stringify(db)}); s.createExperiment({name: 'another', configText: 'x'}); s.close();`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: ROOT, stdio: 'inherit'});
      const code = await new Promise((resolve) => child.on('exit', resolve));
      assert.equal(code, 0);
      await until(/event: change\ndata: \{"version":\d+\}/);
      const list = (await (await fetch(new URL('/api/experiments', dashboard.url))).json()) as {name: string}[];
      assert.equal(list[0].name, 'another');
      assert.ok(list.some((e) => e.name === 'live'), `experiment ${running} still listed`);
    } finally {
      controller.abort();
      await dashboard.close();
    }
  });
});

test('runs recorded before logged steps were stored draw their loss per epoch', async () => {
  const {curves} = await import('../../src/dashboard/data.js');
  const store = Store.open(':memory:');
  const experiment = store.createExperiment({name: 'old', configText: 'x'});
  const run = store.startRun(runStart(experiment, 'rte', 'pt2'));
  store.recordMetrics(run, [
    {epoch: 1, step: 3, split: 'dev', name: 'accuracy', value: 0.5},
    {epoch: 1, step: 3, split: 'train', name: 'loss', value: 0.7},
    {epoch: 2, step: 6, split: 'train', name: 'loss', value: 0.6},
  ]);
  const c = curves(store, [run, 999]);
  store.close();
  assert.deepEqual(c.loss.map((p) => [p.x, p.y]), [[3, 0.7], [6, 0.6]]);
  assert.deepEqual(c.dev.map((p) => [p.x, p.y]), [[1, 50]]);
  assert.deepEqual([c.lr, c.runs.length], [[], 1]);
});

test('a database with a table ptv2 does not create is refused read-only, naming the file, and left unchanged', async () => {
  const {default: Database} = await import('better-sqlite3');
  const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-ui-old-')), 'old.db');
  const raw = new Database(db);
  raw.exec('CREATE TABLE t (x)');
  raw.close();
  const before = fileState(db);
  assert.throws(() => Store.openReadOnly(db), (error) => isUserError(error) && error.message === `${db}: not a ptv2 database: it has table t, which ptv2 does not create; ptv2 leaves it untouched`);
  assert.deepEqual(fileState(db), before);
});
