/**
 * scoreFiles on small gold / prediction files whose scores are worked out by hand, on the sample
 * data under datasets/ (gold copied as prediction scores perfectly), and its user errors.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {scoreFiles, SCORERS} from '../../src/score/index.js';
import {UserError} from '../../src/errors.js';
import {closeMetrics, jsonl, tempFiles} from '../helpers/files.js';

const write = tempFiles('ptv2-');
const close = closeMetrics;

const RTE_GOLD = Array.from({length: 10}, (_, idx) => ({
  premise: `Premise ${idx}.`,
  hypothesis: `Hypothesis ${idx}.`,
  label: idx % 2 === 0 ? 'entailment' : 'not_entailment',
  idx,
}));
const flipRte = (label: string): string => (label === 'entailment' ? 'not_entailment' : 'entailment');

const CB_GOLD = ['entailment', 'contradiction', 'neutral', 'entailment'].map((label, idx) => ({premise: 'p', hypothesis: 'h', label, idx}));
const BOOLQ_GOLD = [true, false, true, false].map((label, idx) => ({question: 'q', passage: 'p', label, idx}));
const COPA_GOLD = [0, 1, 1, 0].map((label, idx) => ({premise: 'It rained.', choice1: 'a', choice2: 'b', question: 'effect', label, idx}));

// One paragraph, two questions of two options each; option idx are global as in the release.
const MULTIRC_GOLD = {
  idx: 0,
  passage: {
    text: 'Ann has a cat.',
    questions: [
      {idx: 0, question: 'What does Ann have?', answers: [{idx: 0, text: 'a cat', label: 1}, {idx: 1, text: 'a dog', label: 0}]},
      {idx: 1, question: 'Who has a cat?', answers: [{idx: 2, text: 'Ann', label: 1}, {idx: 3, text: 'Bob', label: 0}]},
    ],
  },
};
const multircPred = (labels: number[]) => ({
  idx: 0,
  passage: {
    questions: [
      {idx: 0, answers: [{idx: 0, label: labels[0]}, {idx: 1, label: labels[1]}]},
      {idx: 1, answers: [{idx: 2, label: labels[2]}, {idx: 3, label: labels[3]}]},
    ],
  },
});

// "Alice Smith" 0..10, "Bob Jones" 16..24, "Paris" 29..33 (ends inclusive).
const RECORD_TEXT = 'Alice Smith met Bob Jones in Paris.';
const RECORD_GOLD = {
  idx: 0,
  passage: {text: RECORD_TEXT, entities: [{start: 0, end: 10}, {start: 16, end: 24}, {start: 29, end: 33}]},
  qas: [
    {idx: 7, query: '@placeholder was met.', answers: [{start: 16, end: 24, text: 'Bob Jones'}]},
    {idx: 8, query: '@placeholder met someone.', answers: [{start: 0, end: 10, text: 'Alice Smith'}]},
  ],
};

const CONLL_GOLD = 'John NNP B-PER\nlives VBZ O\nin IN O\nParis NNP B-LOC\n\nAcme NNP B-ORG\nCorp NNP I-ORG\nrose VBD O\n';

const SRL_GOLD = '1 Ann saw Bob . ||| B-ARG0 B-V B-ARG1 O\n0 Run now ! ||| B-V B-ARGM-TMP O\n';

function squadJson(qas: {id: string; context: string; answer?: string}[]): string {
  return JSON.stringify({
    version: 'x',
    data: [
      {
        title: 't',
        paragraphs: qas.map(({id, context, answer}) => ({
          context,
          qas: [
            answer === undefined
              ? {id, question: 'q?', answers: [], is_impossible: true}
              : {id, question: 'q?', answers: [{text: answer, answer_start: context.indexOf(answer)}], is_impossible: false},
          ],
        })),
      },
    ],
  });
}

const CASES: {name: string; task: string; gold: string; pred: string; naProb?: string; expected: Record<string, number>}[] = [
  {
    name: 'rte: 2 of 10 labels flipped',
    task: 'rte',
    gold: jsonl(RTE_GOLD),
    pred: jsonl(RTE_GOLD.map(({idx, label}) => ({idx, label: idx === 3 || idx === 8 ? flipRte(label) : label}))),
    expected: {accuracy: 0.8},
  },
  {
    // Third example neutral → entailment. F1: entailment 2·2/(2·2+1) = 0.8, contradiction 1, neutral 0.
    name: 'cb: accuracy and macro F1 over the three classes',
    task: 'cb',
    gold: jsonl(CB_GOLD),
    pred: jsonl(CB_GOLD.map(({idx, label}) => ({idx, label: idx === 2 ? 'entailment' : label}))),
    expected: {accuracy: 0.75, macro_f1: (0.8 + 1 + 0) / 3},
  },
  {
    name: 'boolq: booleans and "true"/"false" strings, one wrong, lines in any order',
    task: 'boolq',
    gold: jsonl(BOOLQ_GOLD),
    pred: jsonl([{idx: 3, label: 'true'}, {idx: 0, label: true}, {idx: 1, label: 'false'}, {idx: 2, label: true}]),
    expected: {accuracy: 0.75},
  },
  {
    name: 'copa: integer choices, one wrong',
    task: 'copa',
    gold: jsonl(COPA_GOLD),
    pred: jsonl(COPA_GOLD.map(({idx, label}) => ({idx, label: idx === 1 ? 0 : label}))),
    expected: {accuracy: 0.75},
  },
  {
    // Option 3 predicted 1: TP 2, FP 1, FN 0 → F1a 4/5; question 0 all right, question 1 not → EM 1/2.
    name: 'multirc: nested layout, one option wrong',
    task: 'multirc',
    gold: jsonl([MULTIRC_GOLD]),
    pred: jsonl([multircPred([1, 0, 1, 1])]),
    expected: {f1a: 0.8, em: 0.5},
  },
  {
    // Query 8 answers "Alice" for "Alice Smith": EM 0, F1 = 2·1·(1/2)/(1+1/2) = 2/3.
    name: 'record: one exact, one partial answer',
    task: 'record',
    gold: jsonl([RECORD_GOLD]),
    pred: jsonl([{idx: 7, label: 'Bob Jones'}, {idx: 8, label: 'Alice'}]),
    expected: {em: 0.5, f1: (1 + 2 / 3) / 2},
  },
  {
    // Paris tagged ORG: 3 gold entities, 3 predicted, 2 right.
    name: 'conll03: one entity with the wrong type',
    task: 'conll03',
    gold: CONLL_GOLD,
    pred: CONLL_GOLD.replace('Paris NNP B-LOC', 'Paris NNP B-ORG'),
    expected: {precision: 2 / 3, recall: 2 / 3, f1: 2 / 3},
  },
  {
    // Without V: gold ARG0, ARG1, ARGM-TMP; predicted ARG0, ARG1 → P 1, R 2/3, F1 0.8.
    name: 'conll05: one argument missed, V not counted',
    task: 'conll05',
    gold: SRL_GOLD,
    pred: SRL_GOLD.replace('B-V B-ARGM-TMP O', 'B-V O O'),
    expected: {precision: 1, recall: 2 / 3, f1: 0.8},
  },
  {
    // "red dog" against "the big red dog": tokens red dog / big red dog → P 1, R 2/3, F1 0.8.
    name: 'squad: one exact, one partial answer, in percent',
    task: 'squad',
    gold: squadJson([
      {id: 'a', context: 'He went to Paris.', answer: 'Paris'},
      {id: 'b', context: 'I saw the big red dog.', answer: 'the big red dog'},
    ]),
    pred: JSON.stringify({a: 'Paris', b: 'red dog'}),
    expected: {exact_match: 50, f1: 90},
  },
  {
    // b is unanswerable but answered. The best threshold answers only a (probability 0.1).
    name: 'squad_v2: answered the unanswerable, with no-answer probabilities',
    task: 'squad_v2',
    gold: squadJson([
      {id: 'a', context: 'He went to Paris.', answer: 'Paris'},
      {id: 'b', context: 'Nobody knows.'},
    ]),
    pred: JSON.stringify({a: 'Paris', b: 'London'}),
    naProb: JSON.stringify({a: 0.1, b: 0.9}),
    expected: {
      exact: 50,
      f1: 50,
      total: 2,
      HasAns_exact: 100,
      HasAns_f1: 100,
      HasAns_total: 1,
      NoAns_exact: 0,
      NoAns_f1: 0,
      NoAns_total: 1,
      best_exact: 100,
      best_exact_thresh: 0.1,
      best_f1: 100,
      best_f1_thresh: 0.1,
    },
  },
];

describe('scoreFiles: hand-checked scores', () => {
  for (const {name, task, gold, pred, naProb, expected} of CASES) {
    test(name, () => {
      const scores = scoreFiles({
        task,
        gold: write('gold', gold),
        pred: write('pred', pred),
        naProb: naProb === undefined ? undefined : write('na.json', naProb),
      });
      close(scores, expected);
    });
  }
});

/** The sample data's own labels, written back in the prediction format. */
function goldAsPrediction(task: string, file: string): string {
  const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  if (task === 'multirc') return jsonl(rows);
  return jsonl(rows.map(({idx, label}) => ({idx, label})));
}

