/**
 * Experiment config loading: defaults, error messages with file/line/key path, overrides and
 * setting keys by path.
 */

import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  applyOverrides,
  ConfigError,
  formatKeyPath,
  loadConfig,
  parseConfig,
  parseKeyPath,
  setByPath,
} from '../../src/config/load.js';
import type {ConfigIssue} from '../../src/config/load.js';
import {METHODS} from '../../src/config/schema.js';
import {UserError} from '../../src/errors.js';

const MINIMAL = `name: quickstart
model:
  path: runs/models/tiny-bert
methods: [ft, pt2]
tasks:
  - name: rte
    data: datasets/superglue/RTE
`;

/** The ConfigError parseConfig throws for `text`. */
function configError(text: string): ConfigError {
  try {
    parseConfig(text, 'configs/x.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the config to be rejected');
}

describe('parseConfig defaults', () => {
  test('a minimal config is completed with every documented default', () => {
    const {config, text, file} = parseConfig(MINIMAL, 'configs/x.yaml');
    assert.equal(text, MINIMAL);
    assert.equal(file, 'configs/x.yaml');
    assert.deepEqual(config, {
      name: 'quickstart',
      seed: 42,
      backend: 'auto',
      database: 'runs/ptv2.db',
      output_dir: 'runs',
      profile: null,
      model: {path: 'runs/models/tiny-bert', max_length: null, lowercase: null, use_pooler: true},
      methods: ['ft', 'pt2'],
      mpt2: {shared_epochs: null, shared_lr: null},
      head: 'linear',
      prompt: {
        length: 16,
        reparameterize: false,
        reparam_hidden: 512,
        dropout: 0.1,
        depth: null,
        depth_order: 'ascending',
        shift_positions: true,
        init_std: 0.02,
        init_from: null,
        encoder: 'lstm',
        init: 'random',
        init_words: null,
      },
      train: {
        epochs: 3,
        batch_size: 16,
        eval_batch_size: 32,
        lr: 0.005,
        weight_decay: 0.01,
        warmup_ratio: 0.1,
        max_grad_norm: 1.0,
        dropout: 0.1,
        patience: null,
        max_train_examples: null,
        max_eval_examples: null,
        log_every: 10,
      },
      tasks: [
        {
          name: 'rte',
          data: 'datasets/superglue/RTE',
          train_file: null,
          dev_file: null,
          test_file: null,
          max_length: null,
          metric: null,
          format: null,
        },
      ],
    });
  });

  test('an empty model.init mapping is filled with the generated checkpoint defaults', () => {
    const text = MINIMAL.replace('  path: runs/models/tiny-bert\n', '  path: m\n  init: {}\n');
    const {config} = parseConfig(text, 'x.yaml');
    assert.deepEqual(config.model.init, {layers: 2, hidden: 64, heads: 4, intermediate: 256, max_positions: 512, type: 'bert'});
  });

  test('values the user gives replace defaults and keep the ones not given', () => {
    const text = `${MINIMAL}prompt:\n  length: 8\n  depth: 3\ntrain:\n  lr: 1e-3\n`;
    const {config} = parseConfig(text, 'x.yaml');
    assert.equal(config.prompt.length, 8);
    assert.equal(config.prompt.depth, 3);
    assert.equal(config.prompt.reparam_hidden, 512);
    assert.equal(config.train.lr, 0.001);
    assert.equal(config.train.epochs, 3);
  });

  test('the supported methods are ft, pt, ptv1, prefix, pt2 and mpt2', () => {
    assert.deepEqual([...METHODS], ['ft', 'pt', 'ptv1', 'prefix', 'pt2', 'mpt2']);
  });

  test('ptv1, its prompt encoder, pt init words, and the verbalizer head at the top level and per task', () => {
    const text = `${MINIMAL.replace('[ft, pt2]', '[pt, ptv1]')}    head: verbalizer
    verbalizer: {words: {entailment: yes, not_entailment: no}, template: "{premise} ? [MASK] , {hypothesis}"}
prompt: {encoder: mlp, init: words, init_words: [good, bad]}
verbalizer: {train_lm_head: true}
sweep: {key: head, values: [linear, verbalizer]}
`;
    const {config} = parseConfig(text, 'x.yaml');
    assert.deepEqual(config.methods, ['pt', 'ptv1']);
    assert.deepEqual([config.prompt.encoder, config.prompt.init, config.prompt.init_words], ['mlp', 'words', ['good', 'bad']]);
    assert.equal(config.head, 'linear');
    assert.deepEqual(config.verbalizer, {train_lm_head: true});
    assert.equal(config.tasks[0].head, 'verbalizer');
    assert.deepEqual(config.tasks[0].verbalizer, {words: {entailment: 'yes', not_entailment: 'no'}, template: '{premise} ? [MASK] , {hypothesis}'});
  });
});

describe('parseConfig errors', () => {
  const CASES: {name: string; input: string; expected: ConfigIssue[]}[] = [
    {
      name: 'a non-number learning rate names file, line, key, expectation and the value',
      input: `${MINIMAL}train:\n  epochs: 2\n  lr: fast\n`,
      expected: [{file: 'configs/x.yaml', line: 10, path: 'train.lr', message: 'expected a number > 0, got "fast"'}],
    },
    {
      name: 'an unknown key is reported at its own line with the closest valid key',
      input: `${MINIMAL}train:\n  lrr: 0.01\n`,
      expected: [{file: 'configs/x.yaml', line: 9, path: 'train.lrr', message: 'unknown key "lrr" (did you mean "lr"?)'}],
    },
    {
      name: 'an unknown key far from every valid key gets no suggestion',
      input: `${MINIMAL}colour: blue\n`,
      expected: [{file: 'configs/x.yaml', line: 8, path: 'colour', message: 'unknown key "colour"'}],
    },
    {
      name: 'a wrong enum value lists the allowed values',
      input: `backend: gpu\n${MINIMAL}`,
      expected: [
        {
          file: 'configs/x.yaml',
          line: 1,
          path: 'backend',
          message: 'expected one of "auto", "tensorflow", "blas", "wasm", "cpu", got "gpu" (did you mean "cpu"?)',
        },
      ],
    },
    {
      name: 'two problems are reported together, in line order',
      input: MINIMAL.replace('methods: [ft, pt2]', 'methods: [ft, pt9]') + 'seed: -1\n',
      expected: [
        {file: 'configs/x.yaml', line: 4, path: 'methods[1]', message: 'expected one of "ft", "pt", "ptv1", "prefix", "pt2", "mpt2", got "pt9" (did you mean "pt2"?)'},
        {file: 'configs/x.yaml', line: 8, path: 'seed', message: 'expected an integer >= 0, got -1'},
      ],
    },
    {
      name: 'a YAML syntax error is reported at its line',
      input: 'name: x\nmodel:\n  path: m\n max_length: 3\n',
      expected: [{file: 'configs/x.yaml', line: 4, path: 'model', message: 'All mapping items must start at the same column'}],
    },
    {
      name: 'a missing required key is reported at the line of the mapping that lacks it',
      input: MINIMAL.replace('  path: runs/models/tiny-bert\n', '  max_length: 64\n'),
      expected: [{file: 'configs/x.yaml', line: 2, path: 'model.path', message: 'missing required key "path"'}],
    },
    {
      name: 'a problem inside a list item names the item by index',
      input: `${MINIMAL}  - name: boolq\n    data: 7\n`,
      expected: [{file: 'configs/x.yaml', line: 9, path: 'tasks[1].data', message: 'expected a directory path, got 7'}],
    },
    {
      name: 'a method override is checked like the section it overrides',
      input: `${MINIMAL}method_overrides:\n  ft:\n    train: {lr: 0}\n`,
      expected: [{file: 'configs/x.yaml', line: 10, path: 'method_overrides.ft.train.lr', message: 'expected a number > 0, got 0'}],
    },
    {
      name: 'sweep values are checked against the key they set',
      input: `${MINIMAL}sweep:\n  key: prompt.length\n  values:\n    - 4\n    - 0\n`,
      expected: [{file: 'configs/x.yaml', line: 12, path: 'sweep.values[1]', message: 'expected an integer from 1 to 512, got 0'}],
    },
    {
      name: 'an unknown head, prompt encoder or init names the choices',
      input: `${MINIMAL}head: mlm
prompt:
  encoder: gru
  init: zeros
`,
      expected: [
        {file: 'configs/x.yaml', line: 8, path: 'head', message: 'expected one of "linear", "verbalizer", got "mlm"'},
        {file: 'configs/x.yaml', line: 10, path: 'prompt.encoder', message: 'expected one of "lstm", "mlp", got "gru"'},
        {file: 'configs/x.yaml', line: 11, path: 'prompt.init', message: 'expected one of "random", "vocab", "words", got "zeros"'},
      ],
    },
    {
      name: 'init: words without init_words says what is missing',
      input: `${MINIMAL}prompt:
  init: words
`,
      expected: [{file: 'configs/x.yaml', line: 9, path: 'prompt.init', message: 'expected "random" or "vocab", or init_words to start the prompt from, got "words"'}],
    },
    {
      name: 'init words and init_from together are refused: one start, not two',
      input: `${MINIMAL}prompt:\n  init: vocab\n  init_from: runs/adapter\n`,
      expected: [{file: 'configs/x.yaml', line: 9, path: 'prompt.init', message: 'expected "random" when init_from gives the prompt\'s start (one start, not two), got "vocab"'}],
    },
    {
      name: 'a verbalizer key of a task is checked; a misspelt one is named',
      input: `${MINIMAL}    verbalizer: {words: {entailment: 3}, templates: x}
`,
      expected: [
        {file: 'configs/x.yaml', line: 8, path: 'tasks[0].verbalizer.words.entailment', message: 'expected a label word, got 3'},
        {file: 'configs/x.yaml', line: 8, path: 'tasks[0].verbalizer.templates', message: 'unknown key "templates" (did you mean "template"?)'},
      ],
    },
    {
      name: 'a head sweep value is checked like the key',
      input: `${MINIMAL}sweep: {key: head, values: [linear, mlm]}
`,
      expected: [{file: 'configs/x.yaml', line: 8, path: 'sweep.values[1]', message: 'expected "linear" or "verbalizer", got "mlm"'}],
    },
    {
      name: 'a repeated task name points at the repeat',
      input: `${MINIMAL}  - name: rte\n    data: other\n`,
      expected: [{file: 'configs/x.yaml', line: 8, path: 'tasks[1].name', message: 'task "rte" is listed twice'}],
    },
    {
      name: 'an empty file says what a config needs',
      input: '',
      expected: [
        {file: 'configs/x.yaml', line: 1, path: '', message: 'the config is empty, expected a mapping with at least name, model, methods and tasks'},
      ],
    },
  ];

  for (const {name, input, expected} of CASES) {
    test(name, () => {
      assert.deepEqual(configError(input).issues, expected);
    });
  }

  test('the error message has one located line per problem', () => {
    const error = configError(`${MINIMAL}train:\n  lr: fast\n  lrr: 1\n`);
    assert.equal(
      error.message,
      'configs/x.yaml:9 train.lr: expected a number > 0, got "fast"\n' +
        'configs/x.yaml:10 train.lrr: unknown key "lrr" (did you mean "lr"?)',
    );
    assert.ok(error instanceof UserError);
  });
});

describe('loadConfig', () => {
  test('reads a config file and keeps its text', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
    const file = path.join(dir, 'quick.yaml');
    fs.writeFileSync(file, MINIMAL);
    const loaded = loadConfig(file);
    assert.equal(loaded.file, file);
    assert.equal(loaded.text, MINIMAL);
    assert.equal(loaded.config.name, 'quickstart');
  });

  test('a missing file is a UserError naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
    const file = path.join(dir, 'absent.yaml');
    assert.throws(() => loadConfig(file), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(error.message, `${file}: config file not found`);
      return true;
    });
  });
});

