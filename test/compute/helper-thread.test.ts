/**
 * The blas backend's helper thread (helper-thread.ts) against the main thread alone: every
 * VectorOps method split in two or shared in chunks (parallel-vec.ts) on arrays in shared memory,
 * large enough to be split, with odd row counts and widths; attention's (example, head) pairs,
 * half of them run by the helper (attention-pairs.ts), with a prefix, padding and dropout; and
 * the shared-call protocol itself (chunks taken by both threads, a failure on the helper). The helper's half
 * must be written (outputs start as NaN) and equal what the main thread alone computes.
 * LayerNorm's dγ and dβ are two partial sums added, so they agree to float rounding; everything
 * else bit for bit.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {backwardPairs, forwardPairs, shapeArgs, zeroColumns} from '../../src/compute/attention-pairs.js';
import {findBlas} from '../../src/compute/blas.js';
import {findDnnl} from '../../src/compute/dnnl.js';
import {helperThread} from '../../src/compute/helper-thread.js';
import {ParallelVec} from '../../src/compute/parallel-vec.js';
import {mainFlatOps, StagedSimd, type VectorOps} from '../../src/compute/staged-simd.js';
import * as ops from '../../src/compute/vector-ops.js';
import {shareWork, splitWork} from '../../src/compute/helper-thread.js';
import {copyFirstRow} from '../../src/compute/vector-ranges.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {oneThreadGemm, smallAttentionShape} from '../helpers/attention.js';

const single: VectorOps = StagedSimd.create() ?? ops;
/** The helper softmaxes attention rows on its own oneDNN when this thread has one (helper-thread.ts). */
const dnnl = findDnnl() ?? undefined;
const helper = helperThread();
const skip = helper ? undefined : 'needs two cores (the helper thread is off with PTV2_THREADS=1 or on one core)';

function shared(n: number, fill?: number[]): Float32Array {
  const a = new Float32Array(new SharedArrayBuffer(4 * n));
  if (fill) a.set(fill);
  else a.fill(NaN);
  return a;
}

async function twoThreads(): Promise<VectorOps> {
  // The helper thread starts asynchronously; calls before it is ready run on one thread.
  for (let i = 0; i < 200 && !helper!.ready; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(helper!.ready, 'the helper thread started');
  const vec = ParallelVec.wrap(single);
  assert.notEqual(vec, single);
  return vec;
}

function assertSame(actual: Float32Array, expected: Float32Array, what: string, tolerance = 0): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    const ok = tolerance === 0 ? Object.is(actual[i], expected[i]) : Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i]));
    assert.ok(ok, `${what}[${i}]: ${actual[i]} on two threads, ${expected[i]} on one`);
  }
}

const rows = 301;
const width = 148;
const n = rows * width;

test('GELU, its slope and dropout (flat and by rows) on two threads equal one thread', {skip}, async () => {
  const vec = await twoThreads();
  const rng = mulberry32(3);
  const x = shared(n, Array.from(normalArray(rng, n, 2)));
  const cases: [string, (v: VectorOps, out: Float32Array) => void][] = [
    ['gelu', (v, out) => v.gelu(x, out, 0, n - 3, false)],
    ['GELU slope', (v, out) => v.geluSlope(x, shared(n), out, 0, n - 3, false)],
    ['GELU with its slope', (v, out) => v.geluSlope(x, out, shared(n), 0, n - 3, false)],
    ['dropout flat', (v, out) => v.dropoutRows(x, 5, out, 5, 1, n - 9, 0, 17, 0.1, 5)],
    ['dropout rows', (v, out) => v.dropoutRows(x, 0, out, 0, rows, width, width - 4, 17, 0.1, 100)],
  ];
  for (const [what, run] of cases) {
    const one = shared(n);
    const two = shared(n);
    run(single, one);
    run(vec, two);
    assertSame(two, one, what);
  }
});

