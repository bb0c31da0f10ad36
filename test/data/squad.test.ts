import {after, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  readNaProbs,
  readSquad,
  readSquadPredictions,
  writeNaProbs,
  writeSquadPredictions,
} from '../../src/data/squad.js';
import {UserError} from '../../src/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
after(() => fs.rmSync(dir, {recursive: true, force: true}));
let fileCount = 0;
function fixture(content: unknown): string {
  const file = path.join(dir, `f${fileCount++}.json`);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

function lineOf(file: string, needle: string): number {
  const text = fs.readFileSync(file, 'utf8');
  return text.slice(0, text.indexOf(needle)).split('\n').length;
}

function assertUserError(run: () => unknown, where: string, part: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UserError, String(error));
    assert.ok(error.message.startsWith(where), `"${error.message}" should start with "${where}"`);
    assert.ok(error.message.includes(part), error.message);
    return true;
  });
}

const CONTEXT = 'Super Bowl 50 was won by the Denver Broncos in Santa Clara.';

function squad(qas: unknown[], context = CONTEXT): unknown {
  return {version: 'v2.0', data: [{title: 'Super_Bowl_50', paragraphs: [{context, qas}]}]};
}

const answerable = {
  id: 'q1',
  question: 'Who won?',
  answers: [
    {text: 'Denver Broncos', answer_start: 29},
    {text: 'the Denver Broncos', answer_start: 25},
  ],
  is_impossible: false,
};
const unanswerable = {
  id: 'q2',
  question: 'Who lost in Paris?',
  answers: [],
  plausible_answers: [{text: 'Santa Clara', answer_start: 47}],
  is_impossible: true,
};

describe('readSquad', () => {
  test('2.0: answers with offsets, unanswerable questions, line of each id', () => {
    const file = fixture(squad([answerable, unanswerable]));
    assert.deepEqual(readSquad(file, '2.0'), [
      {
        kind: 'span',
        id: 'q1',
        question: 'Who won?',
        context: CONTEXT,
        answers: [
          {text: 'Denver Broncos', start: 29},
          {text: 'the Denver Broncos', start: 25},
        ],
        isImpossible: false,
        line: lineOf(file, '"id": "q1"'),
      },
      {
        kind: 'span',
        id: 'q2',
        question: 'Who lost in Paris?',
        context: CONTEXT,
        answers: [],
        isImpossible: true,
        line: lineOf(file, '"id": "q2"'),
      },
    ]);
  });

  test('offsets count code points in the file and UTF-16 units in the example', () => {
    // 😀 is one code point (Python offset 1) but two UTF-16 units.
    const context = '😀 Zürich won';
    const file = fixture(squad([{id: 'u', question: 'Who?', answers: [{text: 'Zürich', answer_start: 2}]}], context));
    const [example] = readSquad(file, '1.1');
    assert.deepEqual(example.answers, [{text: 'Zürich', start: 3}]);
    assert.equal(context.slice(3, 3 + 'Zürich'.length), 'Zürich');
  });

  test('every answer of a dev question is checked; the error names id, JSON path and line', () => {
    const wrong = {...answerable, answers: [answerable.answers[0], {text: 'Denver', answer_start: 3}]};
    const file = fixture(squad([wrong]));
    assertUserError(
      () => readSquad(file, '1.1'),
      `${file}:${lineOf(file, '"id": "q1"')} data[0].paragraphs[0].qas[0].answers[1].answer_start: question q1:`,
      'answer "Denver" is not in the context at offset 3, which reads "er Bow"',
    );
  });

  const ERRORS = [
    {
      name: 'unanswerable question read as 1.1',
      content: squad([unanswerable]),
      field: 'data[0].paragraphs[0].qas[0].answers',
      part: 'SQuAD 1.1 questions need at least one',
    },
    {
      name: 'is_impossible with answers',
      content: squad([{...answerable, is_impossible: true}]),
      field: 'data[0].paragraphs[0].qas[0].answers',
      part: 'is_impossible is true but answers is not empty',
    },
    {
      name: 'negative answer_start',
      content: squad([{...answerable, answers: [{text: 'x', answer_start: -1}]}]),
      field: 'data[0].paragraphs[0].qas[0].answers[0].answer_start',
      part: 'found -1',
    },
    {
      name: 'duplicate id',
      content: squad([answerable, answerable]),
      field: 'data[0].paragraphs[0].qas[1].id',
      part: 'id already used at data[0].paragraphs[0].qas[0]',
    },
  ];
  for (const {name, content, field, part} of ERRORS) {
    test(`error: ${name}`, () => {
      const file = fixture(content);
      assertUserError(() => readSquad(file, '1.1'), `${file}:${lineOf(file, '"id": "q')} ${field}:`, part);
    });
  }

  test('structural errors name the JSON path', () => {
    const noContext = fixture({data: [{paragraphs: [{qas: []}]}]});
    assertUserError(() => readSquad(noContext, '2.0'), `${noContext} data[0].paragraphs[0].context:`, 'expected a string, found nothing');
    const noData = fixture({version: '1.1'});
    assertUserError(() => readSquad(noData, '1.1'), `${noData} data:`, 'expected an array of articles');
  });

  test('invalid JSON gives the line of the syntax error', () => {
    const file = fixture('{\n  "data": [],\n}\n');
    assertUserError(() => readSquad(file, '2.0'), `${file}:3: invalid JSON`, 'property name');
  });
});

