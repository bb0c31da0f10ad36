/**
 * Every config under configs/ passes `ptv2 run CONFIG --dry-run` through the built CLI, as a user
 * types it from the repository root: nothing is trained, created or written, and one line per
 * planned job names its task, method and sweep value. Every profile passes too, on a checkpoint
 * that would have the positions a large model has (512).
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {loadConfig} from '../../src/config/load.js';
import {planJobs} from '../../src/config/plan.js';
import {ptv2, ROOT} from '../helpers/cli.js';

function shippedConfigs(dir = path.join(ROOT, 'configs')): string[] {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return shippedConfigs(full);
    return entry.name.endsWith('.yaml') ? [path.relative(ROOT, full)] : [];
  }).sort();
}

/** --set flags that point everything a run would write into `dir`. */
function elsewhere(dir: string): string[] {
  return ['--set', `database=${path.join(dir, 'x.db')}`, '--set', `output_dir=${path.join(dir, 'out')}`, '--set', `model.path=${path.join(dir, 'model')}`];
}

describe('shipped configs', () => {
  const configs = shippedConfigs();
  test('the paper\'s configs are there', () => {
    for (const name of ['superglue', 'ner', 'qa', 'srl', 'multitask', 'ablations/reparameterization', 'ablations/prompt-depth', 'ablations/prompt-length', 'ablations/head']) {
      assert.ok(configs.includes(path.join('configs', `${name}.yaml`)), name);
    }
  });

  for (const file of configs) {
    test(`${file} --dry-run: checks, prints one line per planned job, writes nothing`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-dry-'));
      const r = ptv2(['run', file, '--dry-run', ...elsewhere(dir)], ROOT);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(fs.readdirSync(dir), [], 'no database, outputs or checkpoint');
      const jobs = planJobs(loadConfig(path.join(ROOT, file)).config);
      const lines = r.stdout.split('\n');
      const at = lines.findIndex((line) => line === `${jobs.length} jobs:`);
      assert.ok(at > 0, r.stdout);
      const rows = lines.slice(at + 1, at + 1 + jobs.length).map((line) => line.trim().split(/\s{2,}/));
      rows.forEach((row, i) => {
        const job = jobs[i];
        assert.equal(row[0], job.task);
        assert.ok(row[1].startsWith(job.method), `${row[1]} is ${job.method}`);
        assert.equal(row[2], job.sweepKey === undefined ? '-' : `${job.sweepKey}=${JSON.stringify(job.sweepValue)}`);
      });
      fs.rmSync(dir, {recursive: true});
    });
  }

  for (const file of configs) {
    const profiles = Object.keys(loadConfig(path.join(ROOT, file)).config.profiles ?? {});
    for (const profile of profiles) {
      test(`${file} --profile ${profile} --dry-run on a checkpoint with 512 positions`, () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-dry-'));
        const r = ptv2(['run', file, '--dry-run', '--profile', profile, ...elsewhere(dir), '--set', 'model.init.max_positions=512'], ROOT);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /seed (11|14|44)\n/, 'a reference script\'s seed');
        fs.rmSync(dir, {recursive: true});
      });
    }
  }
});
