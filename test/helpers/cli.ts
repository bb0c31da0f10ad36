/**
 * Running the built CLI (`bin/run.js`, as users run it) from tests: a tiny config on ptv2's sample
 * data, one-epoch runs and `ptv2 score` on the prediction files they wrote.
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/run.js');

export function ptv2(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd, encoding: 'utf8', env: {...process.env, PTV2_BACKEND: 'wasm'}, timeout: 300_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

/**
 * The head of a test config: name, a database and outputs inside `dir`, and a one-layer random
 * BERT (hidden 16) created there on first use, `maxLength` tokens per input.
 */
export function tinyExperimentHeader(dir: string, name: string, maxLength = 64): string {
  return `name: ${name}
database: ${path.join(dir, 'ptv2.db')}
output_dir: ${path.join(dir, 'out')}
model:
  path: ${path.join(dir, 'model')}
  init: {layers: 1, hidden: 16, heads: 2, intermediate: 32, max_positions: 96}
  max_length: ${maxLength}
`;
}

/** rte and cb × ft and pt2 on the tiny model; `train` replaces the short default schedule. */
export function tinyConfig(dir: string, name: string, train = '{epochs: 2, batch_size: 8, max_train_examples: 24, max_eval_examples: 12, log_every: 1}'): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(
    file,
    `${tinyExperimentHeader(dir, name)}methods: [ft, pt2]
prompt: {length: 4}
train: ${train}
tasks:
  - {name: rte, data: ${path.join(ROOT, 'datasets/superglue/RTE')}}
  - {name: cb, data: ${path.join(ROOT, 'datasets/superglue/CB')}}
`,
  );
  return file;
}

/** A stored run with its dev prediction files, as `ptv2 score` needs them. */
export interface ScoredRun {
  task: string;
  metric: string;
  best: number;
  pred: string;
  naProb: string | null;
}

/** One epoch of `method` on `tasks` (YAML flow mappings), every dev example kept; the runs it stored. */
export function runOneEpoch(name: string, method: string, tasks: string[]): {dir: string; runs: ScoredRun[]} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ptv2-${name}-`));
  const config = tinyConfig(dir, name);
  fs.writeFileSync(
    config,
    fs
      .readFileSync(config, 'utf8')
      .replace('methods: [ft, pt2]', `methods: [${method}]`)
      .replace('epochs: 2', 'epochs: 1')
      .replace(', max_eval_examples: 12', '')
      .replace(/tasks:[\s\S]*/, `tasks:\n${tasks.map((t) => `  - ${t}\n`).join('')}`),
  );
  const run = ptv2(['run', config], dir);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  const sql = new Database(path.join(dir, 'ptv2.db'), {readonly: true});
  const runs = sql
    .prepare(
      `SELECT r.task, r.key_metric AS metric, r.best_value AS best, a.path AS pred,
              (SELECT n.path FROM artifacts n WHERE n.run_id = r.id AND n.kind = 'dev_na_probs') AS naProb
       FROM runs r JOIN artifacts a ON a.run_id = r.id AND a.kind = 'dev_predictions'`,
    )
    .all() as ScoredRun[];
  sql.close();
  return {dir, runs};
}

/** `ptv2 score --json` on a run's prediction files against the gold file. */
export function scoreRun(r: ScoredRun, gold: string, dir: string): Record<string, number> {
  const args = ['score', '--task', r.task, '--gold', gold, '--pred', r.pred, '--json'];
  const scored = ptv2(r.naProb === null ? args : [...args, '--na-prob', r.naProb], dir);
  assert.equal(scored.code, 0, scored.stderr);
  return JSON.parse(scored.stdout) as Record<string, number>;
}
