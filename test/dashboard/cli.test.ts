/**
 * The built CLI: a real run stores what the learning curves need (each logged step's loss and
 * learning rate, the planned step count), and `ptv2 ui` serves that database on a free port,
 * read-only, until it is signalled.
 */
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import Database from 'better-sqlite3';
import {ROOT, ptv2, tinyConfig} from '../helpers/cli.js';

test('a run stores every logged step\'s loss and learning rate, and ptv2 ui serves the database read-only', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-ui-cli-'));
  const db = path.join(dir, 'ptv2.db');
  // 24 training examples in batches of 8, two epochs, log_every 1: steps 1–6 are all logged.
  const run = ptv2(['run', tinyConfig(dir, 'curves'), '--plain'], dir);
  assert.equal(run.code, 0, run.stderr);
  const sql = new Database(db, {readonly: true});
  const rows = (name: string) => sql.prepare(`SELECT run_id AS run, epoch, step FROM metrics WHERE split = 'train' AND name = ? ORDER BY run_id, step`).all(name) as {run: number; epoch: number; step: number}[];
  const totals = sql.prepare(`SELECT value FROM metrics WHERE split = 'train' AND name = 'total_steps'`).all() as {value: number}[];
  const lossSteps = rows('step_loss');
  const lrSteps = rows('lr');
  sql.close();
  assert.deepEqual(totals.map((t) => t.value), [6, 6, 6, 6]);
  for (const runId of [1, 2, 3, 4]) {
    assert.deepEqual(lossSteps.filter((r) => r.run === runId).map((r) => [r.epoch, r.step]), [[1, 1], [1, 2], [1, 3], [2, 4], [2, 5], [2, 6]]);
    assert.equal(lrSteps.filter((r) => r.run === runId).length, 6);
  }

  const state = () => ({sha: createHash('sha256').update(fs.readFileSync(db)).digest('hex'), mtime: fs.statSync(db).mtimeMs});
  const before = state();
  const ui = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), 'ui', '--db', db, '--port', '0'], {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']});
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      ui.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const found = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (found) resolve(found[1]);
      });
      ui.on('exit', (code) => reject(new Error(`ptv2 ui exited (${code}) before printing its address: ${out}`)));
    });
    assert.match(out, /serving .*ptv2\.db \(read-only\)/);
    const list = (await (await fetch(`${url}api/experiments`)).json()) as {name: string; runs: {completed: number}}[];
    assert.deepEqual(list.map((e) => [e.name, e.runs.completed]), [['curves', 4]]);
    assert.equal((await fetch(`${url}api/experiments/1`)).status, 200);
  } finally {
    const exited = new Promise((resolve) => ui.on('exit', resolve));
    ui.kill('SIGTERM');
    assert.equal(await exited, 0, 'SIGTERM stops ptv2 ui cleanly');
  }
  assert.deepEqual(state(), before);
});

test('ptv2 ui on a missing database exits non-zero naming it, without a stack trace', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-ui-missing-'));
  const r = ptv2(['ui', '--db', path.join(dir, 'nope.db'), '--port', '0'], dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nope\.db: no database here yet/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
