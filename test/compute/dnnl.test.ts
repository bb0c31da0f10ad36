/**
 * oneDNN's GELU, softmax, LayerNorm and element-wise ops (dnnl.ts) against float64 references and ptv2's own
 * loops; the blas GELU kernel using it outside a gradient tape, LayerNorm kernels and attention's
 * masked softmax on it; PTV2_DNNL=none and a missing library find none.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {forwardPairs, zeroColumns, type RowSoftmax} from '../../src/compute/attention-pairs.js';
import {findDnnl} from '../../src/compute/dnnl.js';
import {KERNEL_NAMES, runKernel} from '../../src/compute/kernels.js';
import * as ops from '../../src/compute/vector-ops.js';
import {StagedSimd} from '../../src/compute/staged-simd.js';
import {ACTIVATIONS} from '../../src/model/layers.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {requireBlas} from '../helpers/blas.js';
import {oneThreadGemm, smallAttentionShape} from '../helpers/attention.js';
import {requireDnnl} from '../helpers/dnnl.js';
import {useBackend} from '../helpers/tiny.js';

const {dnnl, skip} = requireDnnl();

/** erf in float64: its Taylor series up to 3, erfc's continued fraction (Lentz) beyond. */
function erf(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax <= 3) {
    let sum = 0;
    let term = ax;
    for (let k = 0; k < 200 && Math.abs(term) > 1e-30; k++) {
      sum += term / (2 * k + 1);
      term *= (-ax * ax) / (k + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = ax;
    let c = ax;
    let d = 0;
    for (let k = 1; k < 300; k++) {
      d = 1 / (ax + (k / 2) * d);
      c = ax + k / 2 / c;
      f *= c * d;
      if (Math.abs(c * d - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

const reference = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

test('oneDNN GELU is within 1e-6 of a float64 GELU, at odd lengths and array offsets', {skip}, () => {
  for (const [n, offset] of [[1, 0], [3, 5], [1000, 0], [65_537, 7]]) {
    const all = Float32Array.from(normalArray(mulberry32(n), n + offset, 2.5));
    const x = all.subarray(offset);
    const y = new Float32Array(n + offset).fill(NaN).subarray(offset);
    dnnl!.gelu(x, y);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(y[i] - reference(x[i])) <= 1e-6, `n ${n}, element ${i}: GELU(${x[i]}) = ${y[i]}, float64 ${reference(x[i])}`);
  }
});

test('oneDNN GELU stays right across more array lengths than it keeps primitives for (32)', {skip}, () => {
  for (let n = 100; n < 140; n++) {
    const x = Float32Array.from(normalArray(mulberry32(n), n, 2));
    const y = new Float32Array(n).fill(NaN);
    dnnl!.gelu(x, y);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(y[i] - reference(x[i])) <= 1e-6, `n ${n}, element ${i}: GELU(${x[i]}) = ${y[i]}`);
  }
});

test('oneDNN GELU and ptv2\'s SIMD GELU agree within 1e-6', {skip}, () => {
  const n = 100_003;
  const x = Float32Array.from(normalArray(mulberry32(3), n, 3));
  const [ours, theirs] = [new Float32Array(n), new Float32Array(n)];
  StagedSimd.create()!.gelu(x, ours, 0, n, false);
  dnnl!.gelu(x, theirs);
  theirs.forEach((v, i) => assert.ok(Math.abs(v - ours[i]) <= 1e-6, `element ${i}: oneDNN ${v}, ptv2 ${ours[i]}`));
});

test('the blas GELU kernel outside a gradient tape is oneDNN\'s; under a tape ptv2\'s own, with the slope', {skip: skip ?? requireBlas().skip}, async () => {
  await useBackend('blas');
  await tf.setBackend('blas');
  const values = Float32Array.from(normalArray(mulberry32(5), 6 * 1024, 2));
  const x = tf.tensor2d(values, [6, 1024]);
  const evalOut = ACTIVATIONS.get('gelu')!(x).dataSync();
  const expected = new Float32Array(values.length);
  dnnl!.gelu(values, expected);
  assert.deepEqual(Array.from(evalOut), Array.from(expected));
  const grad = tf.grad((t: tf.Tensor) => tf.sum(ACTIVATIONS.get('gelu')!(t as tf.Tensor2D)))(x).dataSync();
  // The gradient against finite differences of the float64 GELU.
  for (let i = 0; i < values.length; i += 97) {
    const v = values[i];
    const fd = (reference(v + 1e-4) - reference(v - 1e-4)) / 2e-4;
    assert.ok(Math.abs(grad[i] - fd) <= 1e-5, `GELU′(${v}) = ${grad[i]}, finite difference ${fd}`);
  }
  x.dispose();
});

test('oneDNN softmax, in place, is within 3e-7 of a float64 softmax', {skip}, () => {
  for (const [rows, width] of [[1, 1], [3, 7], [128, 144], [5, 1000]]) {
    const x = Float32Array.from(normalArray(mulberry32(rows * width), rows * width, 4));
    const y = x.slice();
    dnnl!.softmaxRows(y, rows, width);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * width, (r + 1) * width));
      const max = Math.max(...row);
      const total = row.reduce((s, v) => s + Math.exp(v - max), 0);
      row.forEach((v, j) => {
        const expected = Math.exp(v - max) / total;
        assert.ok(Math.abs(y[r * width + j] - expected) <= 3e-7, `[${rows}, ${width}] row ${r}, column ${j}: ${y[r * width + j]}, float64 ${expected}`);
      });
    }
  }
});

test('oneDNN LayerNorm is within 1e-6 of a float64 LayerNorm, with each row\'s mean and variance, in place too', {skip}, () => {
  for (const [rows, width] of [[1, 3], [7, 33], [64, 256]]) {
    const rng = mulberry32(width);
    const x = Float32Array.from(normalArray(rng, rows * width, 2)).map((v, i) => v + (i % width === 0 ? 5 : 1));
    const gamma = Float32Array.from(normalArray(rng, width, 1));
    const beta = Float32Array.from(normalArray(rng, width, 1));
    const [y, mean, variance] = [new Float32Array(rows * width).fill(NaN), new Float32Array(rows).fill(NaN), new Float32Array(rows).fill(NaN)];
    dnnl!.layerNormRows(x, gamma, beta, y, rows, width, 1e-5, {mean, variance});
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * width, (r + 1) * width));
      const mu = row.reduce((s, v) => s + v, 0) / width;
      const v = row.reduce((s, t) => s + (t - mu) ** 2, 0) / width;
      assert.ok(Math.abs(mean[r] - mu) <= 1e-6 && Math.abs(variance[r] - v) <= 1e-5, `[${rows}, ${width}] row ${r}: mean ${mean[r]} / ${mu}, variance ${variance[r]} / ${v}`);
      row.forEach((t, j) => {
        const expected = (gamma[j] * (t - mu)) / Math.sqrt(v + 1e-5) + beta[j];
        assert.ok(Math.abs(y[r * width + j] - expected) <= 1e-6 * (1 + Math.abs(expected)), `[${rows}, ${width}] row ${r}, column ${j}: ${y[r * width + j]}, float64 ${expected}`);
      });
    }
    const inPlace = x.slice();
    dnnl!.layerNormRows(inPlace, gamma, beta, inPlace, rows, width, 1e-5);
    assert.deepEqual(Array.from(inPlace), Array.from(y));
  }
});

