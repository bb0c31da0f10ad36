/**
 * Checkpoints appear whole or not at all: `models init` killed with SIGKILL while writing leaves
 * only a hidden partial directory, which the next `models init` or `ptv2 run` removes. And a run
 * whose process went silent (another host, another PID namespace) reads as interrupted in
 * `report --runs`, while one that still looks alive is taken over only with `--resume --force`.
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

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

test('models init killed with SIGKILL mid-write leaves no checkpoint; the next init and run work and clear the leftover', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-atomic-'));
  const out = path.join(dir, 'big');
  // Big enough (~50 M parameters) that writing takes a while.
  const child = spawn(process.execPath, [BIN, 'models', 'init', '--out', out, '--layers', '6', '--hidden', '768', '--heads', '12', '--intermediate', '3072'], {cwd: dir, stdio: 'ignore'});
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const partial = `.big.partial-${child.pid}`;
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(path.join(dir, partial)) && Date.now() < deadline) await sleep(2);
  assert.ok(fs.existsSync(path.join(dir, partial)), 'the partial directory appeared');
  child.kill('SIGKILL');
  await exited;
  assert.ok(!fs.existsSync(out), 'no directory that looks like a checkpoint');
  assert.ok(fs.existsSync(path.join(dir, partial)), 'only the hidden partial one');

  const again = ptv2(['models', 'init', '--out', out], dir);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(fs.readdirSync(out).sort(), ['config.json', 'model.safetensors', 'vocab.txt']);
  assert.ok(!fs.existsSync(path.join(dir, partial)), 'the leftover of the killed process is gone');

  // A run whose model.init checkpoint has a leftover partial sibling (a process killed while creating it).
  const config = tinyConfig(dir, 'leftover');
  const leftover = path.join(dir, '.model.partial-999999999');
  fs.mkdirSync(leftover);
  fs.writeFileSync(path.join(leftover, 'model.safetensors'), 'half');
  const run = ptv2(['run', config, '--json'], dir);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(fs.existsSync(path.join(dir, 'model', 'config.json')));
  assert.ok(!fs.existsSync(leftover));
});

test('a silent run on another host reads as interrupted in report --runs (the file untouched); --resume refuses a live-looking experiment unless --force', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-stale-'));
  const config = tinyConfig(dir, 'stale');
  const db = path.join(dir, 'ptv2.db');
  assert.equal(ptv2(['run', config, '--json'], dir).code, 0);
  // As a process on another machine would leave it: a running experiment with a running run.
  const raw = new Database(db);
  const set = (age: number) => {
    const at = new Date(Date.now() - age * 1000).toISOString();
    raw.prepare(`UPDATE experiments SET status = 'running', finished_at = NULL, host = 'elsewhere', pid = 4242, heartbeat_at = ?`).run(at);
    raw.prepare(`UPDATE runs SET status = 'running', finished_at = NULL, host = 'elsewhere', pid = 4242, heartbeat_at = ? WHERE id = 4`).run(at);
  };
  set(120);
  raw.close();
  const before = fs.readFileSync(db);
  const report = ptv2(['report', '--runs', '--format', 'json', '--db', db], dir);
  assert.equal(report.code, 0, report.stderr);
  assert.deepEqual((JSON.parse(report.stdout) as {status: string}[]).map((r) => r.status), ['completed', 'completed', 'completed', 'interrupted']);
  assert.ok(fs.readFileSync(db).equals(before), 'report wrote nothing');

  // Heartbeat 5 s ago: still alive as far as anyone can tell.
  const fresh = new Database(db);
  fresh.prepare(`UPDATE experiments SET heartbeat_at = ?`).run(new Date(Date.now() - 5000).toISOString());
  fresh.prepare(`UPDATE runs SET heartbeat_at = ? WHERE id = 4`).run(new Date(Date.now() - 5000).toISOString());
  fresh.close();
  const refused = ptv2(['run', config, '--resume'], dir);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /experiment stale #1 is still running \(pid 4242 on elsewhere, last heartbeat \d+ s ago\)/);
  assert.match(refused.stderr, /try: or, if you know it has stopped, take it over: ptv2 run CONFIG --resume --force/);
  assert.ok(!fs.existsSync(path.join(dir, 'out', 'stale-2')));

  const forced = ptv2(['run', config, '--resume', '--force', '--json'], dir);
  assert.equal(forced.code, 0, forced.stderr);
  const summary = JSON.parse(forced.stdout) as {runs: {id: string; resumed: boolean; status: string}[]};
  assert.deepEqual(summary.runs.map((r) => [r.id, r.status, r.resumed]), [['rte/ft', 'completed', true], ['rte/pt2', 'completed', true], ['cb/ft', 'completed', true], ['cb/pt2', 'completed', false]]);
  const sql = new Database(db, {readonly: true});
  const runs = sql.prepare('SELECT id, status, error FROM runs ORDER BY id').all() as {id: number; status: string; error: string | null}[];
  assert.deepEqual(sql.prepare('SELECT status FROM experiments').all(), [{status: 'completed'}]);
  sql.close();
  assert.equal(runs[3].status, 'interrupted');
  assert.match(runs[3].error!, /taken over by process \d+ .*--resume --force/);
  assert.deepEqual(runs.slice(4).map((r) => r.status), ['completed']);
});
