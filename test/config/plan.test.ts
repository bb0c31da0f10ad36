/**
 * The job plan: one job per (sweep value, task, method), in that nesting order, each carrying the
 * config it trains with.
 */

import {describe, test} from 'node:test';
import assert from 'node:assert/strict';

import {parseConfig} from '../../src/config/load.js';
import {planJobs, sweepNotes} from '../../src/config/plan.js';

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

  test('a sweep multiplies the jobs the key reaches, values outermost; FT, which has no prompt, runs once as a reference', () => {
    const jobs = plan(`${BASE}sweep:\n  key: prompt.length\n  values: [4, 8, 16]\n`);
    assert.deepEqual(jobs.map((job) => job.id), [
      'rte/ft',
      'rte/pt2/prompt.length=4',
      'boolq/ft',
      'boolq/pt2/prompt.length=4',
      'rte/pt2/prompt.length=8',
      'boolq/pt2/prompt.length=8',
      'rte/pt2/prompt.length=16',
      'boolq/pt2/prompt.length=16',
    ]);
    const pt2 = jobs.filter((job) => job.method === 'pt2');
    assert.deepEqual(pt2.map((job) => job.config.prompt.length), [4, 4, 8, 8, 16, 16]);
    for (const job of pt2) {
      assert.equal(job.sweepKey, 'prompt.length');
      assert.equal(job.sweepValue, job.config.prompt.length);
      assert.equal(job.reference, undefined);
    }
    const ft = jobs.filter((job) => job.method === 'ft');
    for (const job of ft) {
      assert.equal(job.sweepKey, 'prompt.length');
      assert.equal('sweepValue' in job, false);
      assert.equal(job.reference, true);
      // At the config's own value (the schema default, 16), which FT does not read anyway.
      assert.equal(job.config.prompt.length, 16);
    }
    assert.equal(new Set(jobs.map((job) => job.id)).size, jobs.length);
  });

  test('a job\'s seed does not depend on the swept value: the same task and method draw the same numbers at every value', () => {
    const jobs = plan(`${BASE}sweep:\n  key: prompt.depth\n  values: [1, null]\n`);
    const seedOf = (id: string) => jobs.find((job) => job.id === id)!.runSeed;
    assert.equal(seedOf('rte/pt2/prompt.depth=1'), seedOf('rte/pt2/prompt.depth=null'));
    assert.notEqual(seedOf('rte/pt2/prompt.depth=1'), seedOf('boolq/pt2/prompt.depth=1'));
    assert.notEqual(seedOf('rte/pt2/prompt.depth=1'), seedOf('rte/ft'));
    // The same seed as the job has without a sweep, so a sweep point reproduces the plain run.
    const plain = plan(BASE);
    assert.equal(seedOf('rte/pt2/prompt.depth=1'), plain.find((job) => job.id === 'rte/pt2')!.runSeed);
    assert.equal(seedOf('rte/ft'), plain.find((job) => job.id === 'rte/ft')!.runSeed);
    for (const job of jobs) assert.equal(job.seed, 42);
  });

  test('method_overrides win over a swept key: the method keeps its own value and runs once, with a note saying so', () => {
    const text = `${BASE}sweep:\n  key: train.lr\n  values: [0.01, 0.02]\n`;
    const {config} = parseConfig(text, 'plan.yaml');
    const jobs = planJobs(config);
    assert.deepEqual(
      jobs.map((job) => [job.id, job.config.train.lr]),
      [
        ['rte/ft', 0.0001],
        ['rte/pt2/train.lr=0.01', 0.01],
        ['boolq/ft', 0.0001],
        ['boolq/pt2/train.lr=0.01', 0.01],
        ['rte/pt2/train.lr=0.02', 0.02],
        ['boolq/pt2/train.lr=0.02', 0.02],
      ],
    );
    assert.deepEqual(sweepNotes(config, jobs), [
      {method: 'ft', reason: 'method_overrides.ft.train.lr (0.0001) wins over the sweep; it runs once, as a reference for the swept runs'},
    ]);
    // A key the override does not set is swept for that method too.
    const epochs = plan(`${BASE}sweep:\n  key: train.epochs\n  values: [1, 2]\n`);
    assert.deepEqual(epochs.filter((job) => job.method === 'ft').map((job) => [job.id, job.config.train.epochs]), [
      ['rte/ft/train.epochs=1', 1],
      ['boolq/ft/train.epochs=1', 1],
      ['rte/ft/train.epochs=2', 2],
      ['boolq/ft/train.epochs=2', 2],
    ]);
  });

  test('each method is swept over exactly the prompt keys it reads', () => {
    const all = BASE.replace('methods: [ft, pt2]', 'methods: [ft, pt, prefix, pt2]');
    const CASES: {key: string; values: string; swept: string[]}[] = [
      {key: 'prompt.length', values: '[4, 8]', swept: ['pt', 'prefix', 'pt2']},
      {key: 'prompt.depth', values: '[1, null]', swept: ['pt2']},
      {key: 'prompt.reparameterize', values: '[true, false]', swept: ['pt2']},
      {key: 'prompt.dropout', values: '[0, 0.2]', swept: ['pt', 'prefix', 'pt2']},
      {key: 'train.batch_size', values: '[4, 8]', swept: ['ft', 'pt', 'prefix', 'pt2']},
      {key: 'seed', values: '[1, 2]', swept: ['ft', 'pt', 'prefix', 'pt2']},
    ];
    for (const {key, values, swept} of CASES) {
      const {config} = parseConfig(`${all}sweep: {key: ${key}, values: ${values}}\n`, 'plan.yaml');
      const jobs = planJobs(config);
      const sweptMethods = [...new Set(jobs.filter((job) => !job.reference).map((job) => job.method))];
      assert.deepEqual(sweptMethods, swept, key);
      assert.equal(jobs.filter((job) => job.reference).length, 2 * (4 - swept.length), key);
      assert.deepEqual(sweepNotes(config, jobs).map((n) => n.method), ['ft', 'pt', 'prefix', 'pt2'].filter((m) => !swept.includes(m)), key);
    }
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
    const pt2 = jobs.filter((job) => job.method === 'pt2');
    assert.equal(pt2[2].id, 'rte/pt2/prompt.depth=null');
    assert.equal(pt2[2].config.prompt.depth, null);
    assert.equal(pt2[0].config.prompt.depth, 1);
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

  test('with mpt2.shared_lr set, an lr sweep leaves the shared stage alone: it runs once and every swept fine-tuning starts from it', () => {
    const text = `${MPT2}mpt2: {shared_lr: 0.05}\nsweep: {key: train.lr, values: [0.01, 0.02]}\n`;
    const {config} = parseConfig(text, 'plan.yaml');
    const jobs = planJobs(config).filter((job) => job.method === 'mpt2');
    assert.deepEqual(
      jobs.map((job) => [job.id, job.from ?? null, job.config.train.lr, job.reference ?? false]),
      [
        ['+shared/mpt2', null, 0.05, true],
        ['rte/mpt2/train.lr=0.01', '+shared/mpt2', 0.01, false],
        ['boolq/mpt2/train.lr=0.01', '+shared/mpt2', 0.01, false],
        ['rte/mpt2/train.lr=0.02', '+shared/mpt2', 0.02, false],
        ['boolq/mpt2/train.lr=0.02', '+shared/mpt2', 0.02, false],
      ],
    );
    assert.deepEqual(sweepNotes(config, planJobs(config)).map((n) => [n.method, n.stage]), [['mpt2', 'shared']]);
  });
});

