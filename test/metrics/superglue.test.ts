import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {multircScores, recordScores} from '../../src/metrics/superglue.js';

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

describe('multircScores', () => {
  const CASES = [
    {
      // q1 all three options right; q2 gets option 1 (FP) and option 2 (FN) wrong.
      // Over all six options: TP 3, FP 1, FN 1 → F1a = 6/(6+1+1) = 3/4; EM = 1 of 2 questions.
      name: 'one question fully right, one not',
      items: [
        {group: '0-0', pred: 1, gold: 1},
        {group: '0-0', pred: 0, gold: 0},
        {group: '0-0', pred: 1, gold: 1},
        {group: '0-1', pred: 1, gold: 0},
        {group: '0-1', pred: 0, gold: 1},
        {group: '0-1', pred: 1, gold: 1},
      ] as const,
      expected: {f1a: 3 / 4, em: 1 / 2},
    },
    {
      // Everything predicted 0: no TP → F1a 0; q '1-3' has gold all 0 so it is exactly right.
      name: 'all negative predictions',
      items: [
        {group: '1-2', pred: 0, gold: 1},
        {group: '1-3', pred: 0, gold: 0},
        {group: '1-3', pred: 0, gold: 0},
      ] as const,
      expected: {f1a: 0, em: 1 / 2},
    },
    {name: 'empty', items: [] as const, expected: {f1a: 0, em: 0}},
  ];
  for (const {name, items, expected} of CASES) {
    test(name, () => {
      const scores = multircScores([...items]);
      close(scores.f1a, expected.f1a);
      close(scores.em, expected.em);
    });
  }
});

describe('ReCoRD normalisation', () => {
  const CASES = [
    {pred: 'The Delbrook Gazette!', gold: 'delbrook gazette', em: 1},
    {pred: "  An  old   mill's-wheel. ", gold: 'old millswheel', em: 1},
    {pred: 'Theatre of a thousand', gold: 'theatre of thousand', em: 1},
    // Articles only go as whole words, and non-ASCII letters are word characters as in Python.
    {pred: 'éthe', gold: 'é', em: 0},
    {pred: 'Mara Voss', gold: 'Mara-Voss', em: 0},
  ];
  for (const {pred, gold, em} of CASES) {
    test(`${JSON.stringify(pred)} vs ${JSON.stringify(gold)}`, () => assert.equal(recordScores([{query: 'q', predText: pred, goldTexts: [gold]}]).em, em));
  }
});

describe('recordScores', () => {
  test('normalisation, partial overlap and max over gold answers', () => {
    const scores = recordScores([
      // articles and punctuation fall away: EM 1, F1 1
      {query: 'q1', predText: 'The Delbrook Gazette', goldTexts: ['Delbrook Gazette!']},
      // "mara voss" vs "voss": 1 common token, P 1/2, R 1 → F1 2/3; "tobin" 0 → 2/3; EM 0
      {query: 'q2', predText: 'Mara Voss', goldTexts: ['Voss', 'Tobin']},
      // "old mill" vs "mill": P 1/2 R 1 → 2/3; vs "old mill house": P 1, R 2/3 → 4/5; max 4/5; EM 0
      {query: 'q3', predText: 'an old mill', goldTexts: ['the Mill', 'old mill house']},
    ]);
    close(scores.em, 1 / 3);
    close(scores.f1, (1 + 2 / 3 + 4 / 5) / 3);
  });

  test('a query without gold answers scores 0', () => {
    assert.deepEqual(recordScores([{query: 'q', predText: 'Voss', goldTexts: []}]), {em: 0, f1: 0});
  });

  test('nothing left after normalisation: EM 1 but F1 0, as in the official script', () => {
    assert.deepEqual(recordScores([{query: 'q', predText: 'The', goldTexts: ['a.']}]), {em: 1, f1: 0});
  });

  test('repeated tokens count once per gold occurrence', () => {
    // pred "voss voss" vs gold "voss": common 1, P 1/2, R 1 → 2/3
    close(recordScores([{query: 'q', predText: 'Voss Voss', goldTexts: ['Voss']}]).f1, 2 / 3);
  });

  test('a query scored twice is a programming error', () => {
    assert.throws(() => recordScores([
      {query: 'q', predText: 'a', goldTexts: ['a']},
      {query: 'q', predText: 'b', goldTexts: ['b']},
    ]), {name: 'Error', message: /query q is scored twice/});
  });
});
