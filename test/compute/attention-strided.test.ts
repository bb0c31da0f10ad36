/**
 * blas attention without a gradient tape keeps no attention weights (keepProbs false): each
 * thread's pairs share one scratch for their scores. The context must be the one the kernel
 * computes when it keeps them, with padded keys, a prefix, and pairs on both threads.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {helperStarted} from '../../src/compute/helper-thread.js';
import {KERNEL_NAMES, runKernel} from '../../src/compute/kernels.js';
import '../../src/compute/attention-kernel.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {requireBlas} from '../helpers/blas.js';
import {useBackend} from '../helpers/tiny.js';

const {skip} = requireBlas();

test('blas attention keeping no weights gives the context it gives when it keeps them', {skip}, async () => {
  await useBackend('blas');
  await tf.setBackend('blas');
  await helperStarted();
  const [B, H, S, d, P] = [3, 4, 10, 8, 3];
  const h = H * d;
  const rng = mulberry32(31);
  // Kernel outputs (+ 0) live in shared memory, so the helper thread takes pairs too.
  const t = (shape: number[]) => tf.add(tf.tensor(Float32Array.from(normalArray(rng, shape.reduce((a, b) => a * b, 1), 1)), shape), 0);
  const qkv = t([B * S, 3 * h]);
  const [prefixKey, prefixValue] = [t([B, H, P, d]), t([B, H, P, d])];
  // Example 1 has 4 padded tokens; keys are the prefix then the tokens (K = 13, padded to 16).
  const mask = tf.tensor2d(Float32Array.from({length: B * (P + S)}, (_, i) => (Math.floor(i / (P + S)) === 1 && i % (P + S) >= P + S - 4 ? -1e9 : 0)), [B, P + S]);
  const cases: Record<string, tf.Tensor>[] = [{qkv, mask, prefixKey, prefixValue}, {qkv, mask: tf.slice(mask, [0, P], [B, S])}];
  for (const inputs of cases) {
    const kept = runKernel(KERNEL_NAMES.attention, inputs, {heads: H, rate: 0, seed: 0});
    const alone = runKernel(KERNEL_NAMES.attention, inputs, {heads: H, rate: 0, seed: 0, keepProbs: false});
    assert.equal(alone.length, 1, 'only the context');
    assert.deepEqual(Array.from(alone[0].dataSync()), Array.from(kept[0].dataSync()));
    tf.dispose([...kept, ...alone]);
  }
  tf.dispose([qkv, prefixKey, prefixValue, mask]);
});
