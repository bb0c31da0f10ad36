/**
 * Experiments across machines, end to end: a real redis-server, real `ptv2 worker` processes of
 * the built CLI, real signals. A sweep trained by two workers (one killed with SIGKILL in the middle
 * of a job) records every run once with the metrics and files of a local run of the same config;
 * MPT-2's fine-tuning starts after its shared stage; the password never shows. A submitter killed
 * after queueing loses nothing: `ptv2 collect` records the results, across a Redis restart.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, type ChildProcess} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {ptv2, ROOT, tinyConfig, tinyExperimentHeader} from '../helpers/cli.js';
import {skipWithoutRedis, startRedis} from './redis.js';

const BIN = path.join(ROOT, 'bin/run.js');
const PASSWORD = 'ptv2-queue-s3cret';

interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], cwd: string, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {cwd, env: {...process.env, PTV2_BACKEND: 'wasm', PTV2_QUEUE_LOCK_MS: '3000', PTV2_QUEUE_POLL_MS: '200', ...env}, stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {child, out: () => out, exited};
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Rows of a database that may not exist yet, read without holding it open. */
function query<T>(db: string, sql: string, ...params: unknown[]): T[] {
  if (!fs.existsSync(db)) return [];
  const conn = new Database(db, {readonly: true, timeout: 5000});
  try {
    return conn.prepare(sql).all(...params) as T[];
  } catch {
    return [];
  } finally {
    conn.close();
  }
}

interface RunOf {
  id: number;
  task: string;
  method: string;
  stage: string;
  sweep_value: string | null;
  status: string;
  attempts?: number;
  started_at: string;
  finished_at: string | null;
  pid: number;
  error: string | null;
}

const keyOf = (r: RunOf) => `${r.stage} ${r.task}/${r.method} ${r.sweep_value ?? ''}`;

function metricsOf(db: string, runId: number) {
  return query(db, 'SELECT epoch, step, split, name, value FROM metrics WHERE run_id = ? ORDER BY epoch, step, split, name', runId);
}

function artifactsOf(db: string, runId: number) {
  return query<{kind: string; path: string; sha256: string}>(db, 'SELECT kind, path, sha256 FROM artifacts WHERE run_id = ? ORDER BY kind', runId);
}

