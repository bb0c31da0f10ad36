/**
 * The task registry: named tasks resolve to their family, head and key metric; tasks defined by
 * family read the user's files (labels optional on test), score with the family's metrics and
 * write the family's prediction files. Scores are checked against values worked out by hand.
 */

import {after, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {loadConfig} from '../../src/config/load.js';
import {taskSchema, type TaskConfig} from '../../src/config/schema.js';
import {labelsOf, NAMED_TASKS, taskDefinition, type Evaluation, type TaskDefinition} from '../../src/data/registry.js';
import {isLabelled, type PairExample, type SpanExample, type TaggingExample} from '../../src/data/types.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
after(() => fs.rmSync(dir, {recursive: true, force: true}));

/** A task entry as the config loader completes it. */
function task(entry: Record<string, unknown>): TaskConfig {
  return taskSchema.parse({data: 'd', ...entry});
}

/** The tasks of configs/custom.yaml by name, as definitions, with their data directories. */
const CUSTOM = new Map(
  loadConfig(path.join(REPO, 'configs/custom.yaml')).config.tasks.map((entry) => [
    entry.name,
    {definition: taskDefinition(entry), data: path.join(REPO, entry.data)},
  ]),
);

function custom(name: string): {definition: TaskDefinition; file: (name: string) => string} {
  const found = CUSTOM.get(name);
  assert.ok(found, `configs/custom.yaml has no task ${name}`);
  return {definition: found.definition, file: (file) => path.join(found.data, file)};
}

/** A definition's plain data, leaving out the functions (rebuilt, so never equal by reference). */
function dataOf(definition: TaskDefinition): Record<string, unknown> {
  return Object.fromEntries(Object.entries(definition).filter(([, value]) => typeof value !== 'function'));
}

function tagging(tags: string[][]): TaggingExample[] {
  return tags.map((sentence, id) => ({kind: 'tagging', id, words: sentence.map((_, i) => `w${i}`), tags: sentence}));
}

/** An evaluation of a tagging task: only examples and predicted tags matter to its scorer. */
function taggingEvaluation(gold: string[][], predicted: string[][]): Evaluation {
  return {examples: tagging(gold), labels: [], predTags: predicted, pred: [], gold: [], probabilities: []};
}

/** An evaluation of a classification task with one example per gold label. */
function classificationEvaluation(labels: string[], gold: string[], pred: string[], ids: (string | number)[] = gold.map((_, i) => i)): Evaluation {
  const examples: PairExample[] = gold.map((label, i) => ({kind: 'pair', id: ids[i], textA: `text ${i}`, label}));
  return {examples, labels, pred, gold, probabilities: gold.map(() => new Float32Array(labels.length))};
}

function close(actual: Record<string, number>, expected: Record<string, number>): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [key, value] of Object.entries(expected)) {
    assert.ok(Math.abs(actual[key] - value) < 1e-12, `${key}: ${actual[key]} vs ${value}`);
  }
}

