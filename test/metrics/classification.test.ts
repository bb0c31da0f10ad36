import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {accuracy, binaryF1, macroF1} from '../../src/metrics/classification.js';

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

// Three classes, six items:
//   gold a a a b b c
//   pred a a b b c c
// a: TP 2 (items 0,1), FP 0, FN 1 (item 2)          F1 = 2·2/(2·2+0+1) = 4/5
// b: TP 1 (item 3), FP 1 (item 2), FN 1 (item 4)    F1 = 2/(2+1+1)     = 1/2
// c: TP 1 (item 5), FP 1 (item 4), FN 0             F1 = 2/(2+1+0)     = 2/3
// macro = (4/5 + 1/2 + 2/3) / 3 = 59/90; with a fourth label d never seen, (…+0)/4 = 59/120.
const GOLD3 = ['a', 'a', 'a', 'b', 'b', 'c'];
const PRED3 = ['a', 'a', 'b', 'b', 'c', 'c'];

describe('accuracy', () => {
  const CASES = [
    {name: 'three classes, 4 of 6 right', pred: PRED3, gold: GOLD3, expected: 4 / 6},
    {name: 'numbers', pred: [1, 0, 1], gold: [1, 1, 1], expected: 2 / 3},
    {name: 'string and number never match', pred: ['1', 0], gold: [1, 0], expected: 1 / 2},
    {name: 'empty', pred: [], gold: [], expected: 0},
  ];
  for (const {name, pred, gold, expected} of CASES) test(name, () => close(accuracy(pred, gold), expected));
});

describe('macroF1', () => {
  const CASES = [
    {name: 'three classes worked by hand', pred: PRED3, gold: GOLD3, labels: ['a', 'b', 'c'], expected: 59 / 90},
    {name: 'a label never predicted nor gold counts as 0', pred: PRED3, gold: GOLD3, labels: ['a', 'b', 'c', 'd'], expected: 59 / 120},
    // Only class a: TP 2, FP 0, FN 1 → 4/5; predictions of other classes are just not-a.
    {name: 'restricted to one label', pred: PRED3, gold: GOLD3, labels: ['a'], expected: 4 / 5},
    {name: 'all right', pred: [0, 1, 2], gold: [0, 1, 2], labels: [0, 1, 2], expected: 1},
  ];
  for (const {name, pred, gold, labels, expected} of CASES) test(name, () => close(macroF1(pred, gold, labels), expected));
});

describe('binaryF1', () => {
  const CASES = [
    // gold 1 0 1 1 0, pred 1 1 0 1 0: TP 2, FP 1, FN 1 → P = R = 2/3 → F1 = 2/3
    {name: 'precision and recall 2/3', pred: [1, 1, 0, 1, 0], gold: [1, 0, 1, 1, 0], positive: 1, expected: 2 / 3},
    // positive 'yes': TP 1, FP 0, FN 2 → P 1, R 1/3 → F1 = 2·(1/3)/(4/3) = 1/2
    {name: 'high precision, low recall', pred: ['yes', 'no', 'no'], gold: ['yes', 'yes', 'yes'], positive: 'yes', expected: 1 / 2},
    {name: 'no positive anywhere is 0', pred: [0, 0], gold: [0, 0], positive: 1, expected: 0},
  ];
  for (const {name, pred, gold, positive, expected} of CASES) test(name, () => close(binaryF1(pred, gold, positive), expected));
});

test('mismatched lengths throw a plain Error', () => {
  assert.throws(() => accuracy([1], [1, 0]), {name: 'Error', message: '1 predictions for 2 gold labels'});
  assert.throws(() => macroF1([1, 0], [1], [0, 1]), /2 predictions for 1 gold labels/);
  assert.throws(() => binaryF1([], [1], 1), /0 predictions for 1 gold labels/);
});
