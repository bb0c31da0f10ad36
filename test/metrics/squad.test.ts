import {describe, test} from 'node:test';
import assert from 'node:assert/strict';

import type {SpanExample} from '../../src/data/types.js';
import {UserError} from '../../src/errors.js';
import {exactMatch, normalizeAnswer, squadV1, squadV2, tokenF1} from '../../src/metrics/squad.js';

function question(id: string, answers: string[]): SpanExample {
  const context = answers.join(' ');
  let offset = 0;
  const spans = answers.map((text) => {
    const span = {text, start: offset};
    offset += text.length + 1;
    return span;
  });
  return {kind: 'span', id, question: `q ${id}`, context, answers: spans, isImpossible: answers.length === 0};
}

/** Same keys in the same order, values equal up to float rounding. */
function assertScores(actual: Record<string, number>, expected: Record<string, number>): void {
  assert.deepEqual(Object.keys(actual), Object.keys(expected));
  for (const [key, value] of Object.entries(expected)) {
    assert.ok(Math.abs(actual[key] - value) < 1e-9, `${key}: ${actual[key]} != ${value}`);
  }
}

describe('normalizeAnswer', () => {
  const CASES = [
    {name: 'lower-cases and drops articles', input: 'The Cat', expected: 'cat'},
    {name: 'drops punctuation and collapses spaces', input: '  a   cat!! ', expected: 'cat'},
    {name: 'keeps an article inside a word', input: 'Theater Anthem', expected: 'theater anthem'},
    {name: 'drops an, the between words', input: 'an apple, the pear.', expected: 'apple pear'},
    {name: 'punctuation goes before articles are matched', input: 'U.S.A.', expected: 'usa'},
    {name: 'a hyphen is punctuation, so a-b joins', input: 'state-of-the-art', expected: 'stateoftheart'},
    {name: 'non-ASCII letters are word characters (Python re)', input: 'éa thé', expected: 'éa thé'},
    {name: 'no-break space separates words (Python str.split)', input: 'cat\u00a0dog', expected: 'cat dog'},
    {name: 'typographic quotes are not ASCII punctuation', input: '\u201cquoted\u201d', expected: '\u201cquoted\u201d'},
    {name: 'only an article is empty', input: 'The', expected: ''},
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => assert.equal(normalizeAnswer(input), expected));
  }
});

describe('exactMatch and tokenF1', () => {
  const CASES = [
    {name: 'articles differ: "the cat" vs "a cat"', pred: 'the cat', gold: 'a cat', em: 1, f1: 1},
    {name: 'case and punctuation', pred: 'Cat.', gold: 'cat', em: 1, f1: 1},
    {name: 'different word', pred: 'cats', gold: 'cat', em: 0, f1: 0},
    // pred tokens [big, black, cat], gold [black, cat, sat]: 2 shared, P = R = 2/3, F1 = 2/3
    {name: 'partial overlap', pred: 'the big black cat', gold: 'black cat sat', em: 0, f1: 2 / 3},
    // pred [cat, cat, cat], gold [cat]: shared counts as a multiset, min(3, 1) = 1,
    // P = 1/3, R = 1, F1 = 2 * 1/3 / (4/3) = 0.5
    {name: 'repeated tokens count once per gold occurrence', pred: 'cat cat cat', gold: 'cat', em: 0, f1: 0.5},
    {name: 'empty vs empty (v2.0)', pred: '', gold: '', em: 1, f1: 1},
    {name: 'empty vs an answer', pred: '', gold: 'cat', em: 0, f1: 0},
    {name: 'an article alone normalises to empty', pred: 'the', gold: '', em: 1, f1: 1},
  ];
  for (const {name, pred, gold, em, f1} of CASES) {
    test(name, () => {
      assert.equal(exactMatch(pred, gold), em);
      assert.ok(Math.abs(tokenF1(pred, gold) - f1) < 1e-12, `${tokenF1(pred, gold)} != ${f1}`);
    });
  }
});

describe('squadV1 (evaluate-v1.1.py)', () => {
  test('max over gold answers, a missing prediction scores 0, ×100', () => {
    const dataset = [
      question('q1', ['Denver Broncos', 'the Denver Broncos']),
      question('q2', ['Carolina Panthers']),
      question('q3', ['Santa Clara']),
    ];
    // q1: EM 1, F1 1. q2: pred [panthers], gold [carolina, panthers]: P 1, R 1/2, F1 2/3.
    // q3: no prediction, 0 but still counted in the total of 3.
    const scores = squadV1(dataset, {q1: 'Denver Broncos', q2: 'the Panthers'});
    assertScores(scores, {exact_match: (100 * 1) / 3, f1: (100 * (1 + 2 / 3)) / 3});
  });

  test('an answer that normalises to nothing: EM 1 but F1 0, as in v1.1', () => {
    assertScores(squadV1([question('q', ['The'])], {q: 'a'}), {exact_match: 100, f1: 0});
  });

  test('empty dataset scores 0 rather than NaN', () => {
    assertScores(squadV1([], {}), {exact_match: 0, f1: 0});
  });
});

