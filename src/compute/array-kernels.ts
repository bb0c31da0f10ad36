/**
 * Element-wise Add, Sub and Mul for backends whose tensors are JS Float32Arrays (`blas`), for the
 * shapes a training step uses: equal shapes, a scalar, and a row broadcast ([n] or [1, n] against
 * [m, n], either side). Other shapes and dtypes go to the stock CPU kernel.
 *
 * Why: the stock CPU binary kernels call the op through one shared closure and index with `%`
 * per element, even for equal shapes (measured, blas, config b pt2: Add took 0.8 s of a 2.8 s
 * profile); here each op is its own monomorphic loop.
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;

interface ArrayBackend {
  data: {get(id: tf.DataId): {values: unknown}};
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
}

type Op = 'Add' | 'Sub' | 'Mul';

/** out[i] = a[i] op b[i % bn] for i < n (bn divides n: equal sizes, a scalar, or a row). */
function run(op: Op, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  const bn = b.length;
  if (bn === n) {
    if (op === 'Add') for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
    else if (op === 'Sub') for (let i = 0; i < n; i++) out[i] = a[i] - b[i];
    else for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
    return;
  }
  if (bn === 1) {
    const s = b[0];
    if (op === 'Add') for (let i = 0; i < n; i++) out[i] = a[i] + s;
    else if (op === 'Sub') for (let i = 0; i < n; i++) out[i] = a[i] - s;
    else for (let i = 0; i < n; i++) out[i] = a[i] * s;
    return;
  }
  for (let r = 0; r < n; r += bn) {
    if (op === 'Add') for (let j = 0; j < bn; j++) out[r + j] = a[r + j] + b[j];
    else if (op === 'Sub') for (let j = 0; j < bn; j++) out[r + j] = a[r + j] - b[j];
    else for (let j = 0; j < bn; j++) out[r + j] = a[r + j] * b[j];
  }
}

/** a op b reversed: the broadcast side is `a` (b − a for Sub). */
function runReversed(op: Op, big: Float32Array, small: Float32Array, out: Float32Array): void {
  if (op !== 'Sub') return run(op, big, small, out);
  const n = out.length;
  const bn = small.length;
  for (let r = 0; r < n; r += bn) for (let j = 0; j < bn; j++) out[r + j] = small[j] - big[r + j];
}

/** Whether `small` (leading 1s dropped) is the trailing part of `big`, so it repeats per row. */
function isTrailing(small: number[], big: number[]): boolean {
  const s = small.slice(small.findIndex((d) => d !== 1));
  if (s.length === 0 || s.length > big.length) return s.length === 0;
  return s.every((d, i) => d === big[big.length - s.length + i]);
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

function binary(op: Op, stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: {inputs: tf.NamedTensorInfoMap; backend: ArrayBackend}) => {
    const {a, b} = args.inputs as {a: TensorInfo; b: TensorInfo};
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = size(shape);
    const values = (t: TensorInfo) => args.backend.data.get(t.dataId).values as Float32Array;
    const out = new Float32Array(n);
    if (size(a.shape) === n && (size(b.shape) === n || size(b.shape) === 1 || isTrailing(b.shape, shape))) {
      run(op, values(a), values(b), out);
    } else if (size(b.shape) === n && (size(a.shape) === 1 || isTrailing(a.shape, shape))) {
      runReversed(op, values(b), values(a), out);
    } else {
      return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    }
    return args.backend.makeTensorInfo(shape, 'float32', out);
  }) as unknown as tf.KernelFunc;
}

/** Replaces Add, Sub and Mul of `backendName` (registered already, e.g. copied from 'cpu'). */
export function installArrayBinaryKernels(backendName: string): void {
  for (const op of ['Add', 'Sub', 'Mul'] as const) {
    const stock = tf.getKernel(op, backendName);
    if (!stock) continue;
    tf.unregisterKernel(op, backendName);
    tf.registerKernel({...stock, kernelFunc: binary(op, stock.kernelFunc)});
  }
}