const SAMPLE_SUPERGLUE: [string, string, Record<string, number>][] = [
  ['boolq', 'BoolQ', {accuracy: 1}],
  ['cb', 'CB', {accuracy: 1, macro_f1: 1}],
  ['copa', 'COPA', {accuracy: 1}],
  ['rte', 'RTE', {accuracy: 1}],
  ['wic', 'WiC', {accuracy: 1}],
  ['wsc', 'WSC', {accuracy: 1}],
  ['multirc', 'MultiRC', {f1a: 1, em: 1}],
];

describe('scoreFiles: sample data scored against itself', () => {
  for (const [task, dirName, expected] of SAMPLE_SUPERGLUE) {
    test(task, () => {
      const gold = path.join('datasets', 'superglue', dirName, 'val.jsonl');
      close(scoreFiles({task, gold, pred: write('pred.jsonl', goldAsPrediction(task, gold))}), expected);
    });
  }

  test('conll03 and conll05 files as their own predictions', () => {
    for (const [task, gold] of [['conll03', 'datasets/ner/conll03/dev.txt'], ['conll05', 'datasets/srl/conll05/dev.txt']]) {
      close(scoreFiles({task, gold, pred: gold}), {precision: 1, recall: 1, f1: 1});
    }
  });

  test('squad_v2: first gold answer, or "" when unanswerable', () => {
    const gold = 'datasets/qa/squad_v2/dev.json';
    const data = JSON.parse(fs.readFileSync(gold, 'utf8')) as {
      data: {paragraphs: {qas: {id: string; answers: {text: string}[]}[]}[]}[];
    };
    const preds: Record<string, string> = {};
    for (const article of data.data) for (const paragraph of article.paragraphs) for (const qa of paragraph.qas) preds[qa.id] = qa.answers[0]?.text ?? '';
    const scores = scoreFiles({task: 'squad_v2', gold, pred: write('pred.json', JSON.stringify(preds))});
    assert.equal(scores.exact, 100);
    assert.equal(scores.f1, 100);
    assert.equal(scores.total, Object.keys(preds).length);
  });
});

