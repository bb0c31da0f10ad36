/**
 * The `blas` tfjs backend: tfjs's pure-JS CPU backend (tensors are ordinary Float32Arrays in JS
 * memory, so there is no 4 GiB heap ceiling as on WASM) with every matrix product on the
 * machine's BLAS (blas.ts).
 *
 * It is a `MathBackendCPU` registered under its own name: every stock 'cpu' kernel is copied to
 * 'blas', then BatchMatMul and _FusedMatMul are replaced by cblas_sgemm calls. Transposes are
 * CblasTrans flags, never materialised; a fused bias is written into the output first and the
 * GEMM accumulates onto it (beta = 1), so bias and product are one pass. ptv2's own kernels
 * (kernels.ts: LayerNorm, GELU, dropout, gathers; attention-kernel.ts) serve 'blas' too, with
 * their matrix products on sgemm as well. Transpose and Tile (copy-kernels.ts), Add, Sub,
 * Multiply, RealDiv and Sum (array-kernels.ts) have faster JS versions than stock.
 */
import * as tf from '@tensorflow/tfjs';
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import {installArrayKernels} from './array-kernels.js';
import type {Blas} from './blas.js';
import {BufferPool, outputArray} from './buffer-pool.js';
import {helperWanted, isShared, runningHelper, shareWork} from './helper-thread.js';
import {copyFirstRow} from './vector-ranges.js';
import {installArrayCopyKernels} from './copy-kernels.js';
import {findDnnl} from './dnnl.js';

type TensorInfo = tf.TensorInfo;

export const BLAS_BACKEND = 'blas';

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: MathBackendCPU;
  attrs?: tf.NamedAttrMap;
}

function values(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * op(a)·op(b) over the batch dimensions (equal, or one side a single matrix broadcast against
 * the other's batch), with an optional bias row added first. Returns undefined for what it does
 * not cover (other broadcasts, non-float inputs): the stock kernel handles those.
 */
function batchGemm(blas: Blas, backend: MathBackendCPU, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, bias?: TensorInfo): TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (k !== kb) throw new Error(`matMul: inner dimensions ${k} and ${kb} of shapes [${a.shape}] and [${b.shape}] (transposeA ${transposeA}, transposeB ${transposeB}) do not match`);
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (size(outBatch) !== Math.max(batchA, batchB)) return undefined;
  if (bias && bias.dtype !== 'float32') return undefined;
  const biasSize = bias ? size(bias.shape) : 0;
  if (bias && biasSize !== n && biasSize !== 1) return undefined;

  const batches = Math.max(batchA, batchB);
  const out = outputArray(backend, batches * m * n);
  if (bias) {
    const row = values(backend, bias);
    if (biasSize === 1) out.fill(row[0]);
    else fillRows(out, row, batches * m);
  }
  const A = values(backend, a);
  const B = values(backend, b);
  const [lda, ldb] = [transposeA ? m : k, transposeB ? k : n];
  for (let i = 0; i < batches; i++) {
    const aOff = batchA === 1 ? 0 : i * m * k;
    const bOff = batchB === 1 ? 0 : i * k * n;
    blas.sgemm(transposeA, transposeB, m, n, k, 1, A.subarray(aOff), lda, B.subarray(bOff), ldb, bias ? 1 : 0, out.subarray(i * m * n), n);
  }
  return backend.makeTensorInfo([...outBatch, m, n], 'float32', out);
}

/** Floats below which a bias fill stays on the main thread. */
const MIN_SHARED_FILL = 1 << 16;

/**
 * `rows` copies of `row` into out: row 0 set, then copies of it by doubling copyWithin (11
 * memmoves for 2048 rows instead of 2048 set() calls), the rows shared with the helper thread
 * when out is large and shared. The outputs written here come back from the pool cold, so the
 * fill runs at memory speed: config b eval spent 8.6 ms of a ~110 ms pass in it on one thread.
 */
function fillRows(out: Float32Array, row: Float32Array, rows: number): void {
  const width = row.length;
  if (rows * width === 0) return;
  out.set(row, 0);
  const minRows = Math.max(2, Math.ceil(MIN_SHARED_FILL / width));
  shareWork(rows, minRows, [out], (_, lo, hi) => copyFirstRow(out, width, lo, hi), 'copyFirstRowRange', [out, width]);
}

function relu(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] = 0;
}

