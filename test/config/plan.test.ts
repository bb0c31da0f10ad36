/**
 * The job plan: one job per (sweep value, task, method), in that nesting order, each carrying the
 * config it trains with.
 */

import {describe, test} from 'node:test';
import assert from 'node:assert/strict';

import {parseConfig} from '../../src/config/load.js';
import {planJobs} from '../../src/config/plan.js';

const BASE = `name: plan
model:
  path: m
methods: [ft, pt2]
method_overrides:
  ft:
    train: {lr: 0.0001}
tasks:
  - name: rte
    data: d/RTE
  - name: boolq
    data: d/BoolQ
`;

function plan(text: string) {
  return planJobs(parseConfig(text, 'plan.yaml').config);
}

describe('planJobs', () => {
  test('without a sweep: one job per task and method, tasks outermost', () => {
    const jobs = plan(BASE);
    assert.deepEqual(
      jobs.map((job) => job.id),
      ['rte/ft', 'rte/pt2', 'boolq/ft', 'boolq/pt2'],
    );
    for (const job of jobs) {
      assert.equal(job.stage, 'single');
      assert.equal(job.seed, 42);
      assert.equal(job.sweepKey, undefined);
      assert.equal(job.sweepValue, undefined);
      assert.equal(`${job.task}/${job.method}`, job.id);
    }
  });

  test('each job carries its method overrides and no other method\'s', () => {
    const jobs = plan(BASE);
    assert.deepEqual(
      jobs.map((job) => job.config.train.lr),
      [0.0001, 0.005, 0.0001, 0.005],
    );
  });

  test('a sweep multiplies the jobs, sweep values outermost, with the value applied', () => {
    const jobs = plan(`${BASE}sweep:\n  key: prompt.length\n  values: [4, 8, 16]\n`);
    assert.equal(jobs.length, 3 * 2 * 2);
    assert.deepEqual(jobs.slice(0, 5).map((job) => job.id), [
      'rte/ft/prompt.length=4',
      'rte/pt2/prompt.length=4',
      'boolq/ft/prompt.length=4',
      'boolq/pt2/prompt.length=4',
      'rte/ft/prompt.length=8',
    ]);
    assert.deepEqual(
      jobs.map((job) => job.config.prompt.length),
      [4, 4, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16],
    );
    for (const job of jobs) {
      assert.equal(job.sweepKey, 'prompt.length');
      assert.equal(job.sweepValue, job.config.prompt.length);
    }
    assert.equal(new Set(jobs.map((job) => job.id)).size, jobs.length);
  });

  test('a swept key wins over a method override of the same key', () => {
    const jobs = plan(`${BASE}sweep:\n  key: train.lr\n  values: [0.01, 0.02]\n`);
    const ft = jobs.filter((job) => job.method === 'ft');
    assert.deepEqual(
      ft.map((job) => [job.id, job.config.train.lr]),
      [
        ['rte/ft/train.lr=0.01', 0.01],
        ['boolq/ft/train.lr=0.01', 0.01],
        ['rte/ft/train.lr=0.02', 0.02],
        ['boolq/ft/train.lr=0.02', 0.02],
      ],
    );
  });

  test('a seed sweep sets each job\'s seed', () => {
    const jobs = plan(`${BASE}sweep:\n  key: seed\n  values: [1, 2]\n`);
    assert.deepEqual(
      jobs.map((job) => job.seed),
      [1, 1, 1, 1, 2, 2, 2, 2],
    );
    assert.equal(jobs[4].id, 'rte/ft/seed=2');
  });

  test('planning leaves the config untouched', () => {
    const {config} = parseConfig(`${BASE}sweep:\n  key: prompt.depth\n  values: [1, null]\n`, 'plan.yaml');
    const before = structuredClone(config);
    const jobs = planJobs(config);
    assert.deepEqual(config, before);
    assert.equal(jobs[4].id, 'rte/ft/prompt.depth=null');
    assert.equal(jobs[4].config.prompt.depth, null);
    assert.equal(jobs[0].config.prompt.depth, 1);
  });
});

describe('planJobs with mpt2', () => {
  const MPT2 = BASE.replace('methods: [ft, pt2]', 'methods: [pt2, mpt2]');

  test('one shared stage over every task first, then a fine-tuning job per task that starts from it', () => {
    const jobs = plan(MPT2);
    assert.deepEqual(
      jobs.map((job) => [job.id, job.stage, job.task, job.from ?? null]),
      [
        ['+shared/mpt2', 'shared', 'rte+boolq', null],
        ['rte/pt2', 'single', 'rte', null],
        ['rte/mpt2', 'finetune', 'rte', '+shared/mpt2'],
        ['boolq/pt2', 'single', 'boolq', null],
        ['boolq/mpt2', 'finetune', 'boolq', '+shared/mpt2'],
      ],
    );
    assert.deepEqual(jobs[0].tasks, ['rte', 'boolq']);
  });

  test('the shared stage takes mpt2.shared_epochs and shared_lr; fine-tuning keeps train', () => {
    const jobs = plan(`${MPT2}train: {epochs: 3, lr: 0.01}\nmpt2: {shared_epochs: 7, shared_lr: 0.05}\n`);
    const shared = jobs.find((job) => job.stage === 'shared')!;
    const finetune = jobs.find((job) => job.stage === 'finetune')!;
    assert.deepEqual([shared.config.train.epochs, shared.config.train.lr], [7, 0.05]);
    assert.deepEqual([finetune.config.train.epochs, finetune.config.train.lr], [3, 0.01]);
    // Without them, both stages train as train says (after method_overrides.mpt2).
    const plain = plan(`${MPT2}method_overrides:\n  mpt2:\n    train: {lr: 0.02}\n`.replace('method_overrides:\n  ft:\n    train: {lr: 0.0001}\n', ''));
    assert.deepEqual(plain.filter((job) => job.method === 'mpt2').map((job) => job.config.train.lr), [0.02, 0.02, 0.02]);
  });

  test('in a sweep, each value has its own shared stage, and its fine-tuning jobs start from that one', () => {
    const jobs = plan(`${MPT2}sweep: {key: prompt.length, values: [4, 8]}\n`).filter((job) => job.method === 'mpt2');
    assert.deepEqual(
      jobs.map((job) => [job.id, job.from ?? null, job.config.prompt.length]),
      [
        ['+shared/mpt2/prompt.length=4', null, 4],
        ['rte/mpt2/prompt.length=4', '+shared/mpt2/prompt.length=4', 4],
        ['boolq/mpt2/prompt.length=4', '+shared/mpt2/prompt.length=4', 4],
        ['+shared/mpt2/prompt.length=8', null, 8],
        ['rte/mpt2/prompt.length=8', '+shared/mpt2/prompt.length=8', 8],
        ['boolq/mpt2/prompt.length=8', '+shared/mpt2/prompt.length=8', 8],
      ],
    );
  });
});