describe('named tasks', () => {
  const SUPERGLUE_FILES = {train: 'train.jsonl', dev: 'val.jsonl'};
  const CONLL_FILES = {train: 'train.txt', dev: 'dev.txt'};
  const SQUAD_FILES = {train: 'train.json', dev: 'dev.json'};
  const CASES = [
    {name: 'boolq', family: 'pair_classification', head: 'classification', keyMetric: 'accuracy', metrics: ['accuracy'], files: SUPERGLUE_FILES, scale: 1},
    {name: 'cb', family: 'pair_classification', head: 'classification', keyMetric: 'accuracy', metrics: ['accuracy', 'macro_f1'], files: SUPERGLUE_FILES, scale: 1},
    {name: 'copa', family: 'multiple_choice', head: 'choice', keyMetric: 'accuracy', metrics: ['accuracy'], files: SUPERGLUE_FILES, scale: 1},
    {name: 'multirc', family: 'pair_classification', head: 'classification', keyMetric: 'f1a', metrics: ['f1a', 'em'], files: SUPERGLUE_FILES, scale: 1},
    {name: 'record', family: 'pair_classification', head: 'classification', keyMetric: 'f1', metrics: ['em', 'f1'], files: SUPERGLUE_FILES, scale: 1},
    {name: 'rte', family: 'pair_classification', head: 'classification', keyMetric: 'accuracy', metrics: ['accuracy'], files: SUPERGLUE_FILES, scale: 1},
    {name: 'wic', family: 'pair_classification', head: 'classification', keyMetric: 'accuracy', metrics: ['accuracy'], files: SUPERGLUE_FILES, scale: 1},
    {name: 'wsc', family: 'pair_classification', head: 'classification', keyMetric: 'accuracy', metrics: ['accuracy'], files: SUPERGLUE_FILES, scale: 1},
    {name: 'conll03', family: 'tagging', head: 'token', keyMetric: 'f1', metrics: ['precision', 'recall', 'f1'], files: CONLL_FILES, scale: 1},
    {name: 'ontonotes', family: 'tagging', head: 'token', keyMetric: 'f1', metrics: ['precision', 'recall', 'f1'], files: CONLL_FILES, scale: 1},
    {name: 'conll04', family: 'tagging', head: 'token', keyMetric: 'f1', metrics: ['precision', 'recall', 'f1'], files: CONLL_FILES, scale: 1},
    {name: 'conll05', family: 'tagging', head: 'token', keyMetric: 'f1', metrics: ['precision', 'recall', 'f1'], files: CONLL_FILES, scale: 1},
    {name: 'conll12', family: 'tagging', head: 'token', keyMetric: 'f1', metrics: ['precision', 'recall', 'f1'], files: CONLL_FILES, scale: 1},
    {name: 'squad', family: 'qa', head: 'span', keyMetric: 'f1', metrics: ['exact_match', 'f1'], files: SQUAD_FILES, scale: 100},
    {name: 'squad_v2', family: 'qa', head: 'span', keyMetric: 'f1', metrics: ['exact', 'f1', 'best_exact', 'best_f1'], files: SQUAD_FILES, scale: 100},
  ];

  test('the table covers every named task', () => {
    assert.deepEqual([...NAMED_TASKS.keys()].sort(), CASES.map((c) => c.name).sort());
  });

  for (const {name, family, head, keyMetric, metrics, files, scale} of CASES) {
    test(`${name}: ${family}, ${head} head, best epoch by ${keyMetric}`, () => {
      const definition = taskDefinition(task({name}));
      assert.equal(definition.name, name);
      assert.equal(definition.family, family);
      assert.equal(definition.head, head);
      assert.equal(definition.keyMetric, keyMetric);
      assert.deepEqual(definition.metrics, metrics);
      assert.deepEqual(definition.files, files);
      assert.equal(definition.metricScale, scale);
      assert.ok(definition.metrics.includes(definition.keyMetric));
    });
  }

  test('SuperGLUE label lists are the release’s; tagging tasks take theirs from the training file', () => {
    assert.deepEqual(taskDefinition(task({name: 'rte'})).labels, ['entailment', 'not_entailment']);
    assert.deepEqual(taskDefinition(task({name: 'cb'})).labels, ['entailment', 'contradiction', 'neutral']);
    assert.equal(taskDefinition(task({name: 'conll03'})).labels, null);
  });

  test('a metric override changes the key metric and nothing else', () => {
    const base = taskDefinition(task({name: 'cb'}));
    const overridden = taskDefinition(task({name: 'cb', metric: 'macro_f1'}));
    assert.equal(overridden.keyMetric, 'macro_f1');
    assert.deepEqual(dataOf(overridden), {...dataOf(base), keyMetric: 'macro_f1'});
    const evaluation = classificationEvaluation([...base.labels!], ['entailment', 'neutral'], ['entailment', 'entailment']);
    assert.deepEqual(overridden.score(evaluation), base.score(evaluation));
  });

  test('only SQuAD 2.0 writes no-answer probabilities beside its predictions', () => {
    assert.deepEqual(taskDefinition(task({name: 'squad'})).extraOutputs, []);
    assert.deepEqual(taskDefinition(task({name: 'squad_v2'})).extraOutputs?.map((o) => [o.kind, o.extension]), [['na_probs', '.json']]);
  });
});