test('a sweep on two workers, one killed mid-job: every run once, as a local run, MPT-2 in order, no password shown', {skip: skipWithoutRedis(), timeout: 180_000}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-queue-'));
  const config = path.join(dir, 'qsweep.yaml');
  // A long shared stage (30 epochs) gives the test time to kill the worker training it.
  fs.writeFileSync(
    config,
    `${tinyExperimentHeader(dir, 'qsweep')}methods: [ft, mpt2]
prompt: {length: 4}
mpt2: {shared_epochs: 30}
train: {epochs: 2, batch_size: 8, max_train_examples: 24, max_eval_examples: 12, log_every: 1}
tasks:
  - {name: rte, data: ${path.join(ROOT, 'datasets/superglue/RTE')}, test_file: val.jsonl}
  - {name: cb, data: ${path.join(ROOT, 'datasets/superglue/CB')}}
`,
  );
  const localDb = path.join(dir, 'local.db');
  const local = ptv2(['sweep', 'prompt-length', config, '--values', '2,4', '--db', localDb, '--plain'], dir);
  assert.equal(local.code, 0, local.stderr + local.stdout);

  const redis = await startRedis({password: PASSWORD});
  const workers: Proc[] = [];
  try {
    for (let i = 0; i < 2; i++) workers.push(start(['worker'], dir, {PTV2_QUEUE_URL: redis.url}));
    for (const w of workers) await until('a worker to wait for jobs', () => /waiting for jobs/.test(w.out()));

    const queueDb = path.join(dir, 'queue.db');
    // Its files go elsewhere than the local run's, to see that they arrived.
    const submitter = start(['sweep', 'prompt-length', config, '--values', '2,4', '--db', queueDb, '--set', `output_dir=${path.join(dir, 'qout')}`, '--queue', redis.url, '--plain'], dir);
    const pids = workers.map((w) => w.child.pid);
    // A shared stage a worker is training, with epochs the submitter has already recorded from the worker's progress.
    const victim = await until('a worker to train a shared stage', () =>
      query<RunOf>(
        queueDb,
        `SELECT id, pid FROM runs WHERE stage = 'shared' AND status = 'running' AND EXISTS (SELECT 1 FROM metrics m WHERE m.run_id = runs.id AND m.split = 'dev')`,
      ).find((r) => pids.includes(r.pid)),
    );
    const killedAt = new Date().toISOString();
    const killed = workers.find((w) => w.child.pid === victim.pid)!;
    killed.child.kill('SIGKILL');
    assert.equal(await submitter.exited, 0, submitter.out());
    const survivor = workers.find((w) => w !== killed)!;
    survivor.child.kill('SIGINT');
    assert.equal(await survivor.exited, 0, survivor.out());

    const runs = query<RunOf>(queueDb, 'SELECT * FROM runs ORDER BY id');
    const localRuns = query<RunOf>(localDb, 'SELECT * FROM runs ORDER BY id');
    assert.equal(runs.length, 8, 'one row per planned job: 2 shared stages, 2 FT references, 4 MPT-2 fine-tunings');
    assert.deepEqual(runs.map(keyOf).sort(), localRuns.map(keyOf).sort());
    assert.ok(runs.every((r) => r.status === 'completed'), JSON.stringify(runs.map((r) => [keyOf(r), r.status, r.error])));

    // The killed worker's job was taken over: a second attempt, begun after the kill, by the other worker.
    const retried = runs.find((r) => r.id === victim.id)!;
    assert.equal(retried.attempts, 2);
    assert.ok(retried.started_at > killedAt, `${retried.started_at} > ${killedAt}`);
    assert.equal(retried.pid, survivor.child.pid);
    assert.ok(runs.filter((r) => r.id !== victim.id).every((r) => r.attempts === 1));

    // The same numbers and files as the local run of the same config and seed.
    for (const run of runs) {
      const twin = localRuns.find((r) => keyOf(r) === keyOf(run))!;
      const metrics = metricsOf(queueDb, run.id);
      assert.ok(metrics.length > 0);
      assert.deepEqual(metrics, metricsOf(localDb, twin.id), keyOf(run));
      const files = artifactsOf(queueDb, run.id);
      assert.deepEqual(files.map((a) => [a.kind, a.sha256]), artifactsOf(localDb, twin.id).map((a) => [a.kind, a.sha256]), keyOf(run));
      for (const file of files) {
        assert.ok(file.path.startsWith(path.join(dir, 'qout', 'qsweep-1')), file.path);
        assert.equal(createHash('sha256').update(fs.readFileSync(file.path)).digest('hex'), file.sha256);
      }
    }

    // MPT-2: every fine-tuning began after its shared stage had finished.
    for (const run of runs.filter((r) => r.stage === 'finetune')) {
      const shared = runs.find((r) => r.stage === 'shared' && r.sweep_value === run.sweep_value)!;
      assert.ok(run.started_at >= shared.finished_at!, `${keyOf(run)} started ${run.started_at}, its shared stage finished ${shared.finished_at}`);
    }

    // The password is in no output and nowhere in the database.
    for (const text of [submitter.out(), ...workers.map((w) => w.out())]) assert.ok(!text.includes(PASSWORD));
    assert.match(submitter.out(), /queued on redis:\/\/:\*\*\*@127\.0\.0\.1/);
    for (const file of fs.readdirSync(dir).filter((f) => f.startsWith('queue.db'))) assert.ok(!fs.readFileSync(path.join(dir, file)).includes(PASSWORD), file);
    assert.deepEqual(query(queueDb, `SELECT status FROM experiments`), [{status: 'completed'}]);
  } finally {
    for (const w of workers) w.child.kill('SIGKILL');
    await redis.stop();
  }
});

test('the submitter killed after queueing, Redis restarted mid-experiment: collect records every run once', {skip: skipWithoutRedis(), timeout: 120_000}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-collect-'));
  const config = tinyConfig(dir, 'collected', '{epochs: 6, batch_size: 8, max_train_examples: 24, max_eval_examples: 12, log_every: 1}');
  const db = path.join(dir, 'ptv2.db');
  const redis = await startRedis();
  const env = {PTV2_QUEUE_URL: redis.url};
  let worker: Proc | undefined;
  try {
    const submitter = start(['run', config, '--queue', 'env', '--plain'], dir, env);
    await until('the jobs to be queued', () => /4 queued on/.test(submitter.out()));
    submitter.child.kill('SIGKILL');
    await submitter.exited;
    assert.deepEqual(query(db, `SELECT status, count(*) AS n FROM runs GROUP BY status`), [{status: 'queued', n: 4}]);

    // Files over 10 kB (FT's trainable state here) stay in the shared output_dir instead of the queue.
    worker = start(['worker'], dir, {...env, PTV2_QUEUE_MAX_FILE_MB: '0.01'});
    const collect = start(['collect', '--db', db, '--plain'], dir, env);
    const before = await until('a first result', () => query(db, `SELECT id FROM runs WHERE status = 'completed'`).length);
    await redis.restart();
    assert.ok(before < 4, 'Redis restarted while runs were left');
    assert.equal(await collect.exited, 0, collect.out());

    const runs = query<RunOf>(db, 'SELECT * FROM runs ORDER BY id');
    assert.deepEqual(runs.map((r) => [r.task, r.method, r.status]), [['rte', 'ft', 'completed'], ['rte', 'pt2', 'completed'], ['cb', 'ft', 'completed'], ['cb', 'pt2', 'completed']]);
    for (const run of runs) assert.equal(metricsOf(db, run.id).filter((m) => (m as {split: string}).split === 'dev' && (m as {name: string}).name === 'accuracy').length, 6, 'one dev accuracy per epoch');
    for (const run of runs) {
      const files = artifactsOf(db, run.id);
      assert.deepEqual(files.map((a) => a.kind), ['dev_predictions', 'dev_scores', 'trainable_state']);
      for (const file of files) assert.equal(createHash('sha256').update(fs.readFileSync(file.path)).digest('hex'), file.sha256, file.path);
    }
    assert.deepEqual(query(db, `SELECT status FROM experiments`), [{status: 'completed'}]);
    assert.deepEqual(query(db, 'PRAGMA integrity_check'), [{integrity_check: 'ok'}]);
    assert.deepEqual(query(db, 'PRAGMA foreign_key_check'), []);

    // Nothing is left on the queue, and collecting again has nothing to do.
    const again = ptv2(['collect', '--db', db], dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to collect/);
  } finally {
    worker?.child.kill('SIGKILL');
    await redis.stop();
  }
});

