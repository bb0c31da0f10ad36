/**
 * Jobs that fail because of the database still end as failed jobs: in the output, in the store
 * where it can be written, and in the exit status. A real lock (another process holding
 * BEGIN EXCLUSIVE on the file while a run trains) and failing writes (triggers standing in for a
 * full disk, including the write that would record the failure).
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {createRequire} from 'node:module';
import {Store} from '../../src/store/index.js';
import {ptv2, ROOT, tinyExperimentHeader} from '../helpers/cli.js';

const require = createRequire(import.meta.url);

const BIN = path.join(ROOT, 'bin/run.js');

function config(dir: string, epochs: number): string {
  const file = path.join(dir, 'fail.yaml');
  fs.writeFileSync(
    file,
    `${tinyExperimentHeader(dir, 'fail')}methods: [ft, pt2]
prompt: {length: 4}
train: {epochs: ${epochs}, batch_size: 8, max_train_examples: 64, max_eval_examples: 16, log_every: 1}
tasks:
  - {name: rte, data: ${path.join(ROOT, 'datasets/superglue/RTE')}}
`,
  );
  return file;
}

function statuses(db: string) {
  const sql = new Database(db, {readonly: true});
  const experiments = sql.prepare('SELECT status FROM experiments').all() as {status: string}[];
  const runs = sql.prepare(`SELECT task || '/' || method AS job, status, error FROM runs ORDER BY id`).all() as {job: string; status: string; error: string | null}[];
  const integrity = sql.pragma('integrity_check', {simple: true});
  sql.close();
  return {experiments: experiments.map((e) => e.status), runs, integrity};
}

test('another process holds an exclusive lock for 12 s while a run trains: that run fails naming the database, the others complete, exit 1', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-locked-'));
  const file = config(dir, 40);
  const db = path.join(dir, 'ptv2.db');
  const child = spawn(process.execPath, [BIN, 'run', file, '--plain'], {cwd: dir, env: {...process.env, PTV2_BACKEND: 'wasm'}, stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const locked = new Promise<void>((resolve, reject) => {
    let taken = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (taken || !/^rte\/ft epoch 2\/40 step/m.test(out)) return;
      taken = true;
      // Another program: a second process holding the write lock.
      const locker = spawn(process.execPath, ['-e', `
        const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
        const db = new Database(${JSON.stringify(db)});
        db.exec('BEGIN EXCLUSIVE');
        process.stdout.write('locked\\n');
        setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, 12000);
      `], {stdio: ['ignore', 'pipe', 'inherit']});
      locker.stdout.once('data', () => resolve());
      locker.on('error', reject);
    });
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await locked;
  const code = await exit;
  assert.equal(code, 1, `${out}\n${err}`);
  assert.match(out, /rte\/ft: failed: .*ptv2\.db: cannot record metrics of run 1: database is locked/);
  assert.match(out, /done: 1 of 2 runs completed/);
  assert.match(err, new RegExp(`Error: 1 of 2 runs did not complete: rte/ft failed: ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot record metrics`));
  assert.match(err, /try: see which with: ptv2 report --runs/);
  const state = statuses(db);
  assert.equal(state.integrity, 'ok');
  assert.deepEqual(state.experiments, ['failed']);
  assert.deepEqual(state.runs.map((r) => [r.job, r.status]), [['rte/ft', 'failed'], ['rte/pt2', 'completed']]);
  assert.match(state.runs[0].error!, /database is locked/);
});

test('writes that fail, the one recording the failure included: every job still ends failed in the output, exit 1, the store keeps what it could', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-full-'));
  const file = config(dir, 2);
  const db = path.join(dir, 'ptv2.db');
  // A ptv2 database whose disk is "full" for pt2's metrics and for marking any run failed.
  Store.open(db).close();
  const raw = new Database(db);
  raw.exec(`
    CREATE TRIGGER full_metrics BEFORE INSERT ON metrics
      WHEN (SELECT method FROM runs WHERE id = NEW.run_id) = 'pt2'
      BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
    CREATE TRIGGER full_failed BEFORE UPDATE OF status ON runs
      WHEN NEW.status = 'failed'
      BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
  `);
  raw.close();
  const r = ptv2(['run', file, '--plain'], dir);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /rte\/pt2: failed: .*cannot record metrics of run 2: database or disk is full; the run could not be marked failed either: .*cannot mark run 2 failed: database or disk is full/);
  assert.match(r.stdout, /done: 1 of 2 runs completed/);
  assert.match(r.stderr, /Error: 1 of 2 runs did not complete: rte\/pt2 failed/);
  const state = statuses(db);
  assert.deepEqual(state.experiments, ['failed']);
  // The failure could not be written; the run stays 'running' in the file, and reads as interrupted once its process is gone.
  assert.deepEqual(state.runs.map((r) => [r.job, r.status]), [['rte/ft', 'completed'], ['rte/pt2', 'running']]);
  // As seen 11 s later: the pid is gone and two heartbeats were missed.
  const later = new Database(db);
  later.prepare(`UPDATE runs SET heartbeat_at = ? WHERE status = 'running'`).run(new Date(Date.now() - 11_000).toISOString());
  later.close();
  const report = ptv2(['report', '--runs', '--format', 'json', '--db', db], dir);
  assert.equal(report.code, 0, report.stderr);
  assert.deepEqual((JSON.parse(report.stdout) as {method: string; status: string}[]).map((row) => [row.method, row.status]), [['ft', 'completed'], ['pt2', 'interrupted']]);
});