test('oneDNN add, sub, multiply and divide give the float32 results of a JS loop, in place too, on one thread and on two', {skip}, () => {
  const ops = {Add: (x: number, y: number) => x + y, Sub: (x: number, y: number) => x - y, Multiply: (x: number, y: number) => x * y, RealDiv: (x: number, y: number) => x / y};
  // 2^22 elements and more run on two threads.
  for (const n of [1, 10_001, (1 << 22) + 3]) {
    for (const [name, f] of Object.entries(ops) as [keyof typeof ops, (x: number, y: number) => number][]) {
      const a = Float32Array.from(normalArray(mulberry32(n), n, 3));
      const b = Float32Array.from(normalArray(mulberry32(n + 1), n, 3));
      const out = new Float32Array(n).fill(NaN);
      dnnl!.binary(name, a, b, out);
      for (let i = 0; i < n; i += n > 100_000 ? 61 : 1) assert.equal(out[i], Math.fround(f(a[i], b[i])), `${name}, n ${n}, element ${i}: ${a[i]} and ${b[i]}`);
      dnnl!.binary(name, a, b, a);
      assert.ok(a.every((v, i) => Object.is(v, out[i])), `${name} in place, n ${n}`);
    }
  }
});

test('attention on oneDNN\'s softmax (mask added where it is not 0) matches ptv2\'s masked softmax within 1e-6', {skip: skip ?? requireBlas().skip}, () => {
  const gemm = oneThreadGemm();
  const s = smallAttentionShape();
  const {B, H, S, P, K, d} = s;
  const rng = mulberry32(21);
  const qkv = Float32Array.from(normalArray(rng, B * S * 3 * s.h, 1));
  const [prefixKey, prefixValue] = [0, 1].map(() => Float32Array.from(normalArray(rng, B * H * P * d, 1)));
  // Padded columns [K, K4), a padded tail in example 1 and holes in example 2.
  const mask = Float32Array.from({length: B * s.K4}, (_, i) => {
    const [b, j] = [Math.floor(i / s.K4), i % s.K4];
    return j >= K || (b === 1 && j >= K - 4) || (b === 2 && j % 5 === 4) ? -1e9 : 0;
  });
  const run = (rowSoftmax?: RowSoftmax) => {
    const probs = new Float32Array(B * H * S * s.K4);
    zeroColumns(probs, B * H * S, s.K4, K);
    const context = new Float32Array(B * S * s.h);
    forwardPairs(gemm, ops, s, 0, 1, {qkv, prefixKey, prefixValue, mask, probs, context}, 0, B * H, rowSoftmax);
    return {probs, context};
  };
  const ours = run();
  const theirs = run(dnnl!);
  for (const key of ['probs', 'context'] as const) {
    ours[key].forEach((v, i) => assert.ok(Math.abs(v - theirs[key][i]) <= 1e-6, `${key}[${i}]: ptv2 ${v}, oneDNN ${theirs[key][i]}`));
  }
  // Masked keys get exactly 0.
  for (let r = 0; r < B * H * S; r++) {
    const b = Math.floor(r / (H * S));
    for (let j = 0; j < s.K4; j++) if (mask[b * s.K4 + j] !== 0) assert.equal(theirs.probs[r * s.K4 + j], 0, `row ${r}, masked key ${j}`);
  }
});