test('an unreachable queue is one clear error, with the password masked', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-unreachable-'));
  const config = path.join(dir, 'u.yaml');
  fs.writeFileSync(config, `${tinyExperimentHeader(dir, 'u')}methods: [ft]\ntasks:\n  - {name: rte, data: ${path.join(ROOT, 'datasets/superglue/RTE')}}\n`);
  const r = ptv2(['run', config, '--queue', `redis://:${PASSWORD}@127.0.0.1:1`], dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot reach the queue at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
  assert.ok(!r.stderr.includes(PASSWORD) && !r.stdout.includes(PASSWORD));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(!fs.existsSync(path.join(dir, 'ptv2.db')), 'nothing recorded');
});

test('Ctrl-C stops following; a worker outside its --root refuses the jobs, which fail; --resume puts them back and they complete', {skip: skipWithoutRedis(), timeout: 120_000}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-resume-'));
  const config = path.join(dir, 'resumed.yaml');
  fs.writeFileSync(
    config,
    `${tinyExperimentHeader(dir, 'resumed')}methods: [ft]
train: {epochs: 1, batch_size: 8, max_train_examples: 16, max_eval_examples: 8}
tasks:
  - {name: rte, data: ${path.join(ROOT, 'datasets/superglue/RTE')}}
  - {name: cb, data: ${path.join(ROOT, 'datasets/superglue/CB')}}
`,
  );
  const db = path.join(dir, 'ptv2.db');
  const redis = await startRedis();
  const env = {PTV2_QUEUE_URL: redis.url};
  const workers: Proc[] = [];
  try {
    // One attempt per job, so the refusals end the runs at once.
    const submitter = start(['run', config, '--queue', 'env', '--plain'], dir, {...env, PTV2_QUEUE_ATTEMPTS: '1'});
    await until('the jobs to be queued', () => /2 queued on/.test(submitter.out()));
    submitter.child.kill('SIGINT');
    assert.equal(await submitter.exited, 130);
    assert.match(submitter.out(), /stopped following; the jobs stay on the queue.*ptv2 collect --queue redis:\/\/127\.0\.0\.1:\d+ --experiment 1 --db /s);
    assert.deepEqual(query(db, `SELECT status FROM experiments`), [{status: 'queued'}]);

    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-root-'));
    workers.push(start(['worker', '--root', empty], dir, env));
    const collect = start(['collect', '--db', db, '--plain'], dir, env);
    assert.equal(await collect.exited, 1, collect.out());
    const failed = query<RunOf>(db, 'SELECT * FROM runs ORDER BY id');
    assert.deepEqual(failed.map((r) => r.status), ['failed', 'failed']);
    for (const run of failed) assert.match(run.error!, new RegExp(`model.path: ${dir}/model is outside the worker's --root`));
    assert.deepEqual(query(db, `SELECT status FROM experiments`), [{status: 'failed'}]);

    workers[0].child.kill('SIGINT');
    assert.equal(await workers[0].exited, 0, workers[0].out());
    workers.push(start(['worker', '--concurrency', '2'], dir, env));
    const resumed = start(['run', config, '--resume', '--queue', 'env', '--plain'], dir, env);
    assert.equal(await resumed.exited, 0, resumed.out());
    const runs = query<RunOf>(db, 'SELECT * FROM runs ORDER BY id');
    assert.deepEqual(runs.map((r) => [r.id, r.status, r.error, r.attempts, r.pid]), [[failed[0].id, 'completed', null, 1, workers[1].child.pid], [failed[1].id, 'completed', null, 1, workers[1].child.pid]]);
    // --concurrency 2: the worker took both jobs before finishing either.
    const events = workers[1].out().split('\n').map((line) => line.split(' ')[0]).filter((word) => word === 'started' || word === 'completed');
    assert.deepEqual(events, ['started', 'started', 'completed', 'completed'], workers[1].out());
    assert.deepEqual(query(db, `SELECT status FROM experiments`), [{status: 'completed'}]);
  } finally {
    for (const w of workers) w.child.kill('SIGKILL');
    await redis.stop();
  }
});
