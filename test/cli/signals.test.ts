/**
 * Stopping a real `ptv2 run` (bin/run.js in a child process) with real signals: SIGINT and
 * SIGTERM after training has started end it within a step, with exit 130 / 143, the run and the
 * experiment marked interrupted, an intact SQLite file, and `--resume` completes it afterwards.
 * A second SIGINT exits at once; a SIGINT during pretraining leaves no checkpoint behind.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {ptv2, ROOT, tinyConfig} from '../helpers/cli.js';

const BIN = path.join(ROOT, 'bin/run.js');

/** Two tasks × two methods, 8 steps an epoch for 40 epochs: each run trains for seconds. */
function longConfig(dir: string): string {
  return tinyConfig(dir, 'long', '{epochs: 40, batch_size: 8, max_train_examples: 64, max_eval_examples: 16, log_every: 1}');
}

interface Child {
  exit: Promise<{code: number | null; signal: NodeJS.Signals | null; at: number}>;
  /** Resolves when a stdout line matches. */
  waitFor: (pattern: RegExp) => Promise<string>;
  kill: (signal: NodeJS.Signals) => void;
  output: () => string;
}

function start(args: string[], cwd: string): Child {
  const child = spawn(process.execPath, [BIN, ...args], {cwd, env: {...process.env, PTV2_BACKEND: 'wasm'}, stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  let err = '';
  const waiters: {pattern: RegExp; resolve: (line: string) => void}[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const w of [...waiters]) {
      const match = out.split('\n').find((line) => w.pattern.test(line));
      if (match) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(match);
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<{code: number | null; signal: NodeJS.Signals | null; at: number}>((resolve) => child.on('exit', (code, signal) => resolve({code, signal, at: Date.now()})));
  const timeout = setTimeout(() => child.kill('SIGKILL'), 240_000);
  void exit.then(() => clearTimeout(timeout));
  return {
    exit,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        waiters.push({pattern, resolve});
        void exit.then(() => reject(new Error(`exited before ${pattern}: ${out}\n${err}`)));
      }),
    kill: (signal) => child.kill(signal),
    output: () => `${out}\n--- stderr ---\n${err}`,
  };
}

function inspect(db: string) {
  const sql = new Database(db, {readonly: true});
  const experiments = sql.prepare('SELECT id, status FROM experiments ORDER BY id').all() as {id: number; status: string}[];
  const runs = sql.prepare(`SELECT r.id, r.task || '/' || r.method AS job, r.status, r.error,
      (SELECT count(*) FROM metrics m WHERE m.run_id = r.id AND m.name = 'step_loss') AS steps,
      (SELECT value FROM metrics m WHERE m.run_id = r.id AND m.name = 'total_steps') AS planned
    FROM runs r ORDER BY r.id`).all() as {id: number; job: string; status: string; error: string | null; steps: number; planned: number}[];
  const integrity = sql.pragma('integrity_check', {simple: true});
  sql.close();
  return {experiments, runs, integrity};
}

test('SIGINT, then SIGTERM after --resume, stop training within a step (exit 130, 143); a final --resume completes the experiment', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-signals-'));
  const config = longConfig(dir);
  const db = path.join(dir, 'ptv2.db');

  // SIGINT during the second run.
  const first = start(['run', config, '--plain'], dir);
  await first.waitFor(/^rte\/pt2 epoch 2\/40 step/);
  const sentInt = Date.now();
  first.kill('SIGINT');
  const intExit = await first.exit;
  assert.equal(intExit.code, 130, first.output());
  assert.ok(intExit.at - sentInt < 5000, `exited ${intExit.at - sentInt} ms after SIGINT`);
  assert.match(first.output(), /Error: interrupted by SIGINT/);
  assert.match(first.output(), /rte\/pt2\s+interrupted/);
  assert.match(first.output(), /cb\/ft\s+interrupted/, 'jobs not started are listed as interrupted too');
  let state = inspect(db);
  assert.equal(state.integrity, 'ok');
  assert.deepEqual(state.experiments.map((e) => e.status), ['interrupted']);
  assert.deepEqual(state.runs.map((r) => [r.job, r.status]), [['rte/ft', 'completed'], ['rte/pt2', 'interrupted']]);
  const stopped = state.runs[1];
  assert.equal(stopped.error, 'interrupted by SIGINT');
  assert.ok(stopped.steps < stopped.planned / 2, `stopped at step ${stopped.steps} of ${stopped.planned}`);

  // --resume, then SIGTERM during its first run (rte/pt2 again).
  const second = start(['run', config, '--resume', '--plain'], dir);
  await second.waitFor(/^rte\/pt2 epoch 2\/40 step/);
  const sentTerm = Date.now();
  second.kill('SIGTERM');
  const termExit = await second.exit;
  assert.equal(termExit.code, 143, second.output());
  assert.ok(termExit.at - sentTerm < 5000, `exited ${termExit.at - sentTerm} ms after SIGTERM`);
  state = inspect(db);
  assert.equal(state.integrity, 'ok');
  assert.deepEqual(state.experiments.map((e) => e.status), ['interrupted']);
  assert.deepEqual(state.runs.map((r) => [r.job, r.status]), [['rte/ft', 'completed'], ['rte/pt2', 'interrupted'], ['rte/pt2', 'interrupted']]);
  assert.equal(state.runs[2].error, 'interrupted by SIGTERM');

  // Two SIGINTs in a row: the second does not wait for the step in progress.
  const third = start(['run', config, '--resume', '--plain'], dir);
  await third.waitFor(/^rte\/pt2 epoch 1\/40 step 2\//);
  third.kill('SIGINT');
  third.kill('SIGINT');
  const twice = await third.exit;
  assert.equal(twice.code, 130, third.output());
  state = inspect(db);
  assert.equal(state.integrity, 'ok');
  assert.ok(!state.runs.some((r) => r.status === 'running'), JSON.stringify(state.runs));

  const last = ptv2(['run', config, '--resume', '--json'], dir);
  assert.equal(last.code, 0, last.stderr);
  state = inspect(db);
  assert.deepEqual(state.experiments.map((e) => e.status), ['completed']);
  assert.deepEqual(state.runs.filter((r) => r.status === 'completed').map((r) => r.job), ['rte/ft', 'rte/pt2', 'cb/ft', 'cb/pt2']);
  assert.equal(state.integrity, 'ok');
});

test('SIGINT during pretraining exits 130 promptly and leaves no checkpoint, partial or whole', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-signals-pretrain-'));
  const config = longConfig(dir);
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('max_positions: 96}', 'max_positions: 96, pretrain: {epochs: 3, corpus_scale: 0, batch_size: 8}}'));
  const child = start(['run', config, '--plain'], dir);
  await child.waitFor(/^pretraining epoch 1\/3 step 50\//);
  const sent = Date.now();
  child.kill('SIGINT');
  const exit = await child.exit;
  assert.equal(exit.code, 130, child.output());
  assert.ok(exit.at - sent < 5000, `exited ${exit.at - sent} ms after SIGINT`);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('model')), [], 'no model directory and no partial one');
  assert.ok(!fs.existsSync(path.join(dir, 'ptv2.db')), 'no experiment was written');
});
