/**
 * Kernels for backends whose tensors are JS Float32Arrays (`blas`), faster than tfjs's stock CPU
 * ones for the shapes a training step uses:
 * - Add, Sub, Multiply, RealDiv on equal shapes (on oneDNN's binary primitive when it loads,
 *   dnnl.ts; else on the SIMD loop of staged-simd.ts, split with the helper thread: a JS loop
 *   over Float32Arrays runs ~1.8 ns per element here, the staged one ~0.5 ns; config b pt2,
 *   blas: Add 18 → 10 ms a step), a scalar, a row broadcast ([n] or [1, n]
 *   against [m, n]) or a column broadcast ([m, 1] against [m, n], softmax's max and sum), either
 *   side. The stock binary kernels call the op through one shared closure and index with `%` per
 *   element, even for equal shapes (measured, blas, config b: Add 0.8 s of a 2.8 s pt2 profile;
 *   Multiply and RealDiv of AdamW 3.3 s of an 18 s ft profile), and compute a multi-index per
 *   element for a broadcast (MLM pretraining's softmax over the vocabulary: 35% of its profile).
 * - Sum over leading axes (bias gradients: column sums of [tokens, n]) or all axes: stock Sum
 *   first transposes the reduced axes innermost (2.1 s of that ft profile).
 * - ZerosLike from the pool (see below).
 * Other shapes and dtypes go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type {Blas} from './blas.js';
import {outputArray} from './buffer-pool.js';
import type {Dnnl} from './dnnl.js';
import {shareWork} from './helper-thread.js';
import {mainFlatOps} from './staged-simd.js';
import {BINARY_OPS} from './vector-ops.js';

/** Elements below which an equal-shape op stays on the main thread. */
const MIN_SPLIT = 1 << 16;

type TensorInfo = tf.TensorInfo;

interface ArrayBackend {
  data: {get(id: tf.DataId): {values: unknown}};
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
}

type Op = 'Add' | 'Sub' | 'Multiply' | 'RealDiv';

/** out[i] = a[i] op b[i % bn] for i < n (bn divides n: a scalar, or a row). */
function run(op: Op, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  const bn = b.length;
  if (bn === 1) {
    const s = b[0];
    if (op === 'Add') for (let i = 0; i < n; i++) out[i] = a[i] + s;
    else if (op === 'Sub') for (let i = 0; i < n; i++) out[i] = a[i] - s;
    else if (op === 'Multiply') for (let i = 0; i < n; i++) out[i] = a[i] * s;
    else for (let i = 0; i < n; i++) out[i] = a[i] / s;
    return;
  }
  for (let r = 0; r < n; r += bn) {
    if (op === 'Add') for (let j = 0; j < bn; j++) out[r + j] = a[r + j] + b[j];
    else if (op === 'Sub') for (let j = 0; j < bn; j++) out[r + j] = a[r + j] - b[j];
    else if (op === 'Multiply') for (let j = 0; j < bn; j++) out[r + j] = a[r + j] * b[j];
    else for (let j = 0; j < bn; j++) out[r + j] = a[r + j] / b[j];
  }
}

/** small op big, where `small` (a scalar or a row) repeats along `big`. */
function runReversed(op: Op, big: Float32Array, small: Float32Array, out: Float32Array): void {
  if (op === 'Add' || op === 'Multiply') return run(op, big, small, out);
  const n = out.length;
  const bn = small.length;
  if (op === 'Sub') for (let r = 0; r < n; r += bn) for (let j = 0; j < bn; j++) out[r + j] = small[j] - big[r + j];
  else for (let r = 0; r < n; r += bn) for (let j = 0; j < bn; j++) out[r + j] = small[j] / big[r + j];
}

/** out[r·w + j] = a[r·w + j] op c[r]: `c` holds one value per row of width w (a [m, 1] column). */
function runColumn(op: Op, a: Float32Array, c: Float32Array, out: Float32Array, reversed: boolean): void {
  const w = out.length / c.length;
  for (let r = 0, o = 0; r < c.length; r++, o += w) {
    const x = c[r];
    if (op === 'Add') for (let j = o; j < o + w; j++) out[j] = a[j] + x;
    else if (op === 'Multiply') for (let j = o; j < o + w; j++) out[j] = a[j] * x;
    else if (op === 'Sub') for (let j = o; j < o + w; j++) out[j] = reversed ? x - a[j] : a[j] - x;
    else for (let j = o; j < o + w; j++) out[j] = reversed ? x / a[j] : a[j] / x;
  }
}

/** Whether `small` is `big` with its last dimension 1 (leading 1s aside): one value per row. */
function isColumn(small: number[], big: number[]): boolean {
  const s = small.slice(small.findIndex((d) => d !== 1));
  if (s.length === 0 || s[s.length - 1] !== 1 || big[big.length - 1] === 1) return false;
  const rows = big.slice(0, -1);
  const sRows = s.slice(0, -1);
  return sRows.length <= rows.length && rows.slice(rows.length - sRows.length).every((d, i) => d === sRows[i]) && size(sRows) === size(rows);
}

