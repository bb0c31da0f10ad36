/**
 * oneDNN's GELU (dnnl.ts) against a float64 GELU and ptv2's own SIMD GELU, and the blas GELU
 * kernel using it outside a gradient tape; PTV2_DNNL=none and a missing library find none.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {findDnnl} from '../../src/compute/dnnl.js';
import {StagedSimd} from '../../src/compute/staged-simd.js';
import {ACTIVATIONS} from '../../src/model/layers.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {requireBlas} from '../helpers/blas.js';
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

test('PTV2_DNNL=none and a missing library find no oneDNN', () => {
  assert.equal(findDnnl({PTV2_DNNL: 'none'}), null);
  assert.equal(findDnnl({PTV2_DNNL: '/nonexistent/libdnnl.so.2'}), null);
});
