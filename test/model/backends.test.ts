/**
 * The backends agree on one training step: the loss, the encoder's outputs and every gradient,
 * for every method (ft, pt, prefix, pt2, mpt2) and head, on a tiny model with dropout on (ptv2's
 * dropout masks are a hash of seed and element index, so every backend drops the same elements).
 * `blas` runs cblas_sgemm with tfjs's JS element-wise kernels, WASM runs XNNPACK and the SIMD
 * loops, CPU the JS references: blas and CPU are each checked against WASM end to end. blas
 * runs with its reused output arrays filled with NaN (PTV2_POOL_POISON).
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {TaskModel, type ModelSpec} from '../../src/model/model.js';
import {randomBatch, tinyWeights, useBackend} from '../helpers/tiny.js';
import {requireBlas} from '../helpers/blas.js';

type Backend = 'cpu' | 'wasm' | 'blas';
// blas reuses output arrays (buffer-pool.ts); poisoned with NaN, any element a kernel leaves
// unwritten shows up in the comparison below.
process.env.PTV2_POOL_POISON ??= '1';
const {skip: blasSkip} = requireBlas();

/** useBackend initialises WASM and blas once; later calls must select them again themselves. */
async function switchTo(name: Backend): Promise<void> {
  await useBackend(name);
  await tf.setBackend(name);
  assert.equal(tf.getBackend(), name);
}

const prompt = {length: 3, reparameterize: false, reparamHidden: 8, dropout: 0.1, depthOrder: 'ascending' as const, shiftPositions: true, initStd: 0.5, seed: 1};

interface Case {
  name: string;
  modelType: 'bert' | 'roberta';
  prompt: ModelSpec['prompt'];
  head?: ModelSpec['head'];
  /** Compared against WASM on the pure-JS CPU backend too (slow there: the original three). */
  cpu?: boolean;
}

const CASES: Case[] = [
  {name: 'pt2', modelType: 'bert', prompt: {...prompt, method: 'pt2'}, cpu: true},
  {name: 'pt2 reparameterised, RoBERTa', modelType: 'roberta', prompt: {...prompt, method: 'pt2', reparameterize: true}, cpu: true},
  {name: 'ft', modelType: 'bert', prompt: {...prompt, method: 'ft'}, cpu: true},
  {name: 'pt', modelType: 'bert', prompt: {...prompt, method: 'pt'}},
  {name: 'prefix', modelType: 'bert', prompt: {...prompt, method: 'prefix', reparameterize: true}},
  {name: 'mpt2', modelType: 'roberta', prompt: {...prompt, method: 'mpt2'}},
  {name: 'pt2, multiple-choice head', modelType: 'bert', prompt: {...prompt, method: 'pt2'}, head: 'choice'},
  {name: 'pt2, token head', modelType: 'bert', prompt: {...prompt, method: 'pt2'}, head: 'token'},
  {name: 'ft, span head', modelType: 'bert', prompt: {...prompt, method: 'ft'}, head: 'span'},
];

interface Step {
  loss: number;
  /** The encoder's output sequence for the batch (eval mode, prompt positions included). */
  states: Float32Array;
  grads: {name: string; values: Float32Array}[];
}

async function oneStep(backend: Backend, c: Case): Promise<Step> {
  await switchTo(backend);
  const weights = tinyWeights({modelType: c.modelType, hidden: 16, heads: 2, initializerRange: 0.2});
  const model = new TaskModel(weights, {prompt: c.prompt, head: c.head, numLabels: 3, dropout: 0.1, usePooler: true, seed: 11});
  const lengths = c.head === 'choice' ? [7, 4, 6, 5] : [7, 4, 6];
  const batch = {
    ...randomBatch(lengths, {pairTypes: c.modelType === 'bert'}),
    spanStarts: new Int32Array([1, 0, 2]),
    spanEnds: new Int32Array([3, 0, 4]),
    candidates: new Float32Array(3 * 7).fill(1),
  };
  const labels = c.head === 'token' ? Int32Array.from({length: 3 * 7}, (_, i) => (i % 5 === 4 ? -1 : i % 3)) : c.head === 'choice' ? new Int32Array([1, 0]) : new Int32Array([2, 0, 1]);
  const choices = c.head === 'choice' ? 2 : 1;
  const {value, grads} = tf.variableGrads(() => model.loss(batch, labels, true, choices), model.variables);
  const states = tf.tidy(() => model.encoder.forward(batch, model.prompt.hooks(batch.batch, false), false).dataSync() as Float32Array);
  const step = {
    loss: value.dataSync()[0],
    states,
    // Variables off the loss's path (the pooler under a span head) have no gradient.
    grads: model.variables.filter((v) => grads[v.name]).map((v) => ({name: v.name.split('#')[0], values: grads[v.name].dataSync() as Float32Array})),
  };
  tf.dispose([value, ...Object.values(grads)]);
  model.dispose();
  weights.dispose();
  return step;
}

/** |a − b| ≤ 1e-4 · max(1, |b|): absolute for small values, relative for large ones. */
function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
}

function assertAgree(ours: Step, reference: Step, label: string): void {
  assert.ok(close(ours.loss, reference.loss), `loss: ${label} ${ours.loss} vs wasm ${reference.loss}`);
  assert.equal(ours.states.length, reference.states.length);
  for (let j = 0; j < ours.states.length; j++) assert.ok(close(ours.states[j], reference.states[j]), `states[${j}]: ${label} ${ours.states[j]} vs wasm ${reference.states[j]}`);
  assert.deepEqual(ours.grads.map((g) => g.name), reference.grads.map((g) => g.name));
  let sizeable = 0;
  reference.grads.forEach((g, i) => {
    const other = ours.grads[i].values;
    for (let j = 0; j < g.values.length; j++) {
      assert.ok(close(other[j], g.values[j]), `${g.name}[${j}]: ${label} ${other[j]} vs wasm ${g.values[j]}`);
    }
    if (g.values.some((x) => Math.abs(x) > 1e-3)) sizeable++;
  });
  // Agreement only means something if the gradients are not all near zero (a choice head's bias
  // has none: softmax over choices ignores a shared constant).
  assert.ok(sizeable >= Math.min(2, reference.grads.length), `only ${sizeable} variables with sizeable gradients`);
}

for (const c of CASES) {
  test(`blas and WASM agree on the outputs, loss and gradients of one ${c.name} step`, {skip: blasSkip}, async () => {
    const wasm = await oneStep('wasm', c);
    const blas = await oneStep('blas', c);
    assertAgree(blas, wasm, 'blas');
  });
  if (c.cpu) {
    test(`CPU and WASM agree on the outputs, loss and gradients of one ${c.name} step`, async () => {
      const wasm = await oneStep('wasm', c);
      const cpu = await oneStep('cpu', c);
      assertAgree(cpu, wasm, 'cpu');
    });
  }
}