describe('tagging scores', () => {
  // One predicate frame: ARG0 (words 0-1) and V are predicted right, ARG1 (word 3) is missed.
  const gold = [['B-ARG0', 'I-ARG0', 'B-V', 'B-ARG1']];
  const predicted = [['B-ARG0', 'I-ARG0', 'B-V', 'O']];

  for (const name of ['conll05', 'conll12']) {
    test(`${name} leaves the predicate V out by default`, () => {
      // Without V: gold {ARG0, ARG1}, predicted {ARG0}, 1 right → P 1/1, R 1/2, F1 2/3.
      const score = taskDefinition(task({name})).score(taggingEvaluation(gold, predicted));
      close(score, {precision: 1, recall: 0.5, f1: 2 / 3});
    });

    test(`${name} with tagging.exclude [] scores V spans too`, () => {
      // With V: gold {ARG0, V, ARG1}, predicted {ARG0, V}, 2 right → P 2/2, R 2/3, F1 0.8.
      const score = taskDefinition(task({name, tagging: {exclude: []}})).score(taggingEvaluation(gold, predicted));
      close(score, {precision: 1, recall: 2 / 3, f1: 0.8});
    });
  }

  test('NER excludes nothing by default', () => {
    // conll03 keeps V as an entity type like any other: the same counts as SRL with exclude [].
    const score = taskDefinition(task({name: 'conll03'})).score(taggingEvaluation(gold, predicted));
    close(score, {precision: 1, recall: 2 / 3, f1: 0.8});
  });

  test('strict IOB2 drops an entity opened by I-; default chunking keeps it', () => {
    // Sentence 1: the prediction opens PER with I- after O. Sentence 2: LOC right in both modes.
    const goldTags = [['O', 'B-PER', 'I-PER', 'O'], ['B-LOC']];
    const predTags = [['O', 'I-PER', 'I-PER', 'O'], ['B-LOC']];
    const evaluation = taggingEvaluation(goldTags, predTags);
    // Default: predicted {PER 1-2, LOC 0}, both gold → 2/2, 2/2.
    close(taskDefinition(task({name: 'conll03'})).score(evaluation), {precision: 1, recall: 1, f1: 1});
    // Strict: predicted {LOC 0} only → P 1/1, R 1/2, F1 2/3.
    close(taskDefinition(task({name: 'conll03', tagging: {mode: 'strict'}})).score(evaluation), {precision: 1, recall: 0.5, f1: 2 / 3});
  });
});