describe('readSquad with answers optional (test files)', () => {
  const questionOnly = {id: 'q3', question: 'Where was it played?'};

  test('a question with neither answers nor is_impossible reads unlabelled, answers []', () => {
    const file = fixture(squad([questionOnly]));
    assert.deepEqual(readSquad(file, '2.0', {answers: 'optional'}), [
      {
        kind: 'span',
        id: 'q3',
        question: 'Where was it played?',
        context: CONTEXT,
        answers: [],
        isImpossible: false,
        unlabelled: true,
        line: lineOf(file, '"id": "q3"'),
      },
    ]);
    assert.equal(readSquad(file, '1.1', {answers: 'optional'})[0].unlabelled, true);
  });

  test('with answers required (the default) the same file fails naming the answers field', () => {
    const file = fixture(squad([questionOnly]));
    const where = `${file}:${lineOf(file, '"id": "q3"')} data[0].paragraphs[0].qas[0].answers: question q3:`;
    assertUserError(() => readSquad(file, '2.0'), where, 'expected an array of answers, found nothing');
    assertUserError(() => readSquad(file, '2.0', {answers: 'required'}), where, 'expected an array of answers, found nothing');
  });

  test('labelled questions in an optional read stay labelled', () => {
    const file = fixture(squad([answerable, unanswerable, questionOnly]));
    const [q1, q2, q3] = readSquad(file, '2.0', {answers: 'optional'});
    assert.equal(q1.unlabelled, undefined);
    assert.deepEqual(q1.answers, [
      {text: 'Denver Broncos', start: 29},
      {text: 'the Denver Broncos', start: 25},
    ]);
    assert.equal(q2.unlabelled, undefined);
    assert.equal(q2.isImpossible, true);
    assert.equal(q3.unlabelled, true);
  });

  test('is_impossible false without answers is still an error when answers are optional', () => {
    const file = fixture(squad([{...questionOnly, is_impossible: false}]));
    assertUserError(
      () => readSquad(file, '2.0', {answers: 'optional'}),
      `${file}:${lineOf(file, '"id": "q3"')} data[0].paragraphs[0].qas[0].answers: question q3:`,
      'expected an array of answers, found nothing',
    );
  });
});

describe('prediction and no-answer probability files', () => {
  test('predictions round trip', () => {
    const preds = {q1: 'Denver Broncos', q2: '', '😀': 'Zürich'};
    const file = path.join(dir, 'out', 'predictions.json');
    writeSquadPredictions(file, preds);
    assert.deepEqual(readSquadPredictions(file), preds);
  });

  test('no-answer probabilities round trip', () => {
    const probs = {q1: 0.125, q2: 0.875};
    const file = path.join(dir, 'out', 'na_probs.json');
    writeNaProbs(file, probs);
    assert.deepEqual(readNaProbs(file), probs);
  });

  test('a wrong value names its question id', () => {
    const preds = fixture({q1: 'x', q2: 3});
    assertUserError(() => readSquadPredictions(preds), `${preds} "q2":`, 'expected an answer string, found a number');
    const probs = fixture({q1: 'high'});
    assertUserError(() => readNaProbs(probs), `${probs} "q1":`, 'expected a no-answer probability');
    const list = fixture(['x']);
    assertUserError(() => readSquadPredictions(list), `${list}:`, 'expected an object mapping question ids');
  });
});