test('softmax and its gradient by rows on two threads equal one thread', {skip}, async () => {
  const vec = await twoThreads();
  const rng = mulberry32(5);
  const scores = Array.from(normalArray(rng, n, 3));
  const mask = Float32Array.from({length: width}, (_, j) => (j % 7 === 6 ? -1e9 : 0));
  const one = shared(n, scores);
  const two = shared(n, scores);
  single.softmaxRows(one, 0, rows, width, mask, 0);
  vec.softmaxRows(two, 0, rows, width, mask, 0);
  assertSame(two, one, 'softmax');
  const upstream = Array.from(normalArray(rng, n, 1));
  const dOne = shared(n, upstream);
  const dTwo = shared(n, upstream);
  single.softmaxGradRows(dOne, 0, one, 0, rows, width, width, 9, 0.1, 0);
  vec.softmaxGradRows(dTwo, 0, two, 0, rows, width, width, 9, 0.1, 0);
  assertSame(dTwo, dOne, 'softmax gradient');
});

test('LayerNorm and its gradient on two threads equal one thread (dγ, dβ to rounding)', {skip}, async () => {
  const vec = await twoThreads();
  const rng = mulberry32(7);
  const x = shared(n, Array.from(normalArray(rng, n, 2)));
  // γ and β as a frozen checkpoint holds them: not in shared memory (they are staged).
  const gamma = normalArray(rng, width, 1);
  const beta = normalArray(rng, width, 1);
  const outs = () => [shared(n), shared(rows), shared(rows)] as const;
  const [y1, m1, r1] = outs();
  const [y2, m2, r2] = outs();
  single.layerNormRows(x, gamma, beta, y1, m1, r1, rows, width, 1e-12);
  vec.layerNormRows(x, gamma, beta, y2, m2, r2, rows, width, 1e-12);
  assertSame(y2, y1, 'y');
  assertSame(m2, m1, 'mean');
  assertSame(r2, r1, 'rstd');
  const dy = shared(n, Array.from(normalArray(rng, n, 1)));
  const grads = () => [shared(n), new Float32Array(width).fill(NaN), new Float32Array(width).fill(NaN)] as const;
  const [dx1, dg1, db1] = grads();
  const [dx2, dg2, db2] = grads();
  single.layerNormGradRows(dy, x, gamma, m1, r1, dx1, dg1, db1, rows, width);
  vec.layerNormGradRows(dy, x, gamma, m2, r2, dx2, dg2, db2, rows, width);
  assertSame(dx2, dx1, 'dx');
  assertSame(dg2, dg1, 'dgamma', 1e-4);
  assertSame(db2, db1, 'dbeta', 1e-4);
});

test('residual LayerNorm with dropout on two threads equals one thread, with and without the sum', {skip}, async () => {
  const vec = await twoThreads();
  const rng = mulberry32(8);
  const a = shared(n, Array.from(normalArray(rng, n, 2)));
  const res = shared(n, Array.from(normalArray(rng, n, 1)));
  const gamma = normalArray(rng, width, 1);
  const beta = normalArray(rng, width, 1);
  for (const [rate, keepSum] of [[0.1, true], [0, false]] as const) {
    const outs = () => [shared(n), keepSum ? shared(n) : undefined, shared(rows), shared(rows)] as const;
    const [y1, s1, m1, r1] = outs();
    const [y2, s2, m2, r2] = outs();
    single.residualLayerNormRows(a, res, gamma, beta, y1, s1, m1, r1, rows, width, 1e-12, rate, 23, 40);
    vec.residualLayerNormRows(a, res, gamma, beta, y2, s2, m2, r2, rows, width, 1e-12, rate, 23, 40);
    assertSame(y2, y1, `y, rate ${rate}`);
    if (s1 && s2) assertSame(s2, s1, 'sum');
    assertSame(m2, m1, 'mean');
    assertSame(r2, r1, 'rstd');
  }
});

test('arrays outside shared memory and small calls stay on the main thread, with the same results', {skip}, async () => {
  const vec = await twoThreads();
  const x = Float32Array.from(normalArray(mulberry32(9), n, 1));
  const [one, two] = [new Float32Array(n), new Float32Array(n)];
  single.gelu(x, one, 0, n, false);
  vec.gelu(x, two, 0, n, false);
  assertSame(two, one, 'gelu, unshared');
  const small = shared(64, Array.from(x.subarray(0, 64)));
  const [s1, s2] = [shared(64), shared(64)];
  single.gelu(small, s1, 0, 64, false);
  vec.gelu(small, s2, 0, 64, false);
  assertSame(s2, s1, 'gelu, small');
});