describe('the head key', () => {
  test('a task\'s own head wins over the top level; a head sweep wins over both and reaches every method, FT included', () => {
    const own = plan(`${BASE.replace('    data: d/RTE\n', '    data: d/RTE\n    head: verbalizer\n    verbalizer: {words: {entailment: so}}\n')}verbalizer: {train_lm_head: true}\n`);
    assert.deepEqual(own.map((job) => [job.id, job.config.head]), [['rte/ft', 'verbalizer'], ['rte/pt2', 'verbalizer'], ['boolq/ft', 'linear'], ['boolq/pt2', 'linear']]);
    assert.deepEqual(own[0].config.verbalizer, {train_lm_head: true, words: {entailment: 'so'}}, 'a task\'s verbalizer settings merge over the top level\'s');
    const swept = plan(`${BASE.replace('    data: d/RTE\n', '    data: d/RTE\n    head: verbalizer\n')}sweep: {key: head, values: [linear, verbalizer]}\n`);
    assert.deepEqual(
      swept.map((job) => [job.id, job.config.head, job.reference ?? false]),
      [
        ['rte/ft/head=linear', 'linear', false], ['rte/pt2/head=linear', 'linear', false], ['boolq/ft/head=linear', 'linear', false], ['boolq/pt2/head=linear', 'linear', false],
        ['rte/ft/head=verbalizer', 'verbalizer', false], ['rte/pt2/head=verbalizer', 'verbalizer', false], ['boolq/ft/head=verbalizer', 'verbalizer', false], ['boolq/pt2/head=verbalizer', 'verbalizer', false],
      ],
    );
  });
});
