/**
 * ptv2's kernels (src/model/kernels.ts, attention-kernel.ts, simd-kernels.ts, copy-kernels.ts)
 * against the stock tfjs ops they replace, on random inputs, on both the pure-JS CPU backend (the
 * JS reference loops) and WASM (XNNPACK matmuls and the SIMD loops). Sizes are odd on purpose
 * so that SIMD tails and padded attention keys are exercised.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {ACTIVATIONS, Dropout, embeddingLookup, layerNorm, residualLayerNorm, selfAttention} from '../../src/model/layers.js';
import {setFastKernels} from '../../src/compute/kernels.js';
import {keeps} from '../../src/compute/vector-ops.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {useBackend} from '../helpers/tiny.js';

/** useBackend initialises WASM once; later calls must select it again themselves. */
async function switchTo(name: 'cpu' | 'wasm'): Promise<void> {
  await useBackend(name);
  await tf.setBackend(name);
  assert.equal(tf.getBackend(), name);
}

const BACKENDS = ['cpu', 'wasm'] as const;

function random(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(normalArray(mulberry32(seed), shape.reduce((p, d) => p * d, 1), scale), shape);
}

/** Largest |a − b| / max(1, |b|) over all elements of each pair. */
function maxRelativeDiff(a: tf.Tensor[], b: tf.Tensor[]): number {
  let worst = 0;
  a.forEach((t, i) => {
    assert.deepEqual(t.shape, b[i].shape);
    const x = t.dataSync();
    const y = b[i].dataSync();
    for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j] - y[j]) / Math.max(1, Math.abs(y[j])));
  });
  return worst;
}