/**
 * tfjs's CPU backend with a pool of output arrays (buffer-pool.ts): the pool learns which
 * arrays a tensor owns alone (`write`), which were read out (`readSync`, which `read`, dataSync
 * and arraySync go through) and which were freed (`disposeData`).
 */
export class PooledCpuBackend extends MathBackendCPU {
  readonly pool = BufferPool.fromEnv(process.env, helperWanted());

  constructor() {
    super();
    this.pool.onDrop = (buffer) => runningHelper()?.forget(buffer);
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    const id = super.write(values, shape, dtype);
    if (values instanceof Float32Array) this.pool.written(values);
    return id;
  }

  override move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    super.move(dataId, values, shape, dtype, refCount);
    if (values instanceof Float32Array) this.pool.written(values);
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    const values = super.readSync(dataId);
    if (values instanceof Float32Array) this.pool.escaped(values);
    return values;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (released && values instanceof Float32Array && !this.data.has(dataId) && !this.pool.recycle(values) && isShared(values)) {
      // Neither reused nor held by another tensor any more (a view's tensor holds its own
      // reference): the helper thread must not keep it alive.
      runningHelper()?.forget(values.buffer);
    }
    return released;
  }
}

let registered = false;

/**
 * Registers the `blas` backend and its kernels (once). `priority` stays below WASM and CPU so
 * that it is only ever chosen explicitly (backend.ts decides the order).
 */
export function registerBlasBackend(blas: Blas): void {
  if (registered) return;
  registered = true;
  tf.registerBackend(
    BLAS_BACKEND,
    () => {
      const backend = new PooledCpuBackend();
      // Its first write prints an advertisement for tfjs-node; ptv2 reports its own backend.
      (backend as unknown as {firstUse: boolean}).firstUse = false;
      return backend;
    },
    0,
  );
  const stock = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k]));
  // ptv2's own kernels register for 'blas' themselves, with the BLAS-backed memory (kernels.ts).
  for (const [name, config] of stock) {
    if (name.startsWith('Ptv2') || tf.getKernel(name, BLAS_BACKEND)) continue;
    tf.registerKernel({...config, backendName: BLAS_BACKEND});
  }
  installArrayCopyKernels(BLAS_BACKEND);
  installArrayKernels(BLAS_BACKEND, blas, findDnnl());
  const stockMatMul = stock.get('BatchMatMul')!.kernelFunc;
  const stockFused = stock.get('_FusedMatMul')!.kernelFunc;
  for (const name of ['BatchMatMul', '_FusedMatMul']) tf.unregisterKernel(name, BLAS_BACKEND);

  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: BLAS_BACKEND,
    kernelFunc: ((args: KernelArgs) => {
      const {a, b} = args.inputs;
      const {transposeA, transposeB} = args.attrs as {transposeA: boolean; transposeB: boolean};
      return batchGemm(blas, args.backend, a!, b!, transposeA, transposeB) ?? stockMatMul(args as Parameters<tf.KernelFunc>[0]);
    }) as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: '_FusedMatMul',
    backendName: BLAS_BACKEND,
    kernelFunc: ((args: KernelArgs) => {
      const {a, b, bias, preluActivationWeights} = args.inputs;
      const {transposeA, transposeB, activation} = args.attrs as {transposeA: boolean; transposeB: boolean; activation?: string};
      const simple = !preluActivationWeights && (!activation || activation === 'linear' || activation === 'relu');
      const out = simple ? batchGemm(blas, args.backend, a!, b!, transposeA, transposeB, bias) : undefined;
      if (!out) return stockFused(args as Parameters<tf.KernelFunc>[0]);
      if (activation === 'relu') relu(values(args.backend, out));
      return out;
    }) as tf.KernelFunc,
  });
}