describe('applyOverrides', () => {
  const text = `${MINIMAL}method_overrides:\n  ft:\n    train: {lr: 0.0001, epochs: 5}\n  pt2:\n    prompt: {length: 4}\n`;
  const {config} = parseConfig(text, 'x.yaml');

  test('merges only the keys a method overrides', () => {
    const ft = applyOverrides(config, 'ft');
    assert.equal(ft.train.lr, 0.0001);
    assert.equal(ft.train.epochs, 5);
    assert.equal(ft.train.batch_size, 16);
    assert.deepEqual(ft.prompt, config.prompt);
    const pt2 = applyOverrides(config, 'pt2');
    assert.equal(pt2.prompt.length, 4);
    assert.equal(pt2.prompt.reparam_hidden, 512);
    assert.deepEqual(pt2.train, config.train);
  });

  test('leaves the input config and methods without overrides unchanged', () => {
    assert.equal(applyOverrides(config, 'prefix'), config);
    applyOverrides(config, 'ft');
    assert.equal(config.train.lr, 0.005);
  });
});

describe('setByPath', () => {
  const {config} = parseConfig(MINIMAL, 'x.yaml');

  test('returns a copy with the key set', () => {
    const changed = setByPath(config, 'prompt.length', 8);
    assert.equal(changed.prompt.length, 8);
    assert.equal(config.prompt.length, 16);
    assert.equal(setByPath(config, 'tasks[0].max_length', 64).tasks[0].max_length, 64);
  });

  const REJECTED = [
    {name: 'an out-of-range value', key: 'prompt.length', value: 0, expected: 'prompt.length: expected an integer from 1 to 512, got 0'},
    {name: 'a value of the wrong type', key: 'train.lr', value: 'fast', expected: 'train.lr: expected a number > 0, got "fast"'},
    {name: 'a key the config does not have', key: 'prompt.lenght', value: 8, expected: 'prompt.lenght: unknown key "lenght" (did you mean "length"?)'},
  ];
  for (const {name, key, value, expected} of REJECTED) {
    test(`rejects ${name}`, () => {
      assert.throws(() => setByPath(config, key, value), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message, expected);
        return true;
      });
    });
  }
});

describe('key paths', () => {
  const CASES = [
    {name: 'plain keys', input: 'train.lr', expected: ['train', 'lr']},
    {name: 'array indices', input: 'tasks[1].name', expected: ['tasks', 1, 'name']},
    {name: 'a single key', input: 'seed', expected: ['seed']},
  ];
  for (const {name, input, expected} of CASES) {
    test(`${name} round-trip`, () => {
      assert.deepEqual(parseKeyPath(input), expected);
      assert.equal(formatKeyPath(expected), input);
    });
  }

  test('an empty segment is rejected', () => {
    assert.throws(() => parseKeyPath('train..lr'), UserError);
  });
});
