import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {AdamW, clipByGlobalNorm, decays} from '../../src/train/optimizer.js';
import {learningRateAt} from '../../src/train/schedule.js';

test('AdamW matches two hand-computed steps with decoupled weight decay', async () => {
  await tf.setBackend('cpu');
  const p = tf.variable(tf.tensor1d([1, -2]), true, 'w.weight');
  const bias = tf.variable(tf.tensor1d([0.5]), true, 'w.bias');
  const opt = new AdamW([p, bias], {weightDecay: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8});
  // Step 1, lr 0.1, g = [0.2, -0.4]: m̂ = g, v̂ = g², update = lr·sign(g) (|g|/(|g|+ε) ≈ 1);
  // decay first: p·(1 − 0.1·0.1) = [0.99, −1.98] → [0.89, −1.88]. Bias: not decayed.
  opt.apply([tf.tensor1d([0.2, -0.4]), tf.tensor1d([1])], 0.1);
  assert.deepEqual(Array.from(p.dataSync()).map((x) => +x.toFixed(5)), [0.89, -1.88]);
  assert.deepEqual(Array.from(bias.dataSync()).map((x) => +x.toFixed(5)), [0.4]);
  // Step 2, g = [0.2, 0]: for p[0], m = 0.9·0.02 + 0.1·0.2 = 0.038, m̂ = 0.038/(1 − 0.81) = 0.2;
  // v = 0.999·0.00004 + 0.001·0.04 = 0.00007996, v̂ = 0.00007996/(1 − 0.998001) = 0.04, √v̂ = 0.2;
  // p = 0.89·0.99 − 0.1·0.2/0.2 = 0.7811. For p[1] (g = 0): m = −0.036, m̂ = −0.189474,
  // v̂ = 0.00015984/0.001999 = 0.0799600, √v̂ = 0.282772; p = −1.88·0.99 + 0.1·0.670059 = −1.794194.
  opt.apply([tf.tensor1d([0.2, 0]), tf.tensor1d([0])], 0.1);
  const [p0, p1] = p.dataSync();
  assert.ok(Math.abs(p0 - 0.7811) < 1e-5, `p[0] = ${p0}`);
  assert.ok(Math.abs(p1 - -1.794194) < 1e-5, `p[1] = ${p1}`);
  opt.dispose();
  tf.dispose([p, bias]);
});

test('no weight decay for biases and LayerNorm parameters', () => {
  const CASES = [
    {name: 'encoder.layer.0.attention.output.LayerNorm.weight#3', expected: false},
    {name: 'classifier.bias#1', expected: false},
    {name: 'classifier.weight#1', expected: true},
    {name: 'prompt.embeddings#0', expected: true},
  ];
  for (const c of CASES) assert.equal(decays(c.name), c.expected, c.name);
});

test('global-norm clipping scales to the limit and leaves small gradients alone', async () => {
  await tf.setBackend('cpu');
  const grads = [tf.tensor1d([3, 0]), tf.tensor1d([4])]; // norm 5
  const clipped = clipByGlobalNorm(grads, 1);
  assert.ok(Math.abs(clipped.norm - 5) < 1e-6);
  const after = Math.hypot(...clipped.grads.flatMap((g) => Array.from(g.dataSync())));
  assert.ok(Math.abs(after - 1) < 1e-5, `norm after clipping ${after}`);
  const untouched = clipByGlobalNorm(grads, 10);
  assert.deepEqual(Array.from(untouched.grads[0].dataSync()), [3, 0]);
  tf.dispose([...grads, ...clipped.grads, ...untouched.grads]);
});

test('linear warm-up then linear decay', () => {
  const s = {base: 1, warmupSteps: 10, totalSteps: 110, decay: 'linear' as const};
  const CASES = [
    {step: 0, expected: 0},
    {step: 5, expected: 0.5},
    {step: 10, expected: 1},
    {step: 60, expected: 0.5},
    {step: 110, expected: 0},
  ];
  for (const c of CASES) assert.ok(Math.abs(learningRateAt(c.step, s) - c.expected) < 1e-12, `step ${c.step}`);
});
