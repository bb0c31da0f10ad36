import {describe, test} from 'node:test';
import assert from 'node:assert/strict';

import {UserError} from '../../src/errors.js';
import {extractEntities, extractEntitiesStrict, spanScores} from '../../src/metrics/span.js';

const e = (type: string, start: number, end: number) => ({type, start, end});

describe('extractEntities (seqeval default mode, conlleval rules)', () => {
  const CASES = [
    {name: 'I- after O opens an entity', input: ['O', 'I-PER'], expected: [e('PER', 1, 1)]},
    {name: 'a type change splits B-PER I-LOC', input: ['B-PER', 'I-LOC'], expected: [e('PER', 0, 0), e('LOC', 1, 1)]},
    {name: 'I-PER I-PER is one entity', input: ['I-PER', 'I-PER'], expected: [e('PER', 0, 1)]},
    {name: 'B-PER B-PER are two', input: ['B-PER', 'B-PER'], expected: [e('PER', 0, 0), e('PER', 1, 1)]},
    {name: 'IOB1 I- then B- of one type are two', input: ['I-PER', 'B-PER'], expected: [e('PER', 0, 0), e('PER', 1, 1)]},
    {
      name: 'seqeval docstring example',
      input: ['B-PER', 'I-PER', 'O', 'B-LOC'],
      expected: [e('PER', 0, 1), e('LOC', 3, 3)],
    },
    {name: 'a trailing entity is closed', input: ['O', 'B-LOC', 'I-LOC'], expected: [e('LOC', 1, 2)]},
    {name: 'IOBES S-', input: ['O', 'S-LOC', 'O'], expected: [e('LOC', 1, 1)]},
    {name: 'IOBES B- E-', input: ['B-LOC', 'E-LOC'], expected: [e('LOC', 0, 1)]},
    {
      name: 'IOBES B- I- E- then S-',
      input: ['B-LOC', 'I-LOC', 'E-LOC', 'S-PER'],
      expected: [e('LOC', 0, 2), e('PER', 3, 3)],
    },
    {name: 'E- E- are two entities', input: ['E-LOC', 'E-LOC'], expected: [e('LOC', 0, 0), e('LOC', 1, 1)]},
    {name: 'types may hold hyphens', input: ['B-R-ARG0', 'I-R-ARG0', 'B-V'], expected: [e('R-ARG0', 0, 1), e('V', 2, 2)]},
    {name: 'bare tags without a prefix form no entity (conlleval)', input: ['O', 'PER', 'PER', 'O'], expected: []},
    {name: 'bare B I are one untyped chunk', input: ['B', 'I', 'O'], expected: [e('_', 0, 1)]},
    {name: 'all O', input: ['O', 'O'], expected: []},
    {name: 'empty sentence', input: [], expected: []},
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => assert.deepEqual(extractEntities(input), expected));
  }
});

describe('extractEntitiesStrict (seqeval strict mode)', () => {
  const CASES = [
    {name: 'IOB2 rejects I- after O', scheme: 'IOB2', input: ['O', 'I-PER'], expected: []},
    {name: 'IOB2 B- I-', scheme: 'IOB2', input: ['B-PER', 'I-PER', 'O'], expected: [e('PER', 0, 1)]},
    {name: 'IOB2 B-PER I-LOC keeps only PER', scheme: 'IOB2', input: ['B-PER', 'I-LOC'], expected: [e('PER', 0, 0)]},
    {name: 'IOB2 B-PER B-PER are two', scheme: 'IOB2', input: ['B-PER', 'B-PER'], expected: [e('PER', 0, 0), e('PER', 1, 1)]},
    {name: 'IOB2 skips a headless run then finds B-', scheme: 'IOB2', input: ['I-PER', 'I-PER', 'B-LOC'], expected: [e('LOC', 2, 2)]},
    {name: 'IOBES S-', scheme: 'IOBES', input: ['O', 'S-LOC'], expected: [e('LOC', 1, 1)]},
    {name: 'IOBES B- E-', scheme: 'IOBES', input: ['B-LOC', 'E-LOC'], expected: [e('LOC', 0, 1)]},
    {name: 'IOBES B- I- E-', scheme: 'IOBES', input: ['B-LOC', 'I-LOC', 'E-LOC', 'O'], expected: [e('LOC', 0, 2)]},
    {name: 'IOBES B- without E- is no entity', scheme: 'IOBES', input: ['B-LOC', 'I-LOC', 'O'], expected: []},
    {name: 'IOBES lone E- is no entity', scheme: 'IOBES', input: ['E-LOC', 'S-PER'], expected: [e('PER', 1, 1)]},
    {name: 'IOBES B-LOC E-PER is no entity', scheme: 'IOBES', input: ['B-LOC', 'E-PER'], expected: []},
  ] as const;
  for (const {name, scheme, input, expected} of CASES) {
    test(name, () => assert.deepEqual(extractEntitiesStrict(input, scheme), expected));
  }

  test('a prefix outside the scheme is a UserError naming the tag and scheme', () => {
    assert.throws(
      () => extractEntitiesStrict(['B-PER', 'E-PER'], 'IOB2'),
      (error: unknown) =>
        error instanceof UserError && /"E-PER"/.test(error.message) && /IOB2/.test(error.message),
    );
  });
});

