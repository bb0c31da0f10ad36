/**
 * Multiple-choice, token-classification and span-extraction heads: losses by hand on tiny inputs,
 * ignored and padded positions, span decoding, tensor bookkeeping, and analytic gradients of each
 * head's variables and input features against central finite differences (as gradients.test.ts).
 */
import {test, describe, before} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  bestSpan,
  MASKED_LOGIT,
  MultipleChoiceHead,
  SpanExtractionHead,
  TokenClassificationHead,
  type BestSpanOptions,
  type Span,
} from '../../src/model/task-heads.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {checkDirectionalDerivative} from '../helpers/finite-difference.js';

before(async () => {
  await tf.setBackend('cpu');
});

function setLinear(variables: tf.Variable[], w: number[][], b: number[]): void {
  variables[0].assign(tf.tensor2d(w));
  variables[1].assign(tf.tensor1d(b));
}

function scalar(f: () => tf.Scalar): number {
  return tf.tidy(() => f().dataSync()[0]);
}

/** −log softmax(logits)[label], in float64. */
function ce(logits: number[], label: number): number {
  const z = logits.reduce((s, x) => s + Math.exp(x), 0);
  return Math.log(z) - logits[label];
}

function assertClose(actual: number, expected: number, message: string, tol = 1e-5): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${message}: ${actual} vs ${expected}`);
}

describe('MultipleChoiceHead', () => {
  test('scores are per-choice dot products and the loss is cross-entropy over choices', () => {
    const head = new MultipleChoiceHead(2, 0, 1);
    setLinear(head.variables, [[1], [-1]], [0.5]);
    // Example 0: rows [1,0], [0,0], [2,1] → scores [1.5, 0.5, 1.5]; label 0:
    //   CE = log(2e^1.5 + e^0.5) − 1.5 = log(2e + 1) − 1 ≈ 0.86200.
    // Example 1: rows [0,1], [0,0], [3,0] → scores [−0.5, 0.5, 3.5]; label 2:
    //   CE = log(e^−0.5 + e^0.5 + e^3.5) − 3.5 ≈ 0.06587.
    const features = [[1, 0], [0, 0], [2, 1], [0, 1], [0, 0], [3, 0]];
    const scores = tf.tidy(() => head.scores(tf.tensor2d(features), 3, false).arraySync());
    assert.deepEqual(scores, [[1.5, 0.5, 1.5], [-0.5, 0.5, 3.5]]);
    const loss = scalar(() => head.loss(head.scores(tf.tensor2d(features), 3, false), new Int32Array([0, 2])));
    const expected = (Math.log(2 * Math.E + 1) - 1 + ce([-0.5, 0.5, 3.5], 2)) / 2;
    assertClose(loss, expected, 'multiple-choice loss');
    assertClose(expected, (0.862 + 0.06587) / 2, 'hand value', 1e-4);
    head.dispose();
  });

  test('rejects rows that do not group into the choice count', () => {
    const head = new MultipleChoiceHead(2, 0, 1);
    assert.throws(() => tf.tidy(() => head.scores(tf.zeros([5, 2]) as tf.Tensor2D, 2, false)), /5 feature rows .* 2 choices/);
    head.dispose();
  });
});

describe('TokenClassificationHead', () => {
  // logits = features · [[1,0,0],[0,1,0]]: row [a, b] → [a, b, 0].
  const tagWeights = [[1, 0, 0], [0, 1, 0]];
  const labels = new Int32Array([2, 0, -1]);
  // Row 0 [0,0] → logits [0,0,0], label 2: CE = log 3 ≈ 1.09861.
  // Row 1 [1,0] → logits [1,0,0], label 0: CE = log(e + 2) − 1 ≈ 0.55144.
  // Row 2 ignored. Mean over the two labelled rows ≈ 0.82503.
  const expected = (Math.log(3) + Math.log(Math.E + 2) - 1) / 2;

  const lossFor = (head: TokenClassificationHead, rows: number[][], tags: Int32Array) =>
    scalar(() => head.loss(head.logits(tf.tensor2d(rows), false), tags));

  test('loss is the mean cross-entropy over labelled positions', () => {
    const head = new TokenClassificationHead(2, 3, 0, 2);
    setLinear(head.variables, tagWeights, [0, 0, 0]);
    assertClose(lossFor(head, [[0, 0], [1, 0], [5, 5]], labels), expected, 'token loss');
    assertClose(expected, 0.82503, 'hand value', 1e-4);
    head.dispose();
  });

  test('an ignored position’s logits do not change the loss', () => {
    const head = new TokenClassificationHead(2, 3, 0, 2);
    setLinear(head.variables, tagWeights, [0, 0, 0]);
    const CASES = [
      {name: 'large positive', row: [40, 7]},
      {name: 'large negative', row: [-30, -90]},
      {name: 'zero', row: [0, 0]},
    ];
    for (const c of CASES) assertClose(lossFor(head, [[0, 0], [1, 0], c.row], labels), expected, c.name);
    head.dispose();
  });

  test('a batch with every position ignored gives loss 0 and zero gradients', () => {
    const head = new TokenClassificationHead(2, 3, 0, 2);
    const none = new Int32Array([-1, -1, -1]);
    const features = tf.tensor2d([[0.3, -1], [2, 0], [5, 5]]);
    assert.equal(lossFor(head, [[0.3, -1], [2, 0], [5, 5]], none), 0, 'loss is +0');
    const {value, grads} = tf.variableGrads(() => head.loss(head.logits(features, false), none), head.variables);
    assert.equal(value.dataSync()[0], 0);
    for (const g of Object.values(grads)) assert.ok(Array.from(g.dataSync()).every((x) => x === 0), 'gradient is all zeros');
    tf.dispose([features, value, ...Object.values(grads)]);
    head.dispose();
  });

  test('rejects labels that do not fit the logits', () => {
    const head = new TokenClassificationHead(2, 3, 0, 2);
    const CASES = [
      {name: 'too few labels', labels: [0, 1], expected: /2 labels for 3 logit rows/},
      {name: 'tag out of range', labels: [0, 3, -1], expected: /label 3 at row 1 is outside the 3 classes/},
    ];
    for (const c of CASES) {
      assert.throws(() => lossFor(head, [[0, 0], [1, 0], [5, 5]], new Int32Array(c.labels)), c.expected, c.name);
    }
    head.dispose();
  });
});

describe('SpanExtractionHead', () => {
  // start logit = feature 0, end logit = feature 1.
  const identity = [[1, 0], [0, 1]];
  const rows = [[0, 0], [1, 0], [0, 1]];

  const lossFor = (head: SpanExtractionHead, features: number[][], candidates: number[], start: number, end: number) =>
    scalar(() => head.loss(head.logits(tf.tensor2d(features), 1, new Float32Array(candidates)), new Int32Array([start]), new Int32Array([end])));

  test('loss is the mean of start and end cross-entropies', () => {
    const head = new SpanExtractionHead(2, 3);
    setLinear(head.variables, identity, [0, 0]);
    const CASES = [
      // start [0,1,0] at 1: log(e + 2) − 1; end [0,0,1] at 2: the same. Mean ≈ 0.55144.
      {name: 'answer at 1..2', start: 1, end: 2, expected: Math.log(Math.E + 2) - 1},
      // SQuAD 2.0 null answer at [CLS]: start and end CE are both log(e + 2) ≈ 1.55144.
      {name: 'null answer at [CLS]', start: 0, end: 0, expected: Math.log(Math.E + 2)},
    ];
    for (const c of CASES) assertClose(lossFor(head, rows, [1, 1, 1], c.start, c.end), c.expected, c.name);
    head.dispose();
  });

  test('padding positions are masked before the softmax', () => {
    const head = new SpanExtractionHead(2, 3);
    setLinear(head.variables, identity, [0, 0]);
    const {start, end} = tf.tidy(() => {
      const out = head.logits(tf.tensor2d(rows), 1, new Float32Array([1, 1, 0]));
      return {start: out.start.arraySync(), end: out.end.arraySync()};
    });
    assert.deepEqual(start, [[0, 1, MASKED_LOGIT]]);
    assert.deepEqual(end, [[0, 0, MASKED_LOGIT]]);
    // start [0,1] at 1: log(e + 1) − 1 ≈ 0.31326; end [0,0] at 1: log 2 ≈ 0.69315. Mean ≈ 0.50320.
    const expected = (Math.log(Math.E + 1) - 1 + Math.log(2)) / 2;
    assertClose(expected, 0.5032, 'hand value', 1e-4);
    for (const padding of [[0, 1], [50, -50], [1e4, 1e4]]) {
      assertClose(lossFor(head, [rows[0], rows[1], padding], [1, 1, 0], 1, 1), expected, `padding row ${padding}`);
    }
    head.dispose();
  });

  test('logits keep examples apart in a batch', () => {
    const head = new SpanExtractionHead(2, 3);
    setLinear(head.variables, identity, [0, 0]);
    const start = tf.tidy(() => head.logits(tf.tensor2d([[1, 0], [2, 0], [3, 0], [4, 0]]), 2, new Float32Array([1, 1, 1, 0])).start.arraySync());
    assert.deepEqual(start, [[1, 2], [3, MASKED_LOGIT]]);
    head.dispose();
  });
});

describe('bestSpan', () => {
  //              0  1  2  3  4  5
  const start = [5, 1, 3, 0, 2, 4];
  const end = [4, 0, 1, 3, 2, 6];
  const span = (s: number, e: number): Span => ({start: s, end: e, score: start[s] + end[e]});
  const base: BestSpanOptions = {maxAnswerLength: 30, nBest: 20, contextStart: 1, contextEnd: 5};

  const CASES: {name: string; opts: Partial<BestSpanOptions>; expected: {spans: Span[]; nullScore?: number}}[] = [
    {name: 'single-token answers only', opts: {maxAnswerLength: 1, nBest: 2}, expected: {spans: [span(5, 5), span(2, 2)]}},
    {
      // (2,3)=6, then (2,2)=4 and (4,4)=4 by earlier start, then (3,3)=3; (1,3) is 3 tokens long.
      name: 'max length 2, ties by earlier start',
      opts: {maxAnswerLength: 2, nBest: 4, contextEnd: 4},
      expected: {spans: [span(2, 3), span(2, 2), span(4, 4), span(3, 3)]},
    },
    {
      name: 'position 0 outside the context is never used',
      opts: {nBest: 3},
      expected: {spans: [span(5, 5), span(2, 5), span(4, 5)]},
    },
    {
      // With position 0 in the context: (0,5)=11, (5,5)=10, (0,0)=9 before (2,5)=9.
      name: 'context from 0',
      opts: {nBest: 4, contextStart: 0},
      expected: {spans: [span(0, 5), span(5, 5), span(0, 0), span(2, 5)]},
    },
    {name: 'null score is start[0] + end[0]', opts: {nBest: 1, nullScore: true}, expected: {spans: [span(5, 5)], nullScore: 9}},
    {name: 'empty context', opts: {contextStart: 4, contextEnd: 3, nullScore: true}, expected: {spans: [], nullScore: 9}},
    {name: 'context clipped to the sequence', opts: {nBest: 1, contextStart: 5, contextEnd: 99}, expected: {spans: [span(5, 5)]}},
  ];
  for (const c of CASES) {
    test(c.name, () => {
      assert.deepEqual(bestSpan(new Float32Array(start), new Float32Array(end), {...base, ...c.opts}), c.expected);
    });
  }

  test('never returns an end before its start', () => {
    // The best end (1) lies before the best start (2): the answer must pair them otherwise.
    const result = bestSpan(new Float32Array([0, 0, 5, 0]), new Float32Array([0, 5, 0, 1]), {...base, contextEnd: 3, nBest: 20});
    assert.ok(result.spans.every((s) => s.start <= s.end));
    assert.deepEqual(result.spans[0], {start: 2, end: 3, score: 6});
    assert.equal(result.spans.length, 6);
  });

  test('rejects a zero n-best or max length', () => {
    const f = new Float32Array(3);
    assert.throws(() => bestSpan(f, f, {...base, nBest: 0}), /at least 1/);
    assert.throws(() => bestSpan(f, f, {...base, maxAnswerLength: 0}), /at least 1/);
  });
});

interface GradientCase {
  name: string;
  variables: tf.Variable[];
  /** Variables the loss cannot depend on: their gradient must vanish instead. */
  invariant?: tf.Variable[];
  /** Rows of input features, checked as a variable of their own. */
  featureShape: [number, number];
  loss: (features: tf.Tensor2D) => tf.Scalar;
  dispose: () => void;
}

function gradientCases(): GradientCase[] {
  const hidden = 4;
  const choice = new MultipleChoiceHead(hidden, 0.1, 5);
  const tags = new TokenClassificationHead(hidden, 3, 0.1, 6);
  const spans = new SpanExtractionHead(hidden, 7);
  const tagLabels = new Int32Array([0, 2, -1, 1, -1, 2]);
  const candidates = new Float32Array([1, 1, 1, 1, 1, 0]);
  return [
    {
      name: 'multiple choice',
      variables: choice.variables,
      // One bias shared by every choice shifts all scores alike, which the softmax ignores.
      invariant: [choice.variables[1]],
      featureShape: [6, hidden],
      loss: (x) => choice.loss(choice.scores(x, 3, false), new Int32Array([2, 0])),
      dispose: () => choice.dispose(),
    },
    {
      name: 'token classification',
      variables: tags.variables,
      featureShape: [6, hidden],
      loss: (x) => tags.loss(tags.logits(x, false), tagLabels),
      dispose: () => tags.dispose(),
    },
    {
      name: 'span extraction',
      variables: spans.variables,
      // Likewise the start and end biases, each shared by every position of its softmax.
      invariant: [spans.variables[1]],
      featureShape: [6, hidden],
      loss: (x) => spans.loss(spans.logits(x, 2, candidates), new Int32Array([1, 0]), new Int32Array([2, 1])),
      dispose: () => spans.dispose(),
    },
  ];
}

test('head and feature gradients agree with central finite differences', () => {
  const rng = mulberry32(9);
  for (const c of gradientCases()) {
    // Unit-scale weights and features keep gradients well above float32 noise.
    c.variables[0].assign(tf.tensor(normalArray(rng, c.variables[0].size, 1), c.variables[0].shape));
    c.variables[1].assign(tf.tensor(normalArray(rng, c.variables[1].size, 1), c.variables[1].shape));
    const features = tf.variable(tf.tensor2d(normalArray(rng, c.featureShape[0] * c.featureShape[1], 1), c.featureShape), true, `features:${c.name}`);
    const checked = [...c.variables, features];
    const lossValue = () => scalar(() => c.loss(features));
    const {grads} = tf.variableGrads(() => c.loss(features), checked);
    for (const v of checked) {
      const analytic = grads[v.name].dataSync();
      const {numeric, predicted} = checkDirectionalDerivative(v, analytic as Float32Array, lossValue, rng, c.name);
      if (c.invariant?.includes(v)) {
        assert.ok(Math.abs(predicted) < 1e-5, `${c.name}: ${v.name} gradient ${predicted} should vanish`);
      } else {
        assert.ok(Math.abs(numeric) > 1e-3, `${c.name}: ${v.name} gradient ${numeric} is too small to check`);
      }
    }
    tf.dispose([features, ...Object.values(grads)]);
    c.dispose();
  }
});

test('create → loss (training, with dropout) → dispose leaves no tensors behind', () => {
  const before = tf.memory().numTensors;
  const features = () => tf.tensor2d(normalArray(mulberry32(1), 24, 1), [6, 4]);
  const choice = new MultipleChoiceHead(4, 0.1, 1);
  scalar(() => choice.loss(choice.scores(features(), 2, true), new Int32Array([1, 0, 1])));
  choice.dispose();
  const tags = new TokenClassificationHead(4, 3, 0.1, 2);
  scalar(() => tags.loss(tags.logits(features(), true), new Int32Array([0, -1, 2, 1, -1, 0])));
  tags.dispose();
  const spans = new SpanExtractionHead(4, 3);
  scalar(() => spans.loss(spans.logits(features(), 2, new Float32Array(6).fill(1)), new Int32Array([0, 1]), new Int32Array([2, 1])));
  spans.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('heads start as N(0, 0.02) weights and zero bias, reproducibly per seed', () => {
  const CASES = [
    {name: 'multiple choice', make: (seed: number) => new MultipleChoiceHead(64, 0, seed)},
    {name: 'token classification', make: (seed: number) => new TokenClassificationHead(64, 5, 0, seed)},
    {name: 'span extraction', make: (seed: number) => new SpanExtractionHead(64, seed)},
  ];
  for (const c of CASES) {
    const [a, b, other] = [c.make(4), c.make(4), c.make(5)];
    const w = a.variables[0].dataSync() as Float32Array;
    const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
    assert.ok(std > 0.01 && std < 0.03, `${c.name}: weight std ${std}`);
    assert.ok(a.variables[1].dataSync().every((x) => x === 0), `${c.name}: bias is zero`);
    assert.deepEqual(b.variables[0].dataSync(), w, `${c.name}: same seed, same weights`);
    assert.notDeepEqual(other.variables[0].dataSync(), w, `${c.name}: other seed, other weights`);
    assert.notEqual(a.variables[0].name, b.variables[0].name, `${c.name}: variable names are unique`);
    [a, b, other].forEach((head) => head.dispose());
  }
});
