/**
 * The blas backend's own kernels against tfjs's stock CPU kernels on the same inputs: element-wise
 * Add/Sub/Multiply/RealDiv in every broadcast direction they take (and one they leave to stock),
 * Sum over leading, trailing and all axes, Transpose and Tile, matMul in all transpose
 * combinations with batch broadcasting and a fused bias and relu; and the staged SIMD loops
 * against their JS references across chunk boundaries and odd tails.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {StagedSimd} from '../../src/compute/staged-simd.js';
import * as ops from '../../src/compute/vector-ops.js';
import {mulberry32} from '../../src/random.js';
import {useBackend} from '../helpers/tiny.js';
import {requireBlas} from '../helpers/blas.js';

const {skip} = requireBlas();

function random(shape: number[], seed: number): tf.Tensor {
  const rng = mulberry32(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor(Float32Array.from({length: n}, () => rng() * 2 - 0.5), shape);
}

/** f on blas and on stock CPU, from the same data: values within 1e-5 relative. */
async function same(name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][]): Promise<void> {
  const data = shapes.map((s, i) => ({shape: s, values: random(s, i + 1).dataSync().slice()}));
  const run = async (backend: 'blas' | 'cpu') => {
    await useBackend(backend);
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const out = f(...data.map((d) => tf.tensor(d.values, d.shape)));
      return {shape: out.shape, values: out.dataSync().slice()};
    });
  };
  const blas = await run('blas');
  const cpu = await run('cpu');
  assert.deepEqual(blas.shape, cpu.shape, name);
  cpu.values.forEach((v, i) => assert.ok(Math.abs(blas.values[i] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${name}[${i}]: blas ${blas.values[i]} vs cpu ${v}`));
}

const CASES: {name: string; f: (...xs: tf.Tensor[]) => tf.Tensor; shapes: number[][]}[] = [
  ...(['add', 'sub', 'mul', 'div'] as const).flatMap((op) => [
    {name: `${op} equal shapes`, f: (a: tf.Tensor, b: tf.Tensor) => tf[op](a, b), shapes: [[3, 5], [3, 5]]},
    {name: `${op} row broadcast`, f: (a: tf.Tensor, b: tf.Tensor) => tf[op](a, b), shapes: [[4, 6], [6]]},
    {name: `${op} row broadcast, reversed`, f: (a: tf.Tensor, b: tf.Tensor) => tf[op](a, b), shapes: [[1, 6], [4, 6]]},
    {name: `${op} scalar`, f: (a: tf.Tensor, b: tf.Tensor) => tf[op](a, b), shapes: [[2, 3], []]},
    {name: `${op} scalar, reversed`, f: (a: tf.Tensor, b: tf.Tensor) => tf[op](a, b), shapes: [[], [2, 3]]},
    {name: `${op} column broadcast`, f: (a: tf.Tensor, b: tf.Tensor) => tf[op](a, b), shapes: [[4, 6], [4, 1]]},
    {name: `${op} column broadcast, reversed, rank 3`, f: (a: tf.Tensor, b: tf.Tensor) => tf[op](a, b), shapes: [[2, 3, 1], [2, 3, 5]]},
    {name: `${op} [m, 1] against [1, n] (stock)`, f: (a: tf.Tensor, b: tf.Tensor) => tf[op](a, b), shapes: [[4, 1], [1, 6]]},
  ]),
  {name: 'sum over axis 0', f: (x) => tf.sum(x, 0), shapes: [[7, 5]]},
  {name: 'sum over axis 0 of many rows (1ᵀ·X on sgemm)', f: (x) => tf.sum(x, 0), shapes: [[300, 37]]},
  {name: 'sum over axes 0, 1 of many rows, keepDims (sgemm)', f: (x) => tf.sum(x, [0, 1], true), shapes: [[3, 50, 20]]},
  {name: 'sum over axes 0, 1 keepDims', f: (x) => tf.sum(x, [0, 1], true), shapes: [[2, 3, 4]]},
  {name: 'sum over all', f: (x) => tf.sum(x), shapes: [[3, 4]]},
  {name: 'sum over the last axis (stock)', f: (x) => tf.sum(x, -1), shapes: [[3, 4]]},
  {name: 'transpose rank 5', f: (x) => tf.transpose(x, [2, 0, 3, 1, 4]), shapes: [[2, 3, 4, 2, 3]]},
  {name: 'tile', f: (x) => tf.tile(x, [2, 1, 3]), shapes: [[2, 3, 2]]},
  {name: 'slice, first token of each example', f: (x) => tf.slice(x, [0, 0, 0], [3, 1, 4]), shapes: [[3, 5, 4]]},
  {name: 'slice inside every axis', f: (x) => tf.slice(x, [1, 2, 1], [2, 2, 3]), shapes: [[3, 5, 4]]},
  {name: 'slice, contiguous rows', f: (x) => tf.slice(x, [2, 0], [3, 6]), shapes: [[7, 6]]},
  {name: 'pad rank 3 with a constant', f: (x) => tf.pad(x, [[1, 0], [0, 2], [3, 1]], 1.5), shapes: [[2, 3, 4]]},
  {name: 'gradient of a strided slice (a pad)', f: (x) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, [0, 1, 0], [2, 1, 3]), 2)))(x), shapes: [[2, 4, 3]]},
  ...[false, true].flatMap((ta) =>
    [false, true].map((tb) => ({name: `matMul transposeA ${ta} transposeB ${tb}`, f: (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb), shapes: [ta ? [2, 5, 3] : [2, 3, 5], tb ? [2, 4, 5] : [2, 5, 4]]})),
  ),
  {name: 'matMul broadcasting one matrix over a batch', f: (a, b) => tf.matMul(a, b), shapes: [[3, 4, 5], [5, 2]]},
  {name: 'fused matMul with a bias over many rows (the fill shared with the helper thread)', f: (a, b, c) => tf.fused.matMul({a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c, transposeB: true}), shapes: [[700, 8], [100, 8], [100]]},
  {name: 'fused matMul with bias and relu', f: (a, b, c) => tf.fused.matMul({a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c, activation: 'relu', transposeB: true}), shapes: [[6, 4], [3, 4], [3]]},
];

for (const c of CASES) test(`blas ${c.name} matches stock CPU`, {skip}, () => same(c.name, c.f, c.shapes));

test('staged SIMD loops match the JS references across chunks and tails', {skip}, () => {
  const simd = StagedSimd.create();
  assert.ok(simd, 'WebAssembly SIMD');
  const n = 16 * 1024 * 2 + 7;
  const x = random([n], 1).dataSync() as Float32Array;
  const dy = random([n], 2).dataSync() as Float32Array;
  const close = (a: Float32Array, b: Float32Array, what: string) => b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) <= 2e-6 * Math.max(1, Math.abs(v)), `${what}[${i}]: ${a[i]} vs ${v}`));
  const [y1, y2] = [new Float32Array(n), new Float32Array(n)];
  simd.gelu(x, y1, 0, n, false);
  ops.gelu(x, y2, 0, n, false);
  close(y1, y2, 'gelu');
  const [g1, g2] = [new Float32Array(n), new Float32Array(n)];
  simd.geluSlope(x, y1, g1, 0, n, false);
  ops.geluSlope(x, y2, g2, 0, n, false);
  close(y1, y2, 'geluSlope y');
  close(g1, g2, 'geluSlope slope');
  for (let code = 0; code < ops.BINARY_OPS.length; code++) {
    simd.binaryEqual(code, x, dy, y1, 3, n);
    ops.binaryEqual(code, x, dy, y2, 3, n);
    y2.forEach((v, i) => assert.ok(i < 3 || Object.is(y1[i], v), `${ops.BINARY_OPS[code]}[${i}]: ${y1[i]} on SIMD, ${v} in JS`));
  }
  simd.dropoutRows(x, 0, y1, 0, 1, n, 0, 9, 0.1, 0);
  ops.dropoutRows(x, 0, y2, 0, 1, n, 0, 9, 0.1, 0);
  close(y1, y2, 'dropout');
  const [rows, width] = [37, 768];
  const gamma = random([width], 3).dataSync() as Float32Array;
  const beta = random([width], 4).dataSync() as Float32Array;
  const outs = [0, 1].map(() => ({y: new Float32Array(rows * width), mean: new Float32Array(rows), rstd: new Float32Array(rows), dx: new Float32Array(rows * width), dg: new Float32Array(width), db: new Float32Array(width)}));
  for (const [impl, o] of [[simd, outs[0]], [ops, outs[1]]] as const) {
    impl.layerNormRows(x, gamma, beta, o.y, o.mean, o.rstd, rows, width, 1e-12);
    impl.layerNormGradRows(dy, x, gamma, o.mean, o.rstd, o.dx, o.dg, o.db, rows, width);
  }
  for (const key of ['y', 'mean', 'rstd', 'dx'] as const) close(outs[0][key], outs[1][key], `layerNorm ${key}`);
  // residual LayerNorm: dropout(x) + dy, normalised, against the JS reference; the sum as well.
  const residual = outs.map(() => ({y: new Float32Array(rows * width), sum: new Float32Array(rows * width), mean: new Float32Array(rows), rstd: new Float32Array(rows)}));
  for (const [impl, o] of [[simd, residual[0]], [ops, residual[1]]] as const) {
    impl.residualLayerNormRows(x, dy, gamma, beta, o.y, o.sum, o.mean, o.rstd, rows, width, 1e-12, 0.2, 5, 11);
  }
  for (const key of ['y', 'sum', 'mean', 'rstd'] as const) close(residual[0][key], residual[1][key], `residual layerNorm ${key}`);
  const dropped = residual[1].sum.filter((v, i) => v === dy[i]).length;
  assert.ok(dropped > 0.1 * rows * width && dropped < 0.3 * rows * width, `dropout rate 0.2 dropped ${dropped} of ${rows * width}`);
  outs[1].dg.forEach((v, i) => assert.ok(Math.abs(outs[0].dg[i] - v) <= 1e-4 * Math.max(1, Math.abs(v)), `dgamma[${i}]`));
  const mask = new Float32Array(144).fill(0).fill(-1e9, 140);
  const [p1, p2] = [x.slice(0, 130 * 144), x.slice(0, 130 * 144)];
  simd.softmaxRows(p1, 0, 130, 144, mask, 0);
  ops.softmaxRows(p2, 0, 130, 144, mask, 0);
  close(p1, p2, 'softmax');

  // AdamW: float32 SIMD against the float64 reference, over [3, n − 2) (chunks and both tails),
  // with clipping (gradScale) and decay; the SIMD side in place, as the kernel runs from step 2.
  const v0 = Float32Array.from(dy, (g) => g * g * 0.01);
  const m0 = Float32Array.from(x, (a) => a * 0.1);
  const numbers = [0.9, 0.999, 1e-8, 1 - 1e-3 * 0.01, 1e-3 / (1 - 0.9 ** 3), Math.sqrt(1 - 0.999 ** 3), 0.6] as const;
  const [p, g] = [dy.map((a) => a * 0.5), x];
  const inPlace = [p.slice(), m0.slice(), v0.slice()];
  const reference = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  simd.adamWRange(inPlace[0], g, inPlace[1], inPlace[2], inPlace[0], inPlace[1], inPlace[2], ...numbers, 3, n - 2);
  ops.adamWRange(p, g, m0, v0, reference[0], reference[1], reference[2], ...numbers, 3, n - 2);
  // Within float32 rounding of the terms (p·decay and the step can cancel, so relative to both).
  const before = [p, m0, v0];
  for (const [k, name] of ['p', 'm', 'v'].entries()) {
    for (let i = 3; i < n - 2; i++) {
      const [a, b] = [inPlace[k][i], reference[k][i]];
      assert.ok(Math.abs(a - b) <= 1e-6 * (Math.abs(b) + Math.abs(before[k][i])) + 1e-12, `adamW ${name}[${i}]: ${a} vs ${b}`);
    }
  }
  assert.deepEqual([inPlace[0][2], inPlace[0][n - 2]], [p[2], p[n - 2]], 'elements outside [from, to) are left alone');
});