/** Whether `small` (leading 1s dropped) is the trailing part of `big`, so it repeats per row. */
function isTrailing(small: number[], big: number[]): boolean {
  const s = small.slice(small.findIndex((d) => d !== 1));
  if (s.length === 0 || s.length > big.length) return s.length === 0;
  return s.every((d, i) => d === big[big.length - s.length + i]);
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

function binary(op: Op, stock: tf.KernelFunc, dnnl: Dnnl | null): tf.KernelFunc {
  return ((args: {inputs: tf.NamedTensorInfoMap; backend: ArrayBackend}) => {
    const {a, b} = args.inputs as {a: TensorInfo; b: TensorInfo};
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = size(shape);
    const values = (t: TensorInfo) => args.backend.data.get(t.dataId).values as Float32Array;
    const out = outputArray(args.backend, n);
    if (size(a.shape) === n && size(b.shape) === n) {
      // Equal shapes (residual additions, gradient sums): on oneDNN, in place on the arrays
      // ([2048, 256] ~0.1 ms against ~0.35 ms staged through WASM memory on two threads); else
      // the staged loop, shared with the helper thread when large.
      const [A, B] = [values(a), values(b)];
      if (dnnl) dnnl.binary(op, A.subarray(0, n), B.subarray(0, n), out.subarray(0, n));
      else {
        const code = BINARY_OPS.indexOf(op);
        shareWork(n, MIN_SPLIT, [A, B, out], (_, from, to) => mainFlatOps().binaryEqual(code, A, B, out, from, to), 'binaryEqual', [code, A, B, out], 4);
      }
    } else if (size(a.shape) === n && (size(b.shape) === 1 || isTrailing(b.shape, shape))) {
      run(op, values(a), values(b), out);
    } else if (size(b.shape) === n && (size(a.shape) === 1 || isTrailing(a.shape, shape))) {
      runReversed(op, values(b), values(a), out);
    } else if (size(a.shape) === n && isColumn(b.shape, shape)) {
      runColumn(op, values(a), values(b), out, false);
    } else if (size(b.shape) === n && isColumn(a.shape, shape)) {
      runColumn(op, values(b), values(a), out, true);
    } else {
      return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    }
    return args.backend.makeTensorInfo(shape, 'float32', out);
  }) as unknown as tf.KernelFunc;
}

/** A ones vector of at least n floats, for column sums as a product. */
let ones = new Float32Array(0);

/**
 * Sum of float32 x over `axis` when the axes are a leading run (column sums) or all axes. With a
 * BLAS, column sums of many rows (bias gradients, [tokens, n]) are the product 1ᵀ·X on sgemm:
 * vectorised and on all cores, where the JS loop ran one (b ft: 21 sums, ~60 ms a step).
 */
function sum(stock: tf.KernelFunc, blas?: Blas): tf.KernelFunc {
  return ((args: {inputs: tf.NamedTensorInfoMap; backend: ArrayBackend; attrs: {axis: number | number[]; keepDims: boolean}}) => {
    const x = args.inputs.x as TensorInfo;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(args.attrs.axis, x.shape).sort((p, q) => p - q);
    const leading = axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading || rank === 0) return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    const rows = size(x.shape.slice(0, axes.length));
    const width = size(x.shape.slice(axes.length));
    const values = args.backend.data.get(x.dataId).values as Float32Array;
    const shape = args.attrs.keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    if (blas && rows >= 64 && width >= 16) {
      if (ones.length < rows) ones = new Float32Array(rows).fill(1);
      const out = outputArray(args.backend, width);
      blas.sgemm(false, false, 1, width, rows, 1, ones, rows, values, width, 0, out, width);
      return args.backend.makeTensorInfo(shape, 'float32', out);
    }
    const acc = new Float64Array(width);
    for (let r = 0; r < rows; r++) {
      const o = r * width;
      for (let j = 0; j < width; j++) acc[j] += values[o + j];
    }
    return args.backend.makeTensorInfo(shape, 'float32', Float32Array.from(acc));
  }) as unknown as tf.KernelFunc;
}

function replace(backendName: string, name: string, make: (stock: tf.KernelFunc) => tf.KernelFunc): void {
  const stock = tf.getKernel(name, backendName);
  if (!stock) throw new Error(`no stock ${name} kernel on ${backendName} to replace`);
  tf.unregisterKernel(name, backendName);
  tf.registerKernel({...stock, kernelFunc: make(stock.kernelFunc)});
}

/**
 * ZerosLike into an array of the pool (zero-filled): AdamW's moments start this way, and the pool
 * owning them lets the first update write them in place. From the stock kernel (a plain array
 * the pool cannot know is private) the first update took new arrays for both, and the zeros lay
 * as garbage until collected: BERT-large ft peaked ~1.8 GB higher in its first step.
 */
function zerosLike(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: {inputs: tf.NamedTensorInfoMap; backend: ArrayBackend}) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype !== 'float32') return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    const out = outputArray(args.backend, size(x.shape));
    out.fill(0);
    return args.backend.makeTensorInfo(x.shape, 'float32', out);
  }) as unknown as tf.KernelFunc;
}

/** Replaces the kernels above on `backendName` (registered already, e.g. copied from 'cpu'). */
export function installArrayKernels(backendName: string, blas?: Blas, dnnl: Dnnl | null = null): void {
  for (const op of ['Add', 'Sub', 'Multiply', 'RealDiv'] as const) replace(backendName, op, (stock) => binary(op, stock, dnnl));
  replace(backendName, 'Sum', (stock) => sum(stock, blas));
  replace(backendName, 'ZerosLike', zerosLike);
}
