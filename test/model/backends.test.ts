/**
 * The WASM and pure-JS CPU backends agree on one training step: the loss and every gradient of a
 * `pt2` step and an `ft` step on a tiny model, with dropout on (ptv2's dropout masks are a hash
 * of seed and element index, so both backends drop the same elements). WASM runs XNNPACK matmuls
 * and the SIMD loops, CPU the JS references, so this checks one against the other end to end.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {TaskModel} from '../../src/model/model.js';
import {randomBatch, tinyWeights, useBackend} from '../helpers/tiny.js';

/** useBackend initialises WASM once; later calls must select it again themselves. */
async function switchTo(name: 'cpu' | 'wasm'): Promise<void> {
  await useBackend(name);
  await tf.setBackend(name);
  assert.equal(tf.getBackend(), name);
}

const prompt = {length: 3, reparameterize: false, reparamHidden: 8, dropout: 0.1, depthOrder: 'ascending' as const, shiftPositions: true, initStd: 0.5, seed: 1};

const CASES = [
  {name: 'pt2', modelType: 'bert' as const, prompt: {...prompt, method: 'pt2'}},
  {name: 'pt2 reparameterised, RoBERTa', modelType: 'roberta' as const, prompt: {...prompt, method: 'pt2', reparameterize: true}},
  {name: 'ft', modelType: 'bert' as const, prompt: {...prompt, method: 'ft'}},
];

interface Step {
  loss: number;
  grads: {name: string; values: Float32Array}[];
}

async function oneStep(backend: 'cpu' | 'wasm', c: (typeof CASES)[number]): Promise<Step> {
  await switchTo(backend);
  const weights = tinyWeights({modelType: c.modelType, hidden: 16, heads: 2, initializerRange: 0.2});
  const model = new TaskModel(weights, {prompt: c.prompt, numLabels: 3, dropout: 0.1, usePooler: true, seed: 11});
  const batch = randomBatch([7, 4, 6], {pairTypes: c.modelType === 'bert'});
  const labels = new Int32Array([2, 0, 1]);
  const {value, grads} = tf.variableGrads(() => model.loss(batch, labels, true), model.variables);
  const step = {
    loss: value.dataSync()[0],
    grads: model.variables.map((v) => ({name: v.name.split('#')[0], values: grads[v.name].dataSync() as Float32Array})),
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

for (const c of CASES) {
  test(`WASM and CPU agree on the loss and gradients of one ${c.name} step`, async () => {
    const cpu = await oneStep('cpu', c);
    const wasm = await oneStep('wasm', c);
    assert.ok(close(wasm.loss, cpu.loss), `loss: wasm ${wasm.loss} vs cpu ${cpu.loss}`);
    assert.deepEqual(wasm.grads.map((g) => g.name), cpu.grads.map((g) => g.name));
    let sizeable = 0;
    cpu.grads.forEach((g, i) => {
      const other = wasm.grads[i].values;
      for (let j = 0; j < g.values.length; j++) {
        assert.ok(close(other[j], g.values[j]), `${g.name}[${j}]: wasm ${other[j]} vs cpu ${g.values[j]}`);
      }
      if (g.values.some((x) => Math.abs(x) > 1e-3)) sizeable++;
    });
    // Agreement only means something if the gradients are not all near zero.
    assert.ok(sizeable >= Math.min(3, cpu.grads.length), `only ${sizeable} variables with sizeable gradients`);
  });
}
