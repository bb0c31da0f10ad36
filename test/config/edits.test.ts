/**
 * Per-task overrides, `--set KEY=VALUE` and profiles: which value each job trains with (the more
 * specific key wins), the text a run records, and the exact messages for bad input.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';

import {ConfigError, parseConfig} from '../../src/config/load.js';
import {planJobs} from '../../src/config/plan.js';
import {UserError} from '../../src/errors.js';

const CONFIG = `name: edits
model: {path: m}
methods: [ft, pt2]
train: {epochs: 5, lr: 0.01}
method_overrides:
  ft: {train: {lr: 0.002}}
tasks:
  - name: rte
    data: d/RTE
    train: {epochs: 7}
    method_overrides: {pt2: {prompt: {length: 4}, train: {lr: 0.03}}}
  - name: cb
    data: d/CB
    seed: 11
profiles:
  big:
    description: a test recipe
    train: {batch_size: 32}
    tasks:
      cb:
        max_length: 100
        method_overrides: {pt2: {prompt: {length: 64}}}
      wsc: {seed: 3}
`;

/** `task/method` → the settings it trains with. */
function settings(text: string, edits = {}) {
  const jobs = planJobs(parseConfig(text, 'c.yaml', edits).config);
  return Object.fromEntries(jobs.map((j) => [j.id, {epochs: j.config.train.epochs, lr: j.config.train.lr, batch: j.config.train.batch_size, P: j.config.prompt.length, seed: j.seed}]));
}

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected an error');
}

describe('per-task overrides', () => {
  test('top level < method_overrides < tasks[].train/prompt/seed < tasks[].method_overrides', () => {
    assert.deepEqual(settings(CONFIG), {
      'rte/ft': {epochs: 7, lr: 0.002, batch: 16, P: 16, seed: 42},
      'rte/pt2': {epochs: 7, lr: 0.03, batch: 16, P: 4, seed: 42},
      'cb/ft': {epochs: 5, lr: 0.002, batch: 16, P: 16, seed: 11},
      'cb/pt2': {epochs: 5, lr: 0.01, batch: 16, P: 16, seed: 11},
    });
  });

  test('a sweep value wins over a task\'s own key', () => {
    const swept = settings(`${CONFIG}sweep: {key: train.epochs, values: [2]}\n`);
    assert.equal(swept['rte/ft/train.epochs=2'].epochs, 2);
  });

  test('task overrides are checked by the schema with their line', () => {
    const text = CONFIG.replace('train: {epochs: 7}', 'train: {epochs: 0, lrr: 1}');
    const error = (() => {
      try {
        parseConfig(text, 'c.yaml');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.message.split('\n').sort(), [
      'c.yaml:10 tasks[0].train.epochs: expected an integer >= 1, got 0',
      'c.yaml:10 tasks[0].train.lrr: unknown key "lrr" (did you mean "lr"?)',
    ]);
  });

  test('mpt2 fine-tuning cannot reshape the shared prompt per task', () => {
    const text = CONFIG.replace('methods: [ft, pt2]', 'methods: [ft, mpt2]').replace('{pt2: {prompt: {length: 4}, train: {lr: 0.03}}}', '{mpt2: {prompt: {length: 4}}}');
    assert.equal(
      messageOf(() => planJobs(parseConfig(text, 'c.yaml').config)),
      'tasks[0].method_overrides.mpt2.prompt.length: mpt2 fine-tunes the shared prompt of every task, so a task cannot change prompt.length; set it for mpt2 as a whole (method_overrides.mpt2.prompt.length)',
    );
  });
});

describe('--set', () => {
  test('sets any key, tasks by name or index, values as YAML; the task\'s own key still wins', () => {
    const got = settings(CONFIG, {sets: ['train.epochs=9', 'tasks.cb.train.lr=0.5', 'tasks[0].seed=1', 'methods=[pt2]']});
    assert.deepEqual(got, {
      'rte/pt2': {epochs: 7, lr: 0.03, batch: 16, P: 4, seed: 1},
      'cb/pt2': {epochs: 9, lr: 0.5, batch: 16, P: 16, seed: 11},
    });
  });

  test('the recorded text holds the values and loads to the same config with no flags', () => {
    const edited = parseConfig(CONFIG, 'c.yaml', {sets: ['tasks.cb.train.lr=0.5']});
    assert.match(edited.text, /^# ptv2: --set tasks\.cb\.train\.lr=0\.5 merged into this text/);
    assert.deepEqual(parseConfig(edited.text, 'c.yaml').config, edited.config);
    assert.equal(parseConfig(CONFIG, 'c.yaml', {}).text, CONFIG, 'no edits: the file\'s own text');
  });

  const BAD: [string[], string][] = [
    [['train.lr=fast'], '--set train.lr: expected a number > 0, got "fast"'],
    [['train.lrr=1'], '--set train.lrr: unknown key "lrr" (did you mean "lr"?)'],
    [['tasks.wsc.train.lr=1'], '--set tasks.wsc.train.lr: the config has no task "wsc"'],
    [['tasks[5].seed=1'], '--set tasks[5].seed: the config has 2 task(s), so there is no tasks[5]'],
    [['train={lr: -1}'], '--set train (train.lr): expected a number > 0, got -1'],
    [['lr'], '--set: expected KEY=VALUE, got "lr"'],
    [['prompt.length=[1'], '--set prompt.length: the value is not YAML: Flow sequence must end with a ]'],
  ];
  for (const [sets, expected] of BAD) {
    test(`${sets.join(' ')} → ${expected}`, () => assert.equal(messageOf(() => parseConfig(CONFIG, 'c.yaml', {sets})), expected));
  }
});

describe('profiles', () => {
  test('--profile merges the profile over the config, tasks by name; a task the config lacks is skipped', () => {
    const got = settings(CONFIG, {profile: 'big'});
    assert.deepEqual(got['cb/pt2'], {epochs: 5, lr: 0.01, batch: 32, P: 64, seed: 11});
    assert.deepEqual(got['rte/pt2'], {epochs: 7, lr: 0.03, batch: 32, P: 4, seed: 42});
    const config = parseConfig(CONFIG, 'c.yaml', {profile: 'big'}).config;
    assert.equal(config.tasks[1].max_length, 100);
  });

  test('--set wins over the profile, and the recorded text does not apply the profile twice', () => {
    const edited = parseConfig(CONFIG, 'c.yaml', {profile: 'big', sets: ['train.batch_size=8']});
    assert.equal(edited.config.train.batch_size, 8);
    assert.equal(edited.config.profile, null);
    assert.deepEqual(parseConfig(edited.text, 'c.yaml').config, edited.config);
  });

  test('profile: in the config applies it without a flag', () => {
    assert.equal(settings(`${CONFIG}profile: big\n`)['cb/ft'].batch, 32);
  });

  test('an unknown profile names the ones there are; a bad profile value fails with its line whether chosen or not', () => {
    assert.equal(messageOf(() => parseConfig(CONFIG, 'c.yaml', {profile: 'bigger'})), '--profile: no profile "bigger" in the config');
    assert.equal(messageOf(() => parseConfig(`${CONFIG}profile: small\n`, 'c.yaml')), 'c.yaml:24 profile: no profile "small" in the config');
    assert.equal(
      messageOf(() => parseConfig(CONFIG.replace('train: {batch_size: 32}', 'train: {batch_size: 0}'), 'c.yaml')),
      'c.yaml:18 profiles.big.train.batch_size: expected an integer >= 1, got 0',
    );
  });
});