describe('custom classification (configs/custom.yaml reviews)', () => {
  const {definition, file} = custom('reviews');
  const train = definition.read(file('train.csv'), 'train') as PairExample[];
  const testSplit = definition.read(file('test.csv'), 'test') as PairExample[];

  test('is a classification task with the key metric the config names', () => {
    assert.equal(definition.family, 'classification');
    assert.equal(definition.head, 'classification');
    assert.equal(definition.keyMetric, 'macro_f1');
    assert.deepEqual(definition.metrics, ['accuracy', 'macro_f1']);
    assert.deepEqual(definition.files, {train: 'train.csv', dev: 'dev.csv'});
    assert.equal(definition.metricScale, 1);
  });

  test('train examples carry the rating; the label list comes from them, sorted', () => {
    assert.equal(train.length, 160);
    assert.deepEqual(train[0], {
      kind: 'pair',
      id: 'r-0001',
      textA: 'Osric Brackley, the sailor from Mossgate, steered the barge for us. The work was awful, but the service was splendid.',
      label: 'mixed',
      line: 2,
    });
    assert.ok(train.every(isLabelled));
    assert.deepEqual(labelsOf(definition, train), ['bad', 'good', 'mixed']);
  });

  test('test examples (no rating column) come with label null', () => {
    assert.equal(testSplit.length, 40);
    assert.equal(testSplit[0].id, 'r-0221');
    assert.ok(testSplit.every((example) => example.label === null && !isLabelled(example)));
  });

  test('scores accuracy and macro-F1 over the label list', () => {
    const gold = ['good', 'good', 'bad', 'mixed'];
    const pred = ['good', 'bad', 'bad', 'good'];
    // Accuracy 2/4. F1 per class = 2TP / (2TP + FP + FN): bad 2/3 (TP 1, FP 1), good 1/2 (TP 1,
    // FP 1, FN 1), mixed 0 (TP 0) → macro (2/3 + 1/2 + 0) / 3 = 7/18.
    close(definition.score(classificationEvaluation(['bad', 'good', 'mixed'], gold, pred)), {accuracy: 0.5, macro_f1: 7 / 18});
  });

  test('writes one {"idx", "label"} line per example, keyed by the id field', () => {
    const examples = testSplit.slice(0, 3);
    const pred = ['good', 'mixed', 'bad'];
    const evaluation: Evaluation = {examples, labels: ['bad', 'good', 'mixed'], pred, gold: [], probabilities: []};
    const out = path.join(dir, 'reviews', `test_predictions${definition.predictionExtension}`);
    definition.writePredictions(out, evaluation);
    assert.equal(definition.predictionExtension, '.jsonl');
    const lines = fs.readFileSync(out, 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(
      lines.map((line) => JSON.parse(line) as unknown),
      [
        {idx: 'r-0221', label: 'good'},
        {idx: 'r-0222', label: 'mixed'},
        {idx: 'r-0223', label: 'bad'},
      ],
    );
  });
});

describe('custom tagging (configs/custom.yaml parts, columns {token: 1, tag: -1})', () => {
  const {definition, file} = custom('parts');

  test('train reads the token from column 2 and the tag from the last', () => {
    const train = definition.read(file('train.tsv'), 'train') as TaggingExample[];
    assert.equal(train.length, 160);
    assert.deepEqual(train[0].words, ['A', 'paintbrush', 'went', 'missing', 'from', 'a', 'workshop', 'in', 'Tarnwick', ',', 'Varnesia', '.']);
    assert.deepEqual(train[0].tags, ['O', 'B-TOOL', 'O', 'O', 'O', 'O', 'O', 'O', 'B-PLACE', 'O', 'B-PLACE', 'O']);
    assert.ok(train.every(isLabelled));
    assert.deepEqual(labelsOf(definition, train), ['O', 'B-PLACE', 'B-TOOL', 'I-PLACE', 'I-TOOL']);
  });

  test('test (index and token only) reads with tags null', () => {
    const testSplit = definition.read(file('test.tsv'), 'test') as TaggingExample[];
    assert.equal(testSplit.length, 40);
    assert.deepEqual(testSplit[0].words, ['A', 'fishing', 'rod', 'went', 'missing', 'from', 'a', 'workshop', 'in', 'Saltby', ',', 'Quellmark', '.']);
    assert.ok(testSplit.every((example) => example.tags === null && !isLabelled(example)));
  });

  test('a dev file without tags is still refused: labels are optional on test only', () => {
    // With tagsOptional off, the token column (1) is the last column, so there is no tag column.
    assert.throws(() => definition.read(file('test.tsv'), 'dev'), /test\.tsv:1 tag: expected a token in column 2 and a tag in the last column, found 2 column\(s\)/);
  });

  test('the head is a token head, scored by span F1', () => {
    assert.equal(definition.family, 'tagging');
    assert.equal(definition.head, 'token');
    assert.equal(definition.keyMetric, 'f1');
    assert.equal(definition.metricScale, 1);
  });
});

describe('custom QA (configs/custom.yaml faq, SQuAD 2.0)', () => {
  const {definition, file} = custom('faq');

  test('the test file (questions only) reads unlabelled, the training file labelled', () => {
    const testSplit = definition.read(file('test.json'), 'test') as SpanExample[];
    assert.equal(testSplit.length, 40);
    assert.ok(testSplit.every((example) => !isLabelled(example) && example.answers.length === 0));
    const train = definition.read(file('train.json'), 'train') as SpanExample[];
    assert.equal(train.length, 160);
    assert.ok(train.every(isLabelled));
    // 32 of the 160 training questions are unanswerable, and labelled as such.
    assert.equal(train.filter((example) => example.isImpossible).length, 32);
    assert.deepEqual(train[0].answers, [{text: '21', start: 78}]);
  });

  test('the qa settings the config gives are filled with the defaults; 2.0 allows no answer', () => {
    assert.deepEqual(definition.qa, {docStride: 64, maxQueryLength: 64, nBest: 20, maxAnswerLength: 10, nullThreshold: 0, allowNull: true});
    assert.deepEqual(definition.metrics, ['exact', 'f1', 'best_exact', 'best_f1']);
    assert.equal(definition.metricScale, 100);
    assert.equal(definition.head, 'span');
  });

  test('version 1.1 without qa settings: BERT’s SQuAD defaults, no null answer', () => {
    const v11 = taskDefinition(task({name: 'faq', family: 'qa', version: '1.1', train_file: 'a.json', dev_file: 'b.json'}));
    assert.deepEqual(v11.qa, {docStride: 128, maxQueryLength: 64, nBest: 20, maxAnswerLength: 30, nullThreshold: 0, allowNull: false});
    assert.deepEqual(v11.metrics, ['exact_match', 'f1']);
    assert.deepEqual(v11.files, {train: 'a.json', dev: 'b.json'});
  });

  test('a named QA task takes its qa settings from the config', () => {
    const squadV2 = taskDefinition(task({name: 'squad_v2', qa: {n_best: 5, null_threshold: -1.5}}));
    assert.deepEqual(squadV2.qa, {docStride: 128, maxQueryLength: 64, nBest: 5, maxAnswerLength: 30, nullThreshold: -1.5, allowNull: true});
  });

  test('metricScale: 100 for QA only', () => {
    for (const [name, {definition: each}] of CUSTOM) {
      assert.equal(each.metricScale, each.family === 'qa' ? 100 : 1, name);
    }
  });
});