test('attention pairs run by the helper thread equal those of the main thread, forward and backward', {skip: skip ?? (findBlas().blas ? undefined : 'needs a BLAS library')}, async () => {
  await twoThreads();
  const gemm = oneThreadGemm();
  const s = smallAttentionShape();
  const {B, H, S, P, K, K4, d, h} = s;
  const rng = mulberry32(11);
  const filled = (count: number) => shared(count, Array.from(normalArray(rng, count, 1)));
  const qkv = filled(B * S * 3 * h);
  const prefixKey = filled(B * H * P * d);
  const prefixValue = filled(B * H * P * d);
  const mask = shared(B * K4, Array.from({length: B * K4}, (_, i) => (i % K4 >= K || (i % K4) % 5 === 4 ? -1e9 : 0)));
  const dContext = filled(B * S * h);
  const [rate, seed, pairs, half] = [0.2, 13, B * H, 3];
  const scratch = () => {
    const a = shared(S * K4);
    zeroColumns(a, S, K4, K);
    return a;
  };
  const run = (onHelper: boolean) => {
    const probs = shared(B * H * S * K4);
    zeroColumns(probs, B * H * S, K4, K);
    const context = shared(B * S * h);
    const forward = {qkv, prefixKey, prefixValue, mask, probs, context};
    const theirs = [shared(S * K4), scratch(), shared(S * K4)];
    if (onHelper) helper!.start('attentionForward', [...shapeArgs(s), rate, seed, qkv, prefixKey, prefixValue, mask, probs, context, theirs[0], half, pairs]);
    forwardPairs(gemm, single, s, rate, seed, {...forward, dropped: shared(S * K4)}, 0, onHelper ? half : pairs, dnnl);
    if (onHelper) helper!.wait();
    const dqkv = shared(B * S * 3 * h);
    const [dPrefixKey, dPrefixValue] = [shared(B * H * P * d), shared(B * H * P * d)];
    const backward = {qkv, prefixKey, prefixValue, dContext, probs, dqkv, dPrefixKey, dPrefixValue};
    if (onHelper) {
      helper!.start('attentionBackward', [...shapeArgs(s), rate, seed, qkv, prefixKey, prefixValue, dContext, probs, dqkv, dPrefixKey, dPrefixValue, theirs[1], theirs[2], half, pairs]);
    }
    backwardPairs(gemm, single, s, rate, seed, {...backward, dP: scratch(), dropped: shared(S * K4)}, 0, onHelper ? half : pairs);
    if (onHelper) helper!.wait();
    return {probs, context, dqkv, dPrefixKey, dPrefixValue};
  };
  const one = run(false);
  const two = run(true);
  for (const key of Object.keys(one) as (keyof typeof one)[]) assertSame(two[key], one[key], key);
  assert.ok(one.dPrefixKey.some((x) => Math.abs(x) > 1e-3), 'the prefix gets a gradient');
});

