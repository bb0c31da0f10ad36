import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {AdamW, clipScale, decays, globalNorm} from '../../src/train/optimizer.js';
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
  const norm = globalNorm(grads);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  const clipped = (maxNorm: number) => grads.flatMap((g) => Array.from(g.dataSync()).map((x) => x * clipScale(norm, maxNorm)));
  const after = Math.hypot(...clipped(1));
  assert.ok(Math.abs(after - 1) < 1e-5, `norm after clipping ${after}`);
  assert.deepEqual(clipped(10).slice(0, 2), [3, 0]);
  tf.dispose(grads);
});

test('clipping as a factor of the update equals AdamW on scaled copies of the gradients; the fused norm equals the stock one', async () => {
  for (const backend of ['cpu', 'wasm']) {
    const {useBackend} = await import('../helpers/tiny.js');
    await useBackend(backend as 'cpu' | 'wasm');
    await tf.setBackend(backend);
    const grads = [tf.tensor2d([[3, -1], [0.5, 2]]), tf.tensor1d([4, -2, 1])];
    const expectedNorm = Math.hypot(3, -1, 0.5, 2, 4, -2, 1);
    assert.ok(Math.abs(globalNorm([grads[0], undefined, grads[1]]) - expectedNorm) < 1e-5, `${backend}: fused norm`);
    const scale = clipScale(expectedNorm, 1);
    assert.ok(Math.abs(scale - 1 / (expectedNorm + 1e-6)) < 1e-12);
    const run = (useScale: boolean) => {
      const vars = [tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, `w.weight#${backend}${useScale}`), tf.variable(tf.tensor1d([0, 1, 2]), true, `w.bias#${backend}${useScale}`)];
      const opt = new AdamW(vars, {weightDecay: 0.01});
      for (let step = 0; step < 3; step++) {
        if (useScale) opt.apply(grads, 0.1, scale);
        else {
          const clipped = grads.map((g) => tf.mul(g, scale));
          opt.apply(clipped, 0.1);
          tf.dispose(clipped);
        }
      }
      const values = vars.flatMap((v) => Array.from(v.dataSync()));
      opt.dispose();
      tf.dispose(vars);
      return values;
    };
    const [a, b] = [run(true), run(false)];
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-6, `${backend}: parameter ${i}: ${x} vs ${b[i]}`));
    tf.dispose(grads);
  }
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

test('a fine-tuned model decays exactly its weight matrices and embeddings; saved names do not collide', async () => {
  const {tinyWeights} = await import('../helpers/tiny.js');
  const {TaskModel} = await import('../../src/model/model.js');
  const weights = tinyWeights({layers: 1});
  const model = new TaskModel(weights, {
    prompt: {method: 'ft', length: 0, reparameterize: false, reparamHidden: 8, dropout: 0, depthOrder: 'ascending', shiftPositions: true, initStd: 0.02, seed: 1},
    numLabels: 2,
    dropout: 0,
    usePooler: true,
    seed: 1,
  });
  const base = (name: string) => name.split('#')[0];
  const decayed = model.variables.filter((v) => decays(v.name)).map((v) => base(v.name));
  const kept = model.variables.filter((v) => !decays(v.name)).map((v) => base(v.name));
  // Every bias and LayerNorm parameter is left alone; every other tensor is a weight and decays.
  for (const name of kept) assert.match(name, /(\.bias|LayerNorm\.weight)$/, name);
  for (const name of decayed) assert.match(name, /\.weight$/, name);
  assert.ok(decayed.some((n) => n.includes('qkv')) && kept.some((n) => n.endsWith('qkv.bias')), 'the fused attention linear is seen');
  // Files of trained parameters key tensors by the part before '#', so those must be unique.
  const names = model.variables.map((v) => base(v.name));
  assert.equal(new Set(names).size, names.length, `repeated: ${names.filter((n, i) => names.indexOf(n) !== i).join(', ')}`);
  model.dispose();
  weights.dispose();
});