/** Values and gradients (of Σ output·weights) of `f` at `inputs`, with ptv2's kernels on or off. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], fast: boolean): tf.Tensor[] {
  setFastKernels(fast);
  try {
    const y = f(...inputs);
    const weights = random(y.shape, 99);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), weights)))(inputs);
    return [y, ...grads];
  } finally {
    setFastKernels(true);
  }
}

const additiveMask = (rows: number[][]) => tf.tensor2d(rows.map((r) => r.map((m) => (m ? 0 : -1e9))));

const CASES: {name: string; inputs: () => tf.Tensor[]; f: (...xs: tf.Tensor[]) => tf.Tensor; tolerance: number}[] = [
  {
    name: 'GELU (erf) and its gradient',
    inputs: () => [random([7, 13], 1, 2)],
    f: (x) => ACTIVATIONS.get('gelu')!(x as tf.Tensor2D),
    tolerance: 2e-6,
  },
  {
    name: 'GELU (tanh form) and its gradient',
    inputs: () => [random([5, 9], 2, 2)],
    f: (x) => ACTIVATIONS.get('gelu_new')!(x as tf.Tensor2D),
    tolerance: 2e-6,
  },
  {
    name: 'LayerNorm and its gradients (x, γ, β), width a multiple of 4',
    inputs: () => [random([6, 12], 3), random([12], 4), random([12], 5)],
    f: (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
    tolerance: 1e-5,
  },
  {
    name: 'LayerNorm, odd width',
    inputs: () => [random([4, 7], 6, 3), random([7], 7), random([7], 8)],
    f: (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12),
    tolerance: 1e-5,
  },
  {
    name: 'residual LayerNorm and its gradients (a, residual, γ, β), width a multiple of 4',
    inputs: () => [random([6, 12], 31), random([6, 12], 32), random([12], 33), random([12], 34)],
    f: (a, r, g, b) => residualLayerNorm(a as tf.Tensor2D, r as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5, new Dropout(1), 0.1, false),
    tolerance: 1e-5,
  },
  {
    name: 'residual LayerNorm, odd width',
    inputs: () => [random([5, 7], 35), random([5, 7], 36), random([7], 37), random([7], 38)],
    f: (a, r, g, b) => residualLayerNorm(a as tf.Tensor2D, r as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12, new Dropout(1), 0.1, false),
    tolerance: 1e-5,
  },
  {
    name: 'attention without prefix, padded keys masked (B 2, S 5, H 2, d 4)',
    inputs: () => [random([10, 24], 9)],
    f: (qkv) => selfAttention(qkv as tf.Tensor2D, additiveMask([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]), null, {heads: 2, rate: 0, seed: 0}),
    tolerance: 1e-5,
  },
  {
    name: 'attention with a prefix of 3 (keys 8 → no padding)',
    inputs: () => [random([10, 24], 10), random([2, 2, 3, 4], 11), random([2, 2, 3, 4], 12)],
    f: (qkv, k, v) =>
      selfAttention(qkv as tf.Tensor2D, additiveMask([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]]), {key: k as tf.Tensor4D, value: v as tf.Tensor4D}, {
        heads: 2,
        rate: 0,
        seed: 0,
      }),
    tolerance: 1e-5,
  },
  {
    name: 'attention with a prefix of 2 and 3 heads (keys 7 → padded to 8)',
    inputs: () => [random([15, 27], 13), random([3, 3, 2, 3], 14), random([3, 3, 2, 3], 15)],
    f: (qkv, k, v) =>
      selfAttention(qkv as tf.Tensor2D, additiveMask([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0]]), {key: k as tf.Tensor4D, value: v as tf.Tensor4D}, {
        heads: 3,
        rate: 0,
        seed: 0,
      }),
    tolerance: 1e-5,
  },
];

for (const backend of BACKENDS) {
  describe(`ptv2 kernels against stock tfjs ops on ${backend}`, () => {
    for (const c of CASES) {
      test(c.name, async () => {
        await switchTo(backend);
        const inputs = c.inputs();
        const fast = valueAndGrads(c.f, inputs, true);
        const stock = valueAndGrads(c.f, inputs, false);
        const diff = maxRelativeDiff(fast, stock);
        assert.ok(diff <= c.tolerance, `${c.name}: max relative difference ${diff}`);
        tf.dispose([...inputs, ...fast, ...stock]);
      });
    }

    test('embedding rows match tf.gather; a trainable table gets the scatter-added gradient', async () => {
      await switchTo(backend);
      const table = tf.variable(random([6, 5], 20), true, 'table');
      const ids = new Int32Array([4, 0, 4, 2]);
      const rows = embeddingLookup(table as unknown as tf.Tensor2D, ids);
      assert.deepEqual(Array.from(rows.dataSync()), Array.from(tf.gather(table, tf.tensor1d(ids, 'int32')).dataSync()));
      const grad = tf.grad((t: tf.Tensor) => tf.sum(embeddingLookup(t as tf.Tensor2D, ids)))(table);
      // Row 4 is looked up twice, 0 and 2 once, 1, 3 and 5 never.
      assert.deepEqual(Array.from(tf.sum(grad, 1).dataSync()), [5, 0, 5, 0, 10, 0]);
      table.dispose();
    });

    test('residual LayerNorm with dropout equals dropout, Add and LayerNorm on the same mask, values and gradients', async () => {
      await switchTo(backend);
      for (const width of [12, 7]) {
        const inputs = [random([9, width], 41), random([9, width], 42), random([width], 43), random([width], 44)] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const fused = (a: tf.Tensor2D, r: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D) => residualLayerNorm(a, r, g, b, 1e-5, new Dropout(42), 0.3, true);
        const apart = (a: tf.Tensor2D, r: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D) => layerNorm(tf.add(new Dropout(42).apply(a, 0.3, true), r), g, b, 1e-5);
        const run = (f: typeof fused) => {
          const weights = random([9, width], 45);
          return [f(...inputs), ...tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...(xs as typeof inputs)), weights)))(inputs)];
        };
        const diff = maxRelativeDiff(run(fused), run(apart));
        assert.ok(diff <= 1e-5, `width ${width}: max relative difference ${diff}`);
        // The mask dropped some of a: its gradient is zero there and the residual's is not.
        const [da, dr] = tf.grads((a: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(fused(a as tf.Tensor2D, r as tf.Tensor2D, inputs[2], inputs[3]), random([9, width], 46))))([inputs[0], inputs[1]]);
        const [A, R] = [da.dataSync() as Float32Array, dr.dataSync() as Float32Array];
        const dropped = A.reduce((n, v, i) => n + (v === 0 && R[i] !== 0 ? 1 : 0), 0);
        assert.ok(dropped > 0 && dropped < A.length / 2, `dropped ${dropped} of ${A.length}`);
      }
    });

    test('dropout keeps 1 − rate of the elements, scales them, and its gradient reuses the mask', async () => {
      await switchTo(backend);
      const x = random([301, 333], 21);
      const input = x.dataSync();
      const forward = new Dropout(42).apply(x, 0.25, true).dataSync();
      const grad = tf.grad((t: tf.Tensor) => tf.sum(new Dropout(42).apply(t, 0.25, true)))(x).dataSync();
      // A Dropout's first mask uses seed 42 + 7919 (see Dropout.nextSeed).
      const threshold = Math.floor(0.25 * 2 ** 32);
      let kept = 0;
      for (let i = 0; i < forward.length; i++) {
        const keep = keeps(42 + 7919, i, threshold);
        assert.equal(forward[i] !== 0, keep, `mask of element ${i}`);
        assert.ok(Math.abs(forward[i] - (keep ? input[i] / 0.75 : 0)) < 1e-6, `value of element ${i}`);
        assert.ok(Math.abs(grad[i] - (keep ? 1 / 0.75 : 0)) < 1e-6, `gradient of element ${i}`);
        if (keep) kept++;
      }
      // 100 233 Bernoulli(0.75) draws: the kept fraction's standard deviation is 0.0014.
      assert.ok(Math.abs(kept / forward.length - 0.75) < 0.006, `kept fraction ${kept / forward.length}`);
      x.dispose();
    });
  });
}

describe('WASM data-movement kernels give the stock CPU results exactly', () => {
  const data = Float32Array.from({length: 120}, (_, i) => i * 0.5 - 7);
  const OPS: {name: string; f: (x: tf.Tensor) => tf.Tensor}[] = [
    {name: 'slice of a 3-D tensor', f: (x) => tf.slice(x.reshape([4, 6, 5]), [1, 2, 0], [2, 3, 5])},
    {name: 'slice with an inner range and size −1', f: (x) => tf.slice(x.reshape([4, 6, 5]), [1, 2, 1], [3, -1, 3])},
    {name: 'split into three', f: (x) => tf.concat(tf.split(x.reshape([10, 12]), 3, 1).reverse(), 1)},
    {name: 'transpose of rank 5 keeping the last axis', f: (x) => tf.transpose(x.reshape([2, 3, 2, 5, 2]), [2, 0, 3, 1, 4])},
    {name: 'transpose of rank 5 moving the last axis', f: (x) => tf.transpose(x.reshape([2, 3, 2, 5, 2]), [4, 0, 3, 1, 2])},
    {name: 'tile', f: (x) => tf.tile(x.reshape([2, 3, 20]), [3, 1, 2])},
    {name: 'broadcastTo', f: (x) => tf.broadcastTo(x.reshape([1, 6, 20]), [4, 6, 20])},
    {name: 'tile of int32', f: (x) => tf.tile(x.reshape([2, 60]).cast('int32'), [2, 3])},
    {name: 'unstack and stack', f: (x) => tf.stack(tf.unstack(x.reshape([4, 5, 6]), 1), 2)},
  ];
  for (const c of OPS) {
    test(c.name, async () => {
      await switchTo('cpu');
      const expected = c.f(tf.tensor(data));
      const want = {shape: expected.shape, values: Array.from(expected.dataSync())};
      await switchTo('wasm');
      // Any use of ptv2's kernels on WASM installs the data-movement kernels.
      layerNorm(tf.ones([1, 4]), tf.ones([4]), tf.zeros([4]), 1e-5).dispose();
      const got = c.f(tf.tensor(data));
      assert.deepEqual({shape: got.shape, values: Array.from(got.dataSync())}, want);
    });
  }
});
