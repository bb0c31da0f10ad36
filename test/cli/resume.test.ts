/**
 * `ptv2 run --resume`: an experiment stopped part-way goes on where it stopped. Completed runs
 * stand untouched, MPT-2 fine-tuning starts from a shared stage an earlier process completed, and
 * a changed config or a missing experiment is refused before anything is written.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {loadConfig} from '../../src/config/load.js';
import {Experiment} from '../../src/experiment/experiment.js';
import {ptv2, ROOT, tinyExperimentHeader} from '../helpers/cli.js';

function config(dir: string): string {
  const file = path.join(dir, 'resume.yaml');
  fs.writeFileSync(
    file,
    `${tinyExperimentHeader(dir, 'resume', 48)}backend: wasm
methods: [pt2, mpt2]
prompt: {length: 4}
train: {epochs: 1, batch_size: 8, max_train_examples: 16, max_eval_examples: 8}
tasks:
  - {name: rte, data: ${ROOT}/datasets/superglue/RTE}
  - {name: cb, data: ${ROOT}/datasets/superglue/CB}
`,
  );
  return file;
}

interface Row {
  id: number;
  task: string;
  method: string;
  stage: string;
  status: string;
  best_value: number | null;
  params_json: string;
}

function runsOf(db: string): Row[] {
  const sql = new Database(db, {readonly: true});
  const rows = sql.prepare('SELECT id, task, method, stage, status, best_value, params_json FROM runs ORDER BY id').all() as Row[];
  sql.close();
  return rows;
}

test('an interrupted experiment resumes: finished runs stand, the rest run, MPT-2 fine-tunes from the earlier shared stage', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-resume-'));
  const file = config(dir);
  const db = path.join(dir, 'ptv2.db');

  // A first process completes the shared stage and rte/pt2, then is stopped.
  const first = await Experiment.prepare(loadConfig(file));
  assert.deepEqual(first.jobs.map((j) => j.id), ['+shared/mpt2', 'rte/pt2', 'rte/mpt2', 'cb/pt2', 'cb/mpt2']);
  for (const job of first.jobs.slice(0, 2)) assert.equal((await first.runJob(job)).status, 'completed');
  first.interrupt();
  first.weights.dispose();
  const before = runsOf(db);
  assert.deepEqual(before.map((r) => [r.task, r.method, r.status]), [['rte+cb', 'mpt2', 'completed'], ['rte', 'pt2', 'completed']]);

  const resumed = ptv2(['run', file, '--resume', '--json'], dir);
  assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
  const summary = JSON.parse(resumed.stdout) as {experimentId: number; runs: {id: string; status: string; resumed: boolean; runId: number}[]};
  assert.deepEqual(summary.runs.map((r) => [r.id, r.status, r.resumed]), [
    ['+shared/mpt2', 'completed', true],
    ['rte/pt2', 'completed', true],
    ['rte/mpt2', 'completed', false],
    ['cb/pt2', 'completed', false],
    ['cb/mpt2', 'completed', false],
  ]);
  // The earlier runs are the same rows, unchanged; three new rows in the same experiment.
  const after = runsOf(db);
  assert.deepEqual(after.slice(0, 2), before);
  assert.deepEqual(summary.runs.slice(0, 2).map((r) => r.runId), before.map((r) => r.id));
  assert.deepEqual(after.slice(2).map((r) => [r.task, r.method, r.stage, r.status]), [
    ['rte', 'mpt2', 'finetune', 'completed'],
    ['cb', 'pt2', 'single', 'completed'],
    ['cb', 'mpt2', 'finetune', 'completed'],
  ]);
  for (const r of after.filter((x) => x.stage === 'finetune')) assert.equal((JSON.parse(r.params_json) as {from: string}).from, '+shared/mpt2');
  const sql = new Database(db, {readonly: true});
  const experiments = sql.prepare('SELECT id, status FROM experiments').all();
  sql.close();
  assert.deepEqual(experiments, [{id: summary.experimentId, status: 'completed'}]);

  // Resuming a finished experiment runs nothing.
  const again = ptv2(['run', file, '--resume', '--json'], dir);
  assert.equal(again.code, 0, again.stderr);
  assert.ok((JSON.parse(again.stdout) as {runs: {resumed: boolean}[]}).runs.every((r) => r.resumed));
  assert.equal(runsOf(db).length, 5);
});

test('resume is refused for a changed config and when there is nothing to resume, without writing anything', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-resume-bad-'));
  const file = config(dir);
  const none = ptv2(['run', file, '--resume'], dir);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /resume\.yaml: no experiment named "resume" in .*ptv2\.db to resume\n\s+try: run without --resume to start it/);

  const ran = ptv2(['run', file.replace(/$/, ''), '--json'], dir);
  assert.equal(ran.code, 0, ran.stderr);
  const count = runsOf(path.join(dir, 'ptv2.db')).length;
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('length: 4', 'length: 6'));
  const changed = ptv2(['run', file, '--resume'], dir);
  assert.notEqual(changed.code, 0);
  assert.match(changed.stderr, /resume\.yaml: the config has changed since experiment resume #1 ran/);
  assert.doesNotMatch(changed.stderr, /\n\s+at /);
  assert.equal(runsOf(path.join(dir, 'ptv2.db')).length, count);
});