test('an AdamW update and equal-shape element-wise ops shared with the helper thread, and a squared sum split with it, equal the main thread alone', {skip}, async () => {
  await twoThreads();
  const count = 200_003;
  const rng = mulberry32(17);
  const [p, g, m, v] = [1, 1, 0.1, 0.01].map((scale) => shared(count, Array.from(normalArray(rng, count, scale)).map((x) => (scale === 0.01 ? x * x : x))));
  const numbers = [0.9, 0.999, 1e-8, 0.999, 0.01, 0.03, 0.5];
  const update = (split: boolean) => {
    const outs = [shared(count), shared(count), shared(count)];
    const arrays = [p, g, m, v, ...outs];
    // The update the AdamW kernel runs: SIMD (staged) where there is SIMD, as the helper does.
    const adamW = mainFlatOps().adamWRange as (...a: unknown[]) => void;
    const run = (from: number, to: number) => adamW(...arrays, ...numbers, from, to);
    if (split) shareWork(count, 1, arrays, (_, from, to) => run(from, to), 'adamWRange', [...arrays, ...numbers], 4);
    else run(0, count);
    return outs;
  };
  const [one, two] = [update(false), update(true)];
  ['p', 'm', 'v'].forEach((name, i) => assertSame(two[i], one[i], name));
  for (let op = 0; op < ops.BINARY_OPS.length; op++) {
    const [one, two] = [shared(count), shared(count)];
    ops.binaryEqual(op, p, v, one, 0, count);
    shareWork(count, 1, [p, v, two], (_, from, to) => ops.binaryEqual(op, p, v, two, from, to), 'binaryEqual', [op, p, v, two], 4);
    assertSame(two, one, ops.BINARY_OPS[op]);
  }
  const theirs = shared(1);
  const mine = new Float64Array(1);
  splitWork(count, 1, [g], (_, from, to) => ops.squaredSum(g, from, to, mine, 0), (from, to) => ['squaredSum', [g, from, to, theirs, 0]]);
  const all = new Float64Array(1);
  ops.squaredSum(g, 0, count, all, 0);
  assert.ok(theirs[0] > 0, 'the helper summed its half');
  assert.ok(Math.abs(mine[0] + theirs[0] - all[0]) <= 1e-6 * all[0], `${mine[0] + theirs[0]} vs ${all[0]}`);
});

/** Blocks this thread for `ms` milliseconds. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

test('a shared call: the helper takes chunks, each chunk is computed once, and the result is one thread\'s', {skip}, async () => {
  await twoThreads();
  const count = 128 * 1024;
  const x = shared(count, Array.from(normalArray(mulberry32(19), count, 2)));
  const [one, two] = [shared(count), shared(count)];
  single.gelu(x, one, 0, count, false);
  const taken: [number, number][] = [];
  // This thread is slow (2 ms a chunk), so the helper, once awake, takes some of the 64 chunks.
  helper!.share('geluRange', [x, two, false], 0, count, 2048, (lo, hi) => {
    taken.push([lo, hi]);
    single.gelu(x, two, lo, hi, false);
    pause(2);
  });
  // (This thread may take none, if the helper is quicker to every claim.)
  assert.ok(taken.length < 64, `this thread took all 64 chunks: the helper took none`);
  assert.ok(taken.every(([lo, hi]) => lo % 2048 === 0 && hi - lo === 2048), 'whole chunks');
  assertSame(two, one, 'gelu over chunks from both threads');
});

test('a bias fill shared with the helper: every row of the output is the bias row, for chunks taken by either thread', {skip}, async () => {
  await twoThreads();
  for (const [rows, width, step] of [[2048, 24, 128], [37, 5, 4], [9, 3, 1]]) {
    const bias = Array.from(normalArray(mulberry32(rows), width, 1));
    const out = shared(rows * width, Array.from({length: rows * width}, () => NaN));
    out.set(bias, 0);
    // This thread is slow, so the helper takes chunks too.
    helper!.share('copyFirstRowRange', [out, width], 0, rows, step, (lo, hi) => {
      copyFirstRow(out, width, lo, hi);
      pause(1);
    });
    for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) assert.equal(out[r * width + j], Math.fround(bias[j]), `[${rows}, ${width}] row ${r}, column ${j}`);
  }
});

test('a chunk that fails on the helper fails the shared call, and the helper serves the next call', {skip}, async () => {
  await twoThreads();
  const rows = 128;
  const x = shared(rows * 8, Array.from(normalArray(mulberry32(23), rows * 8, 1)));
  // γ is not an array: layerNormRows throws on the helper. This thread's chunks do nothing, slowly.
  assert.throws(
    () => helper!.share('layerNormRange', [x, 5, 6, shared(rows * 8), shared(rows), shared(rows), 8, 1e-5], 0, rows, 1, () => pause(2)),
    /helper thread failed/,
  );
  const [one, two] = [shared(rows * 8), shared(rows * 8)];
  single.gelu(x, one, 0, rows * 8, false);
  helper!.share('geluRange', [x, two, false], 0, rows * 8, 16, (lo, hi) => single.gelu(x, two, lo, hi, false));
  assertSame(two, one, 'gelu after the failure');
});
