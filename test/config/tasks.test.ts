/**
 * Task entries of the config: named tasks, tasks defined by family, and the checks that depend on
 * which task or family an entry is (run by parseConfig after the schema accepts every key). Each
 * refusal is asserted as the exact line the user reads: `file:line tasks[i].key: message`.
 */

import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import {ConfigError, loadConfig, parseConfig} from '../../src/config/load.js';

const REPO = path.resolve(import.meta.dirname, '../..');

/** Lines 1-5; the task entry given to `withTask` starts on line 6. */
const HEADER = `name: t
model:
  path: m
methods: [ft]
tasks:
`;

function withTask(...lines: string[]): string {
  return HEADER + lines.map((line) => `${line}\n`).join('');
}

/** The message of the ConfigError parseConfig throws for `text`. */
function refusal(text: string): string {
  try {
    parseConfig(text, 'cfg.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the config to be refused');
}

describe('task entries the config refuses', () => {
  const CASES: {name: string; input: string; expected: string[]}[] = [
    {
      name: 'an unknown name without family lists the named tasks and the families',
      input: withTask('  - name: sentiment', '    data: d'),
      expected: [
        'cfg.yaml:6 tasks[0].name: unknown task "sentiment"; named tasks: boolq, cb, copa, multirc, record, rte, wic, wsc, ' +
          'conll03, ontonotes, conll04, conll05, conll12, squad, squad_v2; ' +
          'or define your own with family: classification | pair_classification | tagging | qa',
      ],
    },
    {
      name: 'family given with the name of a named task',
      input: withTask(
        '  - name: rte',
        '    family: pair_classification',
        '    data: d',
        '    train_file: train.jsonl',
        '    dev_file: dev.jsonl',
        '    fields: {text: premise, text_pair: hypothesis, label: label}',
      ),
      expected: [`cfg.yaml:6 tasks[0].name: "rte" is one of ptv2's named tasks; remove family: to use it, or give your task another name`],
    },
    {
      name: 'a task defined by family without train_file and dev_file, both at the entry line',
      input: withTask('  - name: mine', '    family: classification', '    data: d', '    fields: {text: t, label: l}'),
      expected: [
        'cfg.yaml:6 tasks[0].train_file: missing required key "train_file" (a task defined by family has no release file names)',
        'cfg.yaml:6 tasks[0].dev_file: missing required key "dev_file" (a task defined by family has no release file names)',
      ],
    },
    {
      name: 'classification without fields',
      input: withTask('  - name: mine', '    family: classification', '    data: d', '    train_file: a.csv', '    dev_file: b.csv'),
      expected: ['cfg.yaml:6 tasks[0].fields: missing required key "fields" (name the text and label fields, e.g. {text: sentence, label: label})'],
    },
    {
      name: 'pair_classification without fields.text_pair, at the fields line',
      input: withTask(
        '  - name: mine',
        '    family: pair_classification',
        '    data: d',
        '    train_file: a.csv',
        '    dev_file: b.csv',
        '    fields: {text: t, label: l}',
      ),
      expected: ['cfg.yaml:11 tasks[0].fields.text_pair: missing required key "text_pair" (the field of the second text)'],
    },
    {
      name: 'classification with text_pair, at the text_pair line',
      input: withTask(
        '  - name: mine',
        '    family: classification',
        '    data: d',
        '    train_file: a.csv',
        '    dev_file: b.csv',
        '    fields:',
        '      text: t',
        '      text_pair: u',
        '      label: l',
      ),
      expected: ['cfg.yaml:13 tasks[0].fields.text_pair: a single-text task has no text_pair; use family: pair_classification'],
    },
    {
      name: 'format and fields on a named task',
      input: withTask('  - name: rte', '    data: d', '    format: csv', '    fields: {text: t, label: l}'),
      expected: [
        'cfg.yaml:8 tasks[0].format: "format" is for tasks defined with family:, and rte is a named task',
        'cfg.yaml:9 tasks[0].fields: "fields" is for tasks defined with family:, and rte is a named task',
      ],
    },
    {
      name: 'columns on a classification task',
      input: withTask(
        '  - name: mine',
        '    family: classification',
        '    data: d',
        '    train_file: a.csv',
        '    dev_file: b.csv',
        '    fields: {text: t, label: l}',
        '    columns: {token: 1}',
      ),
      expected: ['cfg.yaml:12 tasks[0].columns: "columns" is for family tagging, not classification'],
    },
    {
      name: 'version on a tagging task',
      input: withTask('  - name: mine', '    family: tagging', '    data: d', '    train_file: a.txt', '    dev_file: b.txt', '    version: "1.1"'),
      expected: ['cfg.yaml:11 tasks[0].version: "version" is for family qa, not tagging'],
    },
    {
      name: 'version missing for family qa',
      input: withTask('  - name: faq', '    family: qa', '    data: d', '    train_file: a.json', '    dev_file: b.json'),
      expected: ['cfg.yaml:6 tasks[0].version: missing required key "version" ("1.1", or "2.0" when some questions have no answer)'],
    },
    {
      name: 'a version that is neither 1.1 nor 2.0',
      input: withTask('  - name: faq', '    family: qa', '    version: 3', '    data: d', '    train_file: a.json', '    dev_file: b.json'),
      expected: ['cfg.yaml:8 tasks[0].version: expected one of "1.1", "2.0", got 3'],
    },
    {
      name: 'a number that only rounds to a version',
      input: withTask('  - name: faq', '    family: qa', '    version: 1.14', '    data: d', '    train_file: a.json', '    dev_file: b.json'),
      expected: ['cfg.yaml:8 tasks[0].version: expected one of "1.1", "2.0", got 1.14'],
    },
    {
      name: 'two test files that would share a split name',
      input: withTask('  - name: conll05', '    data: d', '    test_file: [a/test_wsj.txt, b/test_wsj.txt]'),
      expected: ['cfg.yaml:8 tasks[0].test_file[1]: two test files would both be the split "test_wsj"; give them different file names'],
    },
    {
      name: 'tagging options on rte',
      input: withTask('  - name: rte', '    data: d', '    tagging: {mode: strict}'),
      expected: ['cfg.yaml:8 tasks[0].tagging: "tagging" options are for tagging tasks, and rte is pair_classification'],
    },
    {
      name: 'qa options on conll03',
      input: withTask('  - name: conll03', '    data: d', '    qa: {doc_stride: 64}'),
      expected: ['cfg.yaml:8 tasks[0].qa: "qa" options are for extractive QA tasks, and conll03 is tagging'],
    },
    {
      name: 'qa options on a task defined as tagging',
      input: withTask('  - name: mine', '    family: tagging', '    data: d', '    train_file: a.txt', '    dev_file: b.txt', '    qa: {n_best: 5}'),
      expected: ['cfg.yaml:11 tasks[0].qa: "qa" options are for extractive QA tasks, and mine is tagging'],
    },
    {
      name: 'a metric the task does not report',
      input: withTask('  - name: rte', '    data: d', '    metric: f1'),
      expected: ['cfg.yaml:8 tasks[0].metric: rte reports accuracy; "f1" is not one of them'],
    },
    {
      name: 'a metric of SQuAD 1.1 on a SQuAD 2.0 task',
      input: withTask('  - name: squad_v2', '    data: d', '    metric: exact_match'),
      expected: ['cfg.yaml:8 tasks[0].metric: squad_v2 reports exact, f1, best_exact, best_f1; "exact_match" is not one of them'],
    },
    {
      name: 'an unknown key inside qa, with the closest key',
      input: withTask('  - name: squad', '    data: d', '    qa:', '      doc_strid: 64'),
      expected: ['cfg.yaml:9 tasks[0].qa.doc_strid: unknown key "doc_strid" (did you mean "doc_stride"?)'],
    },
    {
      name: 'qa.doc_stride 0',
      input: withTask('  - name: squad', '    data: d', '    qa:', '      doc_stride: 0'),
      expected: ['cfg.yaml:9 tasks[0].qa.doc_stride: expected an integer >= 1, got 0'],
    },
    {
      name: 'an unknown tagging mode, with the closest one',
      input: withTask('  - name: conll03', '    data: d', '    tagging: {mode: strikt}'),
      expected: ['cfg.yaml:8 tasks[0].tagging.mode: expected one of "default", "strict", got "strikt" (did you mean "strict"?)'],
    },
  ];

  for (const {name, input, expected} of CASES) {
    test(name, () => {
      assert.equal(refusal(input), expected.join('\n'));
    });
  }

  test('the problem of a second task names its index and line', () => {
    const text = withTask('  - name: rte', '    data: d', '  - name: cb', '    data: e', '    metric: f1');
    assert.equal(refusal(text), 'cfg.yaml:10 tasks[1].metric: cb reports accuracy, macro_f1; "f1" is not one of them');
  });
});

describe('task entries the config accepts', () => {
  test('version: 2.0, a YAML number, reads as "2.0"; 1.1 as "1.1"', () => {
    for (const [written, version] of [
      ['2.0', '2.0'],
      ['1.1', '1.1'],
      ['"2.0"', '2.0'],
    ]) {
      const text = withTask('  - name: faq', '    family: qa', `    version: ${written}`, '    data: d', '    train_file: a.json', '    dev_file: b.json');
      assert.equal(parseConfig(text, 'cfg.yaml').config.tasks[0].version, version, `version: ${written}`);
    }
  });

  test('a metric the task reports is kept (cb with macro_f1)', () => {
    const {config} = parseConfig(withTask('  - name: cb', '    data: d', '    metric: macro_f1'), 'cfg.yaml');
    assert.equal(config.tasks[0].metric, 'macro_f1');
  });

  test('tagging options on a named tagging task are completed with their defaults', () => {
    const {config} = parseConfig(withTask('  - name: conll05', '    data: d', '    tagging: {exclude: []}'), 'cfg.yaml');
    assert.deepEqual(config.tasks[0].tagging, {mode: 'default', scheme: 'IOB2', exclude: []});
  });

  test('configs/custom.yaml loads with one task of each family and the documented defaults', () => {
    const {config} = loadConfig(path.join(REPO, 'configs/custom.yaml'));
    const common = {max_length: null, format: null};
    assert.deepEqual(config.tasks, [
      {
        ...common,
        name: 'reviews',
        family: 'classification',
        data: 'datasets/custom/reviews',
        train_file: 'train.csv',
        dev_file: 'dev.csv',
        test_file: 'test.csv',
        fields: {id: 'review_id', text: 'review', label: 'rating'},
        metric: 'macro_f1',
      },
      {
        ...common,
        name: 'claims',
        family: 'pair_classification',
        data: 'datasets/custom/claims',
        train_file: 'train.jsonl',
        dev_file: 'dev.jsonl',
        test_file: 'test.jsonl',
        fields: {id: 'uid', text: 'claim', text_pair: 'evidence', label: 'verdict'},
        metric: null,
      },
      {
        ...common,
        name: 'parts',
        family: 'tagging',
        data: 'datasets/custom/parts',
        train_file: 'train.tsv',
        dev_file: 'dev.tsv',
        test_file: 'test.tsv',
        columns: {token: 1, tag: -1},
        metric: null,
      },
      {
        ...common,
        name: 'faq',
        family: 'qa',
        version: '2.0',
        data: 'datasets/custom/faq',
        train_file: 'train.json',
        dev_file: 'dev.json',
        test_file: 'test.json',
        // doc_stride, max_answer_length and null_threshold as written; the rest BERT's SQuAD defaults.
        qa: {doc_stride: 64, max_query_length: 64, n_best: 20, max_answer_length: 10, null_threshold: 0},
        metric: null,
      },
    ]);
  });

  test('columns given in part are completed: token 0, tag -1 by default', () => {
    const text = withTask('  - name: mine', '    family: tagging', '    data: d', '    train_file: a.txt', '    dev_file: b.txt', '    columns: {token: 2}');
    assert.deepEqual(parseConfig(text, 'cfg.yaml').config.tasks[0].columns, {token: 2, tag: -1});
  });
});
