/**
 * Failures under --json, through the built CLI: stdout holds exactly one JSON object
 * `{"error": {"message", "file", "line", "field", "hints"}}`, stderr the usual line, and the exit
 * status is non-zero, for run, score, export, sweep and models init. And the order of checks:
 * a typo in a data path is reported at its config line before any checkpoint is created.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ptv2, ROOT, tinyConfig} from '../helpers/cli.js';

interface ErrorJson {
  error: {message: string; file: string | null; line: number | null; field: string | null; hints: string[]};
}

function failsAsJson(args: string[], cwd: string): ErrorJson['error'] {
  const r = ptv2([...args, '--json'], cwd);
  assert.notEqual(r.code, 0, r.stdout);
  let parsed: ErrorJson;
  try {
    parsed = JSON.parse(r.stdout) as ErrorJson;
  } catch {
    assert.fail(`stdout is not one JSON object: ${JSON.stringify(r.stdout)} (stderr ${r.stderr})`);
  }
  assert.deepEqual(Object.keys(parsed), ['error']);
  for (const key of ['message', 'file', 'line', 'field', 'hints']) assert.ok(key in parsed.error, `${key} in ${r.stdout}`);
  assert.ok(Array.isArray(parsed.error.hints));
  assert.match(r.stderr, /^Error: /m);
  assert.ok(r.stderr.includes(parsed.error.message.split('\n')[0]), `stderr ${r.stderr} names the message`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  return parsed.error;
}

test('--json failures: run, score, export, sweep and models init each print one error object', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-json-'));
  const config = tinyConfig(dir, 'json');
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('epochs: 2', 'epochs: 2, lr: fast'));

  const run = failsAsJson(['run', config], dir);
  assert.deepEqual([run.file, run.line, run.field], [config, 10, 'train.lr']);
  assert.match(run.message, /expected a number > 0, got "fast"/);

  const gold = path.join(ROOT, 'datasets/superglue/RTE/val.jsonl');
  const score = failsAsJson(['score', '--task', 'rte', '--gold', gold, '--pred', path.join(dir, 'missing.jsonl')], dir);
  assert.equal(score.file, path.join(dir, 'missing.jsonl'));

  const exported = failsAsJson(['export', '1', '--out', path.join(dir, 'adapter'), '--db', path.join(dir, 'none.db')], dir);
  assert.equal(exported.file, path.join(dir, 'none.db'));

  const sweep = failsAsJson(['sweep', 'prompt-length', config, '--values', '4,8'], dir);
  assert.deepEqual([sweep.file, sweep.field], [config, 'train.lr']);

  fs.mkdirSync(path.join(dir, 'taken'));
  const init = failsAsJson(['models', 'init', '--out', path.join(dir, 'taken')], dir);
  assert.equal(init.file, path.join(dir, 'taken'));
  assert.deepEqual(init.hints, ['pass --force to overwrite it', 'or choose another --out']);

  // A flag oclif itself rejects is reported the same way.
  const flag = failsAsJson(['run', config, '--backend', 'abacus'], dir);
  assert.match(flag.message, /abacus/);
});

test('a typo in a data path is reported at the config line that set it, before the checkpoint is created or the database opened', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-order-'));
  const config = tinyConfig(dir, 'order');
  const text = fs.readFileSync(config, 'utf8').replace('datasets/superglue/CB', 'datasets/superglue/CBB');
  fs.writeFileSync(config, text);
  const line = text.split('\n').findIndex((l) => l.includes('CBB')) + 1;
  const r = ptv2(['run', config], dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line} tasks\\[1\\]\\.data: data directory .*CBB of task cb not found`));
  assert.ok(!fs.existsSync(path.join(dir, 'model')), 'no checkpoint created');
  assert.ok(!fs.readdirSync(dir).some((f) => f.startsWith('.model')), 'no partial checkpoint either');
  assert.ok(!fs.existsSync(path.join(dir, 'ptv2.db')), 'no database created');

  // A database that is not ptv2's is found before the checkpoint too, and left alone.
  fs.writeFileSync(config, text.replace('CBB', 'CB'));
  const foreign = path.join(dir, 'other.db');
  fs.writeFileSync(foreign, 'plain text, not SQLite\n');
  const bad = ptv2(['run', config, '--db', foreign], dir);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, new RegExp(`${foreign.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a SQLite database`));
  assert.ok(!fs.existsSync(path.join(dir, 'model')), 'no checkpoint created');
  assert.equal(fs.readFileSync(foreign, 'utf8'), 'plain text, not SQLite\n');
});