function assertUserError(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UserError, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

describe('scoreFiles: errors', () => {
  const rteGold = write('rte.jsonl', jsonl(RTE_GOLD));

  test('missing predictions are listed, five at most', () => {
    const pred = write('pred.jsonl', jsonl(RTE_GOLD.slice(0, 3).map(({idx, label}) => ({idx, label}))));
    assertUserError(() => scoreFiles({task: 'rte', gold: rteGold, pred}), /: no prediction for 7 gold example\(s\): idx 3, 4, 5, 6, 7, …$/);
  });

  test('an idx the gold file lacks names the prediction file and line', () => {
    const pred = write('pred.jsonl', jsonl([{idx: 0, label: 'entailment'}, {idx: 42, label: 'entailment'}]));
    assertUserError(() => scoreFiles({task: 'rte', gold: rteGold, pred}), new RegExp(`^${pred}:2 idx: no gold example with idx 42 in ${rteGold}$`));
  });

  test('an idx predicted twice', () => {
    const pred = write('pred.jsonl', jsonl([{idx: 0, label: 'entailment'}, {idx: 0, label: 'entailment'}]));
    assertUserError(() => scoreFiles({task: 'rte', gold: rteGold, pred}), /:2 idx: idx 0 is predicted twice \(first at line 1\)$/);
  });

  test('a label outside the task\'s label list', () => {
    const pred = write('pred.jsonl', jsonl([{idx: 0, label: 'maybe'}]));
    assertUserError(() => scoreFiles({task: 'rte', gold: rteGold, pred}), /:1 label: expected one of "entailment", "not_entailment", got "maybe"$/);
  });

  test('a MultiRC option the gold file lacks names its path', () => {
    const pred = multircPred([1, 0, 1, 0]);
    pred.passage.questions[1].answers[1].idx = 9;
    assertUserError(
      () => scoreFiles({task: 'multirc', gold: write('gold.jsonl', jsonl([MULTIRC_GOLD])), pred: write('pred.jsonl', jsonl([pred]))}),
      /:1 passage\.questions\[1\]\.answers\[1\]\.idx: no gold example with idx 0-1-9 in /,
    );
  });

  test('a SuperGLUE test file has no labels to score against', () => {
    const gold = 'datasets/superglue/CB/test.jsonl';
    assertUserError(() => scoreFiles({task: 'cb', gold, pred: write('pred.jsonl', '')}), /CB\/test\.jsonl: the gold file has no labels/);
  });

  test('squad_v2 without an answer for every question names the prediction file', () => {
    const gold = write('gold.json', squadJson([{id: 'a', context: 'He went to Paris.', answer: 'Paris'}, {id: 'b', context: 'Nobody knows.'}]));
    const pred = write('pred.json', JSON.stringify({a: 'Paris'}));
    assertUserError(() => scoreFiles({task: 'squad_v2', gold, pred}), new RegExp(`^${pred} predictions: no prediction for 1 question\\(s\\) \\(b\\)`));
  });

  test('an unknown task lists the known ones', () => {
    assertUserError(() => scoreFiles({task: 'mnli', gold: rteGold, pred: rteGold}), /^--task: unknown task "mnli"; known tasks: boolq, cb, conll03, conll04, conll05, conll12, copa, multirc, ontonotes, record, rte, squad, squad_v2, wic, wsc$/);
    assert.equal(SCORERS.size, 15);
  });

  test('no-answer probabilities for a task other than squad_v2', () => {
    assertUserError(() => scoreFiles({task: 'rte', gold: rteGold, pred: rteGold, naProb: rteGold}), /--na-prob: no-answer probabilities are only scored for squad_v2/);
  });
});

describe('ptv2 score', () => {
  const built = fs.existsSync('dist/commands/score.js');
  test('--json prints the scores', {skip: built ? false : 'dist/commands/score.js not built (npm run build)'}, () => {
    const gold = write('rte.jsonl', jsonl(RTE_GOLD));
    const pred = write('pred.jsonl', jsonl(RTE_GOLD.map(({idx, label}) => ({idx, label: idx === 3 || idx === 8 ? flipRte(label) : label}))));
    const result = spawnSync(process.execPath, ['bin/run.js', 'score', '--task', 'rte', '--gold', gold, '--pred', pred, '--json'], {encoding: 'utf8'});
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {accuracy: 0.8});
  });
});

test('a gold file with a repeated idx is refused by ptv2 score as by ptv2 run, naming its line', () => {
  const gold = write('dup-gold.jsonl', jsonl([RTE_GOLD[0], RTE_GOLD[1], RTE_GOLD[0]]));
  const pred = write('dup-pred.jsonl', jsonl([{idx: 0, label: 'entailment'}]));
  assertUserError(() => scoreFiles({task: 'rte', gold, pred}), new RegExp(`^${gold}:3 idx: duplicate idx 0; line 1 has it too$`));
});