describe('spanScores', () => {
  test('seqeval docstring example: micro 0.5, MISC 0, PER 1', () => {
    const gold = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
    const pred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
    assert.deepEqual(spanScores(gold, pred), {
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
      perType: {
        MISC: {precision: 0, recall: 0, f1: 0, support: 1},
        PER: {precision: 1, recall: 1, f1: 1, support: 1},
      },
    });
  });

  test('3 gold, 2 predicted, 1 right: P 1/2, R 1/3, F1 0.4', () => {
    // F1 = 2PR / (P + R) = (2 * 1/2 * 1/3) / (5/6) = (1/3) / (5/6) = 0.4
    const gold = [['B-PER', 'O', 'B-LOC', 'O', 'B-ORG']];
    const pred = [['B-PER', 'O', 'B-ORG', 'O', 'O']];
    const scores = spanScores(gold, pred);
    assert.equal(scores.precision, 0.5);
    assert.equal(scores.recall, 1 / 3);
    assert.ok(Math.abs(scores.f1 - 0.4) < 1e-12);
    assert.deepEqual(scores.perType.ORG, {precision: 0, recall: 0, f1: 0, support: 1});
  });

  test('nothing predicted: precision 0 and F1 0, not NaN', () => {
    const scores = spanScores([['B-PER', 'I-PER']], [['O', 'O']]);
    assert.deepEqual(
      {precision: scores.precision, recall: scores.recall, f1: scores.f1},
      {precision: 0, recall: 0, f1: 0},
    );
    assert.deepEqual(scores.perType, {PER: {precision: 0, recall: 0, f1: 0, support: 1}});
  });

  test('no entities anywhere: all zero, no types', () => {
    assert.deepEqual(spanScores([['O']], [['O']]), {precision: 0, recall: 0, f1: 0, perType: {}});
  });

  test('a type only predicted gets a row with support 0', () => {
    const scores = spanScores([['B-PER']], [['B-LOC']]);
    assert.deepEqual(Object.keys(scores.perType), ['LOC', 'PER']);
    assert.deepEqual(scores.perType.LOC, {precision: 0, recall: 0, f1: 0, support: 0});
  });

  test('entities do not run across sentences', () => {
    const tags = [['O', 'B-PER'], ['I-PER', 'O']];
    assert.equal(spanScores(tags, tags).perType.PER.support, 2);
  });

  test('SRL: excluding V leaves the predicate out of every count', () => {
    const gold = [['B-ARG0', 'B-V', 'B-ARG1', 'I-ARG1']];
    const pred = [['B-ARG0', 'B-V', 'B-ARG1', 'O']];
    // With V: 3 gold, 3 predicted, 2 right (ARG0, V). Without: 2, 2, 1 right (ARG0).
    assert.equal(spanScores(gold, pred).f1, 2 / 3);
    const srl = spanScores(gold, pred, {exclude: ['V']});
    assert.equal(srl.f1, 0.5);
    assert.deepEqual(Object.keys(srl.perType), ['ARG0', 'ARG1']);
  });

  test('strict mode drops an entity that default mode accepts', () => {
    const gold = [['B-PER', 'I-PER']];
    const pred = [['I-PER', 'I-PER']];
    assert.equal(spanScores(gold, pred).f1, 1);
    assert.equal(spanScores(gold, pred, {mode: 'strict'}).f1, 0);
    assert.equal(spanScores([['S-LOC']], [['S-LOC']], {mode: 'strict', scheme: 'IOBES'}).f1, 1);
  });

  test('misaligned sentences are refused', () => {
    assert.throws(() => spanScores([['O']], []), /1 gold sentences but 0 predicted/);
    assert.throws(() => spanScores([['O']], [['O', 'O']]), /sentence 0: 1 gold tags but 2 predicted/);
  });
});
