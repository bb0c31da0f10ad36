/**
 * `ptv2 run` on `auto` picks the blas backend when OpenBLAS loads: the output names it with the
 * library and threads, and every stored run records that string in its backend column.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {ROOT, tinyConfig} from '../helpers/cli.js';
import {requireBlas} from '../helpers/blas.js';

const {skip} = requireBlas();

test('ptv2 run on auto computes on blas and records "blas (OpenBLAS …, N threads)" on every run', {skip}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-blas-run-'));
  const config = tinyConfig(dir, 'blas-run');
  const {PTV2_BACKEND: _, ...inherited} = process.env;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/run.js'), 'run', config], {cwd: dir, encoding: 'utf8', env: {...inherited, PTV2_THREADS: '1'}, timeout: 300_000});
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /backend: blas \(OpenBLAS [\d.]+, 1 thread\)/);
  const sql = new Database(path.join(dir, 'ptv2.db'), {readonly: true});
  const runs = sql.prepare('SELECT backend, status FROM runs').all() as {backend: string; status: string}[];
  sql.close();
  assert.equal(runs.length, 4);
  for (const run of runs) {
    assert.equal(run.status, 'completed');
    assert.match(run.backend, /^blas \(OpenBLAS [\d.]+, 1 thread\)$/);
  }
});