describe('squadV2 (evaluate-v2.0.py)', () => {
  const dataset = [
    question('h1', ['Denver Broncos']),
    question('h2', ['Carolina Panthers']),
    question('n1', []),
    question('n2', []),
  ];
  const preds = {h1: 'Denver Broncos', h2: 'Panthers', n1: '', n2: 'Denver'};

  test('HasAns / NoAns split, keys in the script order', () => {
    // h1: 1 / 1, h2: 0 / (P 1, R 1/2) 2/3, n1: "" vs "" 1 / 1, n2: "denver" vs "" 0 / 0
    assertScores(squadV2(dataset, preds), {
      exact: (100 * 2) / 4,
      f1: (100 * (1 + 2 / 3 + 1)) / 4,
      total: 4,
      HasAns_exact: (100 * 1) / 2,
      HasAns_f1: (100 * (1 + 2 / 3)) / 2,
      HasAns_total: 2,
      NoAns_exact: 50,
      NoAns_f1: 50,
      NoAns_total: 2,
    });
  });

  test('a no-answer probability above the threshold answers ""', () => {
    // Above 0.5: h2 (answerable, so 0) and n2 (unanswerable, so 1).
    const naProbs = {h1: 0.1, h2: 0.9, n1: 0.2, n2: 0.95};
    const scores = squadV2(dataset, preds, naProbs, 0.5);
    assertScores(
      Object.fromEntries(Object.entries(scores).filter(([key]) => !key.startsWith('best'))),
      {
        exact: 75,
        f1: 75,
        total: 4,
        HasAns_exact: 50,
        HasAns_f1: 50,
        HasAns_total: 2,
        NoAns_exact: 100,
        NoAns_f1: 100,
        NoAns_total: 2,
      },
    );
  });

  test('best thresholds on three questions, by hand', () => {
    const three = [question('a', ['Denver Broncos']), question('c', ['Carolina Panthers']), question('b', [])];
    const guesses = {a: 'Denver Broncos', c: 'Panthers', b: 'something'};
    const naProbs = {a: 0.2, c: 0.5, b: 0.7};
    // Raw scores: a EM 1 F1 1; c EM 0 F1 2/3; b (unanswerable, answered) EM 0 F1 0.
    // Start from answering nothing: the one unanswerable question is right, running total 1.
    // Answer in rising probability: a (+1) -> 2 at 0.2; c (+0 EM, +2/3 F1); b (answered, -1).
    // EM: 1 -> 2 (best, 0.2) -> 2 -> 1.        best_exact 2/3, threshold 0.2
    // F1: 1 -> 2 (best, 0.2) -> 2 2/3 (best, 0.5) -> 1 2/3.  best_f1 (2 + 2/3)/3, threshold 0.5
    assertScores(squadV2(three, guesses, naProbs), {
      exact: 100 / 3,
      f1: (100 * (1 + 2 / 3)) / 3,
      total: 3,
      HasAns_exact: 50,
      HasAns_f1: (100 * (1 + 2 / 3)) / 2,
      HasAns_total: 2,
      NoAns_exact: 0,
      NoAns_f1: 0,
      NoAns_total: 1,
      best_exact: (100 * 2) / 3,
      best_exact_thresh: 0.2,
      best_f1: (100 * (2 + 2 / 3)) / 3,
      best_f1_thresh: 0.5,
    });
  });

  test('no improvement over answering nothing keeps threshold 0', () => {
    const scores = squadV2([question('n', [])], {n: 'oops'}, {n: 0.3});
    assert.equal(scores.best_exact, 100);
    assert.equal(scores.best_exact_thresh, 0);
  });

  test('gold answers that normalise to nothing are dropped', () => {
    // Gold ["The", "Cat"] keeps only "Cat", so "" is wrong; gold ["The"] keeps nothing, so the
    // only right answer is "" although the question counts as answerable.
    const scores = squadV2([question('x', ['The', 'Cat']), question('y', ['The'])], {x: '', y: ''});
    assertScores(scores, {exact: 50, f1: 50, total: 2, HasAns_exact: 50, HasAns_f1: 50, HasAns_total: 2});
  });

  test('missing predictions or probabilities are named', () => {
    assert.throws(
      () => squadV2(dataset, {h1: 'x'}),
      (error: unknown) => error instanceof UserError && /3 question\(s\) \(h2, n1, n2\)/.test(error.message),
    );
    assert.throws(
      () => squadV2(dataset, preds, {h1: 0.1}),
      (error: unknown) => error instanceof UserError && /probability for 3 question\(s\)/.test(error.message),
    );
  });
});