test('the blas LayerNorm kernels on oneDNN give ptv2\'s own results within 1e-5, and 1/σ for the backward pass', {skip: skip ?? requireBlas().skip}, async () => {
  await useBackend('blas');
  await tf.setBackend('blas');
  const [rows, width] = [37, 48];
  const rng = mulberry32(9);
  const t = (n: number, shape: number[], std = 1) => tf.tensor(Float32Array.from(normalArray(rng, n, std)), shape);
  const [a, residual, gamma, beta] = [t(rows * width, [rows, width], 2), t(rows * width, [rows, width]), t(width, [width]), t(width, [width])];
  const eps = 1e-12;
  for (const keepSum of [false, true]) {
    const outs = runKernel(KERNEL_NAMES.residualLayerNorm, {a, residual, gamma, beta}, {eps, rate: 0.25, seed: 4, keepSum});
    const [y, mean, rstd] = outs.map((o) => o.dataSync() as Float32Array);
    const [A, R, G, Bt] = [a, residual, gamma, beta].map((x) => x.dataSync() as Float32Array);
    const [sum, ey, em, er] = [new Float32Array(rows * width), new Float32Array(rows * width), new Float32Array(rows), new Float32Array(rows)];
    ops.residualLayerNormRows(A, R, G, Bt, ey, sum, em, er, rows, width, eps, 0.25, 4, 0);
    y.forEach((v, i) => assert.ok(Math.abs(v - ey[i]) <= 1e-5, `keepSum ${keepSum}: y[${i}] ${v}, ptv2 ${ey[i]}`));
    mean.forEach((v, i) => assert.ok(Math.abs(v - em[i]) <= 1e-5 && Math.abs(rstd[i] - er[i]) <= 1e-5 * er[i], `row ${i}: mean ${v} / ${em[i]}, 1/σ ${rstd[i]} / ${er[i]}`));
    if (keepSum) outs[3].dataSync().forEach((v, i) => assert.ok(Math.abs(v - sum[i]) <= 1e-6, `sum[${i}]: ${v}, ptv2 ${sum[i]}`));
    tf.dispose(outs);
  }
  tf.dispose([a, residual, gamma, beta]);
});

test('PTV2_DNNL=none and a missing library find no oneDNN', () => {
  assert.equal(findDnnl({PTV2_DNNL: 'none'}), null);
  assert.equal(findDnnl({PTV2_DNNL: '/nonexistent/libdnnl.so.2'}), null);
});
