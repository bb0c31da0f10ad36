/**
 * scoreFiles with --config: tasks defined by family scored from the files a run writes for them
 * (`{"idx", "label"}` jsonl, CoNLL `token [gold] predicted`, SQuAD `{id: text}` + no-answer
 * probabilities) against hand-computed numbers; named tasks of a config scored as without one,
 * with their entry's tagging options; user errors naming file, line and field; and the built CLI.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {scoreFiles} from '../../src/score/index.js';
import {UserError} from '../../src/errors.js';
import {ptv2} from '../helpers/cli.js';
import {closeMetrics, jsonl, tempFiles} from '../helpers/files.js';

const write = tempFiles('ptv2-score-custom-');
const dir = path.dirname(write('.keep', ''));
const close = closeMetrics;

function assertUserError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Only the task entries matter to scoring; data directories need not exist.
const CONFIG = write(
  'custom.yaml',
  `name: scoring
model: {path: ${path.join(dir, 'model')}}
methods: [pt2]
tasks:
  - name: reviews
    family: classification
    data: reviews
    train_file: train.csv
    dev_file: dev.csv
    fields: {id: review_id, text: review, label: rating}
  - name: claims
    family: pair_classification
    data: claims
    train_file: train.jsonl
    dev_file: dev.jsonl
    fields: {text: claim, text_pair: evidence, label: verdict}
  - name: parts
    family: tagging
    data: parts
    train_file: train.tsv
    dev_file: dev.tsv
    columns: {token: 1, tag: -1}
  - name: faq
    family: qa
    version: 2.0
    data: faq
    train_file: train.json
    dev_file: dev.json
  - name: manual
    family: qa
    version: "1.1"
    data: manual
    train_file: train.json
    dev_file: dev.json
  - name: conll03
    data: conll03
    tagging: {exclude: [LOC]}
  - name: rte
    data: rte
`,
);

const score = (task: string, gold: string, pred: string, naProb?: string) => scoreFiles({config: CONFIG, task, gold, pred, naProb});

// ---------------------------------------------------------------------------------------------
// Classification

const REVIEWS_GOLD = write(
  'reviews.csv',
  `review_id,review,rating
r-1,"Lovely, warm and kind.",good
r-2,Cold soup.,bad
r-3,"Fine food, slow service.",mixed
r-4,Great view.,good
r-5,Rude staff.,bad
`,
);

const REVIEW_IDS = ['r-1', 'r-2', 'r-3', 'r-4', 'r-5'];
const reviewPredictions = (labels: readonly string[]): string => jsonl(labels.map((label, i) => ({idx: REVIEW_IDS[i], label})));

describe('classification tasks defined by family', () => {
  test('accuracy and macro-F1 over the gold file\'s labels', () => {
    // gold: good bad mixed good bad; pred: good good mixed bad bad → 3 of 5 right.
    // bad: TP 1 (r-5), FP 1 (r-4), FN 1 (r-2) → 0.5; good: TP 1, FP 1 (r-2), FN 1 (r-4) → 0.5; mixed → 1.
    const pred = write('reviews.jsonl', reviewPredictions(['good', 'good', 'mixed', 'bad', 'bad']));
    close(score('reviews', REVIEWS_GOLD, pred), {accuracy: 0.6, macro_f1: 2 / 3});
  });

  test('a label outside the gold label set counts as wrong', () => {
    // r-2 "awful" is wrong and adds no class of its own: bad F1 0 (both gold examples missed),
    // good 1, mixed 2/3 (TP r-3, FP r-5); macro-F1 over bad, good, mixed.
    const pred = write('reviews.jsonl', reviewPredictions(['good', 'awful', 'mixed', 'good', 'mixed']));
    close(score('reviews', REVIEWS_GOLD, pred), {accuracy: 0.6, macro_f1: (0 + 1 + 2 / 3) / 3});
  });

  test('predictions in any line order, ids matched to the gold ids', () => {
    const pred = write('reviews.jsonl', jsonl([...REVIEW_IDS].reverse().map((idx) => ({idx, label: idx === 'r-3' ? 'mixed' : idx === 'r-1' || idx === 'r-4' ? 'good' : 'bad'}))));
    close(score('reviews', REVIEWS_GOLD, pred), {accuracy: 1, macro_f1: 1});
  });

  test('sentence pairs without an id field are keyed by position; numeric labels read as the gold file writes them', () => {
    const gold = write('claims.jsonl', jsonl([1, 0, 0, 1].map((verdict, i) => ({claim: `c${i}`, evidence: `e${i}`, verdict}))));
    // pred 1 0 1 1 (the 0 written as a string): 3 of 4 right.
    // "0": TP 1, FN 1 → 2/3; "1": TP 2, FP 1 → 4/5.
    const pred = write('claims.jsonl', jsonl([{idx: 0, label: 1}, {idx: 1, label: '0'}, {idx: 2, label: 1}, {idx: 3, label: 1}]));
    close(score('claims', gold, pred), {accuracy: 0.75, macro_f1: (2 / 3 + 4 / 5) / 2});
  });

  test('missing predictions are listed, at most five', () => {
    const gold = write('claims.jsonl', jsonl(Array.from({length: 8}, (_, i) => ({claim: `c${i}`, evidence: `e${i}`, verdict: 'yes'}))));
    const pred = write('claims.jsonl', jsonl([{idx: 1, label: 'yes'}]));
    assertUserError(() => score('claims', gold, pred), new RegExp(`^${escape(pred)}: no prediction for 7 gold example\\(s\\) of ${escape(gold)}: idx 0, 2, 3, 4, 5, …$`));
    const two = write('reviews.jsonl', reviewPredictions(['good', 'bad', 'mixed']));
    assertUserError(() => score('reviews', REVIEWS_GOLD, two), /no prediction for 2 gold example\(s\) of .*: idx "r-4", "r-5"$/);
  });

  test('a duplicate idx names both lines', () => {
    const pred = write('reviews.jsonl', jsonl([{idx: 'r-1', label: 'good'}, {idx: 'r-2', label: 'bad'}, {idx: 'r-1', label: 'bad'}]));
    assertUserError(() => score('reviews', REVIEWS_GOLD, pred), new RegExp(`^${escape(pred)}:3 idx: id "r-1" is predicted twice \\(first at line 1\\)$`));
  });

  test('an idx the gold file lacks names the prediction file and line', () => {
    const pred = write('reviews.jsonl', `${JSON.stringify({idx: 'r-1', label: 'good'})}\n\n${JSON.stringify({idx: 'r-9', label: 'good'})}\n`);
    assertUserError(() => score('reviews', REVIEWS_GOLD, pred), new RegExp(`^${escape(pred)}:3 idx: no gold example with id "r-9" in ${escape(REVIEWS_GOLD)}$`));
  });

  test('a missing label or idx names its field', () => {
    const noLabel = write('reviews.jsonl', jsonl([{idx: 'r-1', label: 'good'}, {idx: 'r-2'}]));
    assertUserError(() => score('reviews', REVIEWS_GOLD, noLabel), new RegExp(`^${escape(noLabel)}:2 label: expected a label \\(string, number or boolean\\), got nothing`));
    const badIdx = write('reviews.jsonl', jsonl([{idx: null, label: 'good'}]));
    assertUserError(() => score('reviews', REVIEWS_GOLD, badIdx), new RegExp(`^${escape(badIdx)}:1 idx: expected the gold example's id \\(a string or number\\), got null$`));
  });

  test('a gold file without labels is refused by the task\'s reader', () => {
    const unlabelled = write('test.csv', 'review_id,review\nr-1,Nice.\n');
    const pred = write('reviews.jsonl', jsonl([{idx: 'r-1', label: 'good'}]));
    assertUserError(() => score('reviews', unlabelled, pred), /no column named "rating" in the header/);
  });
});

// ---------------------------------------------------------------------------------------------
// Tagging

// Columns: index, token, tag (the config's columns {token: 1, tag: -1}).
const PARTS_GOLD = write('parts.tsv', '1\tAnn\tB-PER\n2\tmet\tO\n3\tBob\tB-PER\n4\tLee\tI-PER\n\n1\tRome\tB-LOC\n2\tfell\tO\n');
// Gold spans PER[0], PER[2..3], LOC[0]; predicted PER[0], PER[2], ORG[0]: 1 of 3 right each way.
const PARTS_PREDICTED = [
  ['B-PER', 'O', 'B-PER', 'O'],
  ['B-ORG', 'O'],
];

describe('tagging tasks defined by family', () => {
  test('token-first prediction lines as a run writes them: span precision, recall, F1', () => {
    const pred = write('parts.txt', 'Ann B-PER B-PER\nmet O O\nBob B-PER B-PER\nLee I-PER O\n\nRome B-LOC B-ORG\nfell O O\n');
    close(score('parts', PARTS_GOLD, pred), {precision: 1 / 3, recall: 1 / 3, f1: 1 / 3});
  });

  test('the gold lines with the predicted tag appended score the same', () => {
    const gold = fs.readFileSync(PARTS_GOLD, 'utf8').split('\n');
    const tags = PARTS_PREDICTED.flatMap((sentence) => [...sentence, '']);
    const pred = write('parts.txt', gold.map((line, i) => (line === '' ? '' : `${line}\t${tags[i]}`)).join('\n'));
    close(score('parts', PARTS_GOLD, pred), {precision: 1 / 3, recall: 1 / 3, f1: 1 / 3});
  });

  test('the gold file as its own prediction scores 1', () => {
    close(score('parts', PARTS_GOLD, PARTS_GOLD), {precision: 1, recall: 1, f1: 1});
  });

  test('a token that differs from the gold token names its line', () => {
    const pred = write('parts.txt', 'Ann B-PER\nmet O\nBob B-PER\nLee O\n\nRoma B-LOC\nfell O\n');
    assertUserError(() => score('parts', PARTS_GOLD, pred), new RegExp(`^${escape(pred)}:6 token: token "Roma" does not match "Rome" of the gold sentence at ${escape(PARTS_GOLD)}:6 \\(token 1\\)$`));
  });

  test('a short sentence, a missing sentence and a line without a tag', () => {
    const short = write('parts.txt', 'Ann B-PER\nmet O\nBob B-PER\n\nRome B-LOC\nfell O\n');
    assertUserError(() => score('parts', PARTS_GOLD, short), new RegExp(`^${escape(short)}:4: sentence ends after 3 tokens but the gold sentence at .*:1 has 4$`));
    const oneSentence = write('parts.txt', 'Ann B-PER\nmet O\nBob B-PER\nLee O\n');
    assertUserError(() => score('parts', PARTS_GOLD, oneSentence), new RegExp(`^${escape(oneSentence)}:4: file ends after 1 sentences but .* has 2`));
    const untagged = write('parts.txt', 'Ann B-PER\nmet\n');
    assertUserError(() => score('parts', PARTS_GOLD, untagged), new RegExp(`^${escape(untagged)}:2 tag: expected a token in column 1 and a tag in the last column`));
  });
});

// ---------------------------------------------------------------------------------------------
// Extractive QA

function squad(version: string, qas: {id: string; context: string; answer?: string}[]): string {
  return JSON.stringify({
    version,
    data: [
      {
        title: 't',
        paragraphs: qas.map(({id, context, answer}) => ({
          context,
          qas: [{id, question: `${id}?`, answers: answer === undefined ? [] : [{text: answer, answer_start: context.indexOf(answer)}], is_impossible: answer === undefined}],
        })),
      },
    ],
  });
}

const FAQ_GOLD = write(
  'faq.json',
  squad('v2.0', [
    {id: 'q1', context: 'Ann flew to Paris in May.', answer: 'Paris'},
    {id: 'q2', context: 'Ann flew to Paris in May.', answer: 'May'},
    {id: 'q3', context: 'Nobody knows.'},
    {id: 'q4', context: 'Nobody knows where Ann went.'},
  ]),
);
// q1 right; q2 "in May" against "May": exact 0, F1 2/3; q3 "" right; q4 answers an unanswerable question.
const FAQ_PRED = write('faq-pred.json', JSON.stringify({q1: 'Paris', q2: 'in May', q3: '', q4: 'Ann'}));

const FAQ_SCORES = {
  exact: 50,
  f1: (100 * (1 + 2 / 3 + 1 + 0)) / 4,
  total: 4,
  HasAns_exact: 50,
  HasAns_f1: (100 * (1 + 2 / 3)) / 2,
  HasAns_total: 2,
  NoAns_exact: 50,
  NoAns_f1: 50,
  NoAns_total: 2,
};

describe('QA tasks defined by family', () => {
  test('SQuAD 2.0: exact, F1 and the HasAns / NoAns splits', () => {
    close(score('faq', FAQ_GOLD, FAQ_PRED), FAQ_SCORES);
  });

  test('SQuAD 2.0 with no-answer probabilities: best thresholds', () => {
    const naProb = write('na.json', JSON.stringify({q1: 0.1, q2: 0.2, q3: 0.9, q4: 0.8}));
    // Answering nothing: the 2 unanswerable right. Rising probability: q1 +1 (exact 3, F1 3, best at 0.1),
    // q2 +0 / +2/3 (F1 best 11/3 at 0.2), q4 answered wrongly -1, q3 "" unchanged.
    close(score('faq', FAQ_GOLD, FAQ_PRED, naProb), {
      ...FAQ_SCORES,
      best_exact: 75,
      best_exact_thresh: 0.1,
      best_f1: (100 * (11 / 3)) / 4,
      best_f1_thresh: 0.2,
    });
  });

  test('SQuAD 1.1: exact match and F1', () => {
    const gold = write('manual.json', squad('1.1', [
      {id: 'a', context: 'Turn the red knob.', answer: 'the red knob'},
      {id: 'b', context: 'Press it twice.', answer: 'twice'},
    ]));
    // a: "red knob" vs "the red knob" normalises to "red knob" both ways (articles dropped) → 1, 1; b wrong.
    const pred = write('manual-pred.json', JSON.stringify({a: 'red knob', b: 'Press'}));
    close(score('manual', gold, pred), {exact_match: 50, f1: 50});
  });

  test('a question without prediction names the prediction file', () => {
    const pred = write('faq-pred.json', JSON.stringify({q1: 'Paris', q2: 'May', q3: ''}));
    assertUserError(() => score('faq', FAQ_GOLD, pred), new RegExp(`^${escape(pred)} predictions: no prediction for 1 question\\(s\\) \\(q4\\)`));
    const naProb = write('na.json', JSON.stringify({q1: 0.1, q2: 0.2, q3: 0.9}));
    assertUserError(() => score('faq', FAQ_GOLD, FAQ_PRED, naProb), new RegExp(`^${escape(naProb)} naProbs: no no-answer probability for 1 question\\(s\\) \\(q4\\)`));
  });

  test('no-answer probabilities only for QA version 2.0', () => {
    const naProb = write('na.json', '{}');
    assertUserError(() => score('manual', FAQ_GOLD, FAQ_PRED, naProb), /^--na-prob: no-answer probabilities are only scored for QA tasks of version 2\.0, and manual is QA version 1\.1$/);
    assertUserError(() => score('reviews', REVIEWS_GOLD, FAQ_PRED, naProb), /and reviews is a classification task$/);
  });
});

// ---------------------------------------------------------------------------------------------
// Named tasks and the config

describe('named tasks in a config', () => {
  test('scored as without the config', () => {
    const gold = write('rte.jsonl', jsonl([0, 1, 2, 3].map((idx) => ({premise: 'p', hypothesis: 'h', label: idx < 2 ? 'entailment' : 'not_entailment', idx}))));
    const pred = write('rte-pred.jsonl', jsonl([0, 1, 2, 3].map((idx) => ({idx, label: 'entailment'}))));
    assert.deepEqual(score('rte', gold, pred), {accuracy: 0.5});
    assert.deepEqual(scoreFiles({task: 'rte', gold, pred}), {accuracy: 0.5});
  });

  test('the entry\'s tagging options apply', () => {
    const gold = write('conll.txt', 'John B-PER\nlives O\nin O\nParis B-LOC\n');
    const pred = write('conll-pred.txt', 'John B-PER B-PER\nlives O O\nin O O\nParis B-LOC O\n');
    // Without the config both entities count: P 1, R 1/2; the config leaves LOC out of scoring.
    close(scoreFiles({task: 'conll03', gold, pred}), {precision: 1, recall: 0.5, f1: 2 / 3});
    close(score('conll03', gold, pred), {precision: 1, recall: 1, f1: 1});
  });

  test('a task the config lacks lists the config\'s tasks', () => {
    assertUserError(
      () => score('review', REVIEWS_GOLD, REVIEWS_GOLD),
      new RegExp(`^--task: no task "review" in ${escape(CONFIG)}; its tasks: reviews, claims, parts, faq, manual, conll03, rte$`),
    );
    assert.throws(() => score('review', REVIEWS_GOLD, REVIEWS_GOLD), (error: UserError) => {
      assert.deepEqual(error.suggestions, ['--task reviews']);
      return true;
    });
    // A named task the config does not list is refused too: the config decides.
    assertUserError(() => score('cb', REVIEWS_GOLD, REVIEWS_GOLD), /^--task: no task "cb" in /);
  });
});

describe('ptv2 score --config', () => {
  const built = fs.existsSync('dist/commands/score.js');
  test('--json prints the library\'s scores', {skip: built ? false : 'dist/commands/score.js not built (npm run build)'}, () => {
    const pred = write('reviews.jsonl', reviewPredictions(['good', 'good', 'mixed', 'bad', 'bad']));
    const result = ptv2(['score', '--config', CONFIG, '--task', 'reviews', '--gold', REVIEWS_GOLD, '--pred', pred, '--json'], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), score('reviews', REVIEWS_GOLD, pred));

    const missing = ptv2(['score', '--config', CONFIG, '--task', 'review', '--gold', REVIEWS_GOLD, '--pred', pred], dir);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Error: --task: no task "review" in .*; its tasks: reviews, claims/);
    assert.match(missing.stderr, /try: --task reviews/);
  });
});
