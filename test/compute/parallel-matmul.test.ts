/**
 * The WASM matmul helper thread (src/model/parallel-matmul.ts): a frozen linear split over two
 * threads gives exactly the single-thread result, forward and backward, including a second call
 * that reuses the helper's copy of the weight.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {linear, makeLinear} from '../../src/model/layers.js';
import {parallelMatMul, setFastKernels} from '../../src/compute/kernels.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {useBackend} from '../helpers/tiny.js';

function random(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(normalArray(mulberry32(seed), shape.reduce((p, d) => p * d, 1)), shape);
}

async function helperReady(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!parallelMatMul()?.ready) {
    assert.ok(Date.now() < deadline, 'the helper thread did not start within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a frozen linear split over two threads equals the single-thread result', async (t) => {
  await useBackend('wasm');
  await tf.setBackend('wasm');
  if (!parallelMatMul()) {
    t.skip('one core, or PTV2_THREADS=1: no helper thread');
    return;
  }
  await helperReady();
  const layer = makeLinear(random([384, 256], 1) as tf.Tensor2D, random([384], 2) as tf.Tensor1D, false, 'dense');
  // 97 rows: the helper takes 48, the main thread 49; 97·256·384 multiply-adds is above the threshold.
  const x = random([97, 256], 3) as tf.Tensor2D;
  const dy = random([97, 384], 4);
  assert.ok(parallelMatMul()!.accepts(97, 256, 384));
  const run = () => {
    const y = linear(layer, x);
    const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(linear(layer, input as tf.Tensor2D), dy)))(x);
    return [Array.from(y.dataSync()), Array.from(dx.dataSync())];
  };
  const split = run();
  const again = run();
  setFastKernels(false);
  const single = run();
  setFastKernels(true);
  assert.deepEqual(split, single);
  assert.deepEqual(again, single);
});
