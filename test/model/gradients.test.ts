/**
 * Analytic gradients of every trainable variable against central finite differences, on the
 * pure-JS CPU backend and on `blas` (sgemm, staged SIMD loops) when a BLAS library loads. float32 only, so the model is scaled (weights of std 0.3, prompt of std 1,
 * a unit-scale head) to make gradients O(1e-2..1), and each variable is checked along a random
 * unit direction: (L(θ+εd) − L(θ−εd)) / 2ε against ∇L·d.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {TaskModel} from '../../src/model/model.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {randomBatch, tinyWeights, useBackend} from '../helpers/tiny.js';
import {requireBlas} from '../helpers/blas.js';
import {checkDirectionalDerivative} from '../helpers/finite-difference.js';

// Reused output arrays of blas start as NaN (buffer-pool.ts): a kernel that leaves an element unwritten fails here.
process.env.PTV2_POOL_POISON ??= '1';

const base = {length: 3, reparameterize: false, reparamHidden: 8, dropout: 0, depthOrder: 'ascending' as const, shiftPositions: true, initStd: 1, seed: 1};

const CASES = [
  {name: 'pt2 raw deep prompt', prompt: {...base, method: 'pt2'}},
  {name: 'pt2 reparameterised', prompt: {...base, method: 'pt2', reparameterize: true}},
  {name: 'pt2 depth 1 descending', prompt: {...base, method: 'pt2', depth: 1, depthOrder: 'descending' as const}},
  {name: 'prefix', prompt: {...base, method: 'prefix'}},
  {name: 'pt input prompt', prompt: {...base, method: 'pt'}},
  {name: 'ft (embeddings and linear weights)', prompt: {...base, method: 'ft'}},
];

for (const backend of ['cpu', 'blas'] as const) test(`gradients agree with central finite differences (${backend})`, {skip: backend === 'blas' ? requireBlas().skip : undefined}, async () => {
  await useBackend(backend);
  await tf.setBackend(backend);
  const weights = tinyWeights({modelType: 'roberta', initializerRange: 0.3});
  const batch = randomBatch([5, 3], {pairTypes: false});
  const labels = new Int32Array([1, 0]);
  const rng = mulberry32(5);
  for (const c of CASES) {
    const model = new TaskModel(weights, {prompt: c.prompt, numLabels: 3, dropout: 0, usePooler: true, seed: 11});
    const head = model.head.variables[0];
    head.assign(tf.tensor(normalArray(rng, head.size, 1), head.shape));
    const lossValue = () => tf.tidy(() => model.loss(batch, labels, false).dataSync()[0]);
    const {grads} = tf.variableGrads(() => model.loss(batch, labels, false), model.variables);
    let meaningful = 0;
    for (const v of model.variables) {
      const analytic = grads[v.name].dataSync();
      const {numeric} = checkDirectionalDerivative(v, analytic as Float32Array, lossValue, rng, c.name);
      if (Math.abs(numeric) > 1e-3) meaningful++;
    }
    // The check is only worth something if gradients are well above float32 noise.
    assert.ok(meaningful >= Math.min(3, model.variables.length), `${c.name}: only ${meaningful} variables with sizeable gradients`);
    tf.dispose(Object.values(grads));
    model.dispose();
  }
  weights.dispose();
});
