/**
 * ptv2's own tfjs kernels for the encoder's hot spots, registered for the WASM, `blas` and
 * pure-JS CPU backends. Other backends (tfjs-node) keep the stock ops: layers.ts asks
 * `fastKernels()` first.
 *
 * Why each exists (profiles in bench/README.md; background in PERF-NOTES.md):
 * - WASM element-wise kernels are scalar (erf ~25 ns per element); GELU, LayerNorm and dropout
 *   here are one SIMD pass each, forward and backward. While a gradient tape records, GELU also
 *   writes its slope GELU′(x), so its backward pass is one multiply (layers.ts).
 * - tf.dropout builds its mask through a JS PRNG into a fresh tensor and keeps it for backprop;
 *   here the mask is a hash of (seed, element index), recomputed in the backward pass.
 * - Some stock WASM data-movement kernels copy far more than needed; `fastKernels()` swaps in the
 *   versions of copy-kernels.ts.
 * - Row gathers (embedding lookups) are plain memory copies.
 * - The frozen linears' matmuls are split over two threads on WASM (parallel-matmul.ts).
 * Attention, the largest of them, is in attention-kernel.ts.
 *
 * A kernel sees tensors through a `KernelMemory`: the WASM heap or the CPU backend's arrays, a
 * 2-D matmul on views into tensors (on WASM the unpacked SIMD GEMM for small operands, else
 * XNNPACK through the backend's own BatchMatMul export on tensors registered at offsets inside
 * larger ones, so nothing is copied; cblas_sgemm with strides on `blas`; a JS loop on CPU), and
 * the row/element loops: on WASM the f32x4 loops of simd-kernels.ts in place, on `blas` the same
 * loops staged through a private WASM memory (staged-simd.ts), on CPU the JS references of
 * vector-ops.ts.
 */
import * as tf from '@tensorflow/tfjs';
import {outputArray, poolOf} from './buffer-pool.js';
import type {ArrayGemm} from './attention-pairs.js';
import {findBlas, type Blas} from './blas.js';
import {findDnnl, type Dnnl} from './dnnl.js';
import {installWasmCopyKernels} from './copy-kernels.js';
import {matMulHelper, type MatMulHelper} from './parallel-matmul.js';
import {ParallelVec} from './parallel-vec.js';
import {isWasmMemory, simdKernels, type SimdKernels, type WasmMemory} from './simd-kernels.js';
import {mainStaged, type VectorOps} from './staged-simd.js';
import * as ops from './vector-ops.js';

type TensorInfo = tf.TensorInfo;
type Inputs = tf.NamedTensorInfoMap;
type Attrs = tf.NamedAttrMap;

export interface KernelMemory {
  /** WASM only: the SIMD loops, on byte addresses from `address`. */
  readonly simd?: SimdKernels;
  /**
   * The row and element loops on typed arrays: the JS references (CPU, and WASM's tails), or on
   * `blas` the SIMD loops staged through a private WASM memory (staged-simd.ts).
   */
  readonly vec: VectorOps;
  /** Byte address of element `offset` of `t` in the WASM heap. */
  address(t: TensorInfo, offset?: number): number;
  /** A new tensor. On WASM this may grow the heap, detaching earlier views: take views after allocating. */
  output(shape: number[], dtype?: 'float32' | 'int32'): TensorInfo;
  /** Releases a tensor made by `output` that is not returned. */
  free(t: TensorInfo): void;
  f32(t: TensorInfo): Float32Array;
  i32(t: TensorInfo): Int32Array;
  /**
   * C = A·B for row-major A [m, k] (or, with transposeA, A stored as Aᵀ [k, m]), B [k, n] and
   * C [m, n] at element offsets inside tensors. On WASM it may grow the heap: take views again
   * afterwards.
   */
  gemm(a: TensorInfo, aOffset: number, b: TensorInfo, bOffset: number, c: TensorInfo, cOffset: number, m: number, k: number, n: number, transposeA?: boolean): void;
  /**
   * `blas` only: C ← alpha·op(A)·op(B) + beta·C with transpose flags and row strides (cblas_sgemm
   * on arrays at element offsets), so kernels can multiply blocks in place; `oneThread` while the
   * helper thread multiplies too (helper-thread.ts).
   */
  arrayGemm?(oneThread: boolean): ArrayGemm;
  /** `blas` only: oneDNN when it loads (dnnl.ts), for GELU without a gradient tape, LayerNorm and attention's softmax. */
  readonly dnnl?: Dnnl | null;
  /**
   * `blas` only: a tensor sharing t's data (an output that is the input, updated in place), when
   * t's array belongs to t alone — one reference, from the pool, never read out or viewed
   * (buffer-pool.ts); else undefined.
   */
  reuse?(t: TensorInfo): TensorInfo | undefined;
}

export type KernelImpl = (mem: KernelMemory, inputs: Inputs, attrs: Attrs) => TensorInfo | TensorInfo[];

interface WasmModule {
  HEAP32: Int32Array;
  /** Emscripten's exports, among them the module's memory. */
  asm?: {memory?: WasmMemory};
  _malloc(bytes: number): number;
  _register_tensor(id: number, size: number, offset: number): void;
  _dispose_data(id: number): void;
  _BatchMatMul(aId: number, aShape: number, aRank: number, bId: number, bShape: number, bRank: number, transposeA: number, transposeB: number, outId: number): void;
}

interface WasmBackend {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: {get(id: tf.DataId): {memoryOffset: number}};
  makeOutput(shape: number[], dtype: string): TensorInfo;
  disposeData(id: tf.DataId): boolean;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array;
  incRef(id: tf.DataId): void;
}

interface CpuBackend {
  data: {get(id: tf.DataId): {values: Float32Array | Int32Array}};
  makeTensorInfo(shape: number[], dtype: string, values?: Float32Array | Int32Array): TensorInfo;
  disposeData(id: tf.DataId): boolean;
  refCount(id: tf.DataId): number;
  incRef(id: tf.DataId): void;
}

/**
 * Up to this many elements of B, the unpacked SIMD GEMM beats XNNPACK (measured: 33 vs 19 GFLOP/s
 * at 128×64×144, where packing B costs ~50 µs a call); beyond, XNNPACK's packed panels win
 * (25 vs 21 GFLOP/s at 2048×256×1024).
 */
const SIMD_GEMM_MAX_B = 64 * 1024;

class WasmHeap implements KernelMemory {
  readonly simd?: SimdKernels;
  readonly vec: VectorOps = ops;
  /** Six int32s on the heap: the [1, m, k] and [1, k, n] shapes handed to BatchMatMul. */
  private readonly shapes: number;

  constructor(private readonly backend: WasmBackend) {
    this.shapes = backend.wasm._malloc(24);
    const memory = backend.wasm.asm?.memory;
    if (isWasmMemory(memory)) this.simd = simdKernels(memory);
  }

  address(t: TensorInfo, offset = 0): number {
    return this.backend.dataIdMap.get(t.dataId).memoryOffset + 4 * offset;
  }

  output(shape: number[], dtype: 'float32' | 'int32' = 'float32'): TensorInfo {
    return this.backend.makeOutput(shape, dtype);
  }

  free(t: TensorInfo): void {
    this.backend.disposeData(t.dataId);
  }

  f32(t: TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }

  i32(t: TensorInfo): Int32Array {
    return this.backend.typedArrayFromHeap(t) as Int32Array;
  }

  gemm(a: TensorInfo, aOffset: number, b: TensorInfo, bOffset: number, c: TensorInfo, cOffset: number, m: number, k: number, n: number, transposeA = false): void {
    // Small operands (attention's per-head matmuls): the SIMD loop, which skips XNNPACK's packing of B.
    if (this.simd && n % 4 === 0 && k * n <= SIMD_GEMM_MAX_B) {
      const run = transposeA ? this.simd.gemmTransposedA : this.simd.gemm;
      run(this.address(a, aOffset), this.address(b, bOffset), this.address(c, cOffset), m, k, n, n, n);
      return;
    }
    if (transposeA) {
      const plain = this.output([m, k]);
      ops.transposeStrided(this.f32(a), aOffset, m, this.f32(plain), 0, k, k, m);
      this.xnnGemm(plain, 0, b, bOffset, c, cOffset, m, k, n);
      this.free(plain);
      return;
    }
    this.xnnGemm(a, aOffset, b, bOffset, c, cOffset, m, k, n);
  }

  private xnnGemm(a: TensorInfo, aOffset: number, b: TensorInfo, bOffset: number, c: TensorInfo, cOffset: number, m: number, k: number, n: number): void {
    const {wasm} = this.backend;
    const s = this.shapes >> 2;
    wasm.HEAP32.set([1, m, k, 1, k, n], s);
    // Ids from the backend's own counter never collide with real tensors; disposing them drops the
    // XNNPACK operator (and its packed copy of B) that BatchMatMul caches per B id.
    const ids = [this.backend.dataIdNextNumber++, this.backend.dataIdNextNumber++, this.backend.dataIdNextNumber++];
    wasm._register_tensor(ids[0], m * k, this.address(a, aOffset));
    wasm._register_tensor(ids[1], k * n, this.address(b, bOffset));
    wasm._register_tensor(ids[2], m * n, this.address(c, cOffset));
    wasm._BatchMatMul(ids[0], this.shapes, 3, ids[1], this.shapes + 12, 3, 0, 0, ids[2]);
    for (const id of ids) wasm._dispose_data(id);
  }
}

class CpuArrays implements KernelMemory {
  readonly vec: VectorOps = ops;

  constructor(protected readonly backend: CpuBackend) {}

  address(): number {
    throw new Error('the CPU backend has no heap addresses');
  }

  output(shape: number[], dtype: 'float32' | 'int32' = 'float32'): TensorInfo {
    const size = shape.reduce((p, x) => p * x, 1);
    return this.backend.makeTensorInfo(shape, dtype, dtype === 'int32' ? new Int32Array(size) : outputArray(this.backend, size));
  }

  free(t: TensorInfo): void {
    this.backend.disposeData(t.dataId);
  }

  f32(t: TensorInfo): Float32Array {
    return this.backend.data.get(t.dataId).values as Float32Array;
  }

  i32(t: TensorInfo): Int32Array {
    return this.backend.data.get(t.dataId).values as Int32Array;
  }

  gemm(a: TensorInfo, aOffset: number, b: TensorInfo, bOffset: number, c: TensorInfo, cOffset: number, m: number, k: number, n: number, transposeA = false): void {
    const A = this.f32(a);
    const B = this.f32(b);
    const C = this.f32(c);
    C.fill(0, cOffset, cOffset + m * n);
    const [rowStep, colStep] = transposeA ? [1, m] : [k, 1];
    for (let i = 0; i < m; i++) {
      const row = cOffset + i * n;
      for (let p = 0; p < k; p++) {
        const x = A[aOffset + i * rowStep + p * colStep];
        if (x === 0) continue;
        const from = bOffset + p * n;
        for (let j = 0; j < n; j++) C[row + j] += x * B[from + j];
      }
    }
  }
}

/** The `blas` backend's arrays (JS memory, as CPU) with the matrix products on cblas_sgemm. */
class BlasArrays extends CpuArrays {
  override readonly vec: VectorOps = ParallelVec.wrap(mainStaged() ?? ops);
  readonly dnnl = findDnnl();

  constructor(backend: CpuBackend, readonly blas: Blas) {
    super(backend);
  }

  override gemm(a: TensorInfo, aOffset: number, b: TensorInfo, bOffset: number, c: TensorInfo, cOffset: number, m: number, k: number, n: number, transposeA = false): void {
    this.gemms[0](transposeA, false, m, n, k, 1, this.f32(a), aOffset, transposeA ? m : k, this.f32(b), bOffset, n, 0, this.f32(c), cOffset, n);
  }

  private readonly gemms = [false, true].map(
    (oneThread): ArrayGemm =>
      (transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc) =>
        this.blas.sgemm(transA, transB, m, n, k, alpha, a.subarray(aOffset), lda, b.subarray(bOffset), ldb, beta, c.subarray(cOffset), ldc, oneThread),
  );

  arrayGemm(oneThread: boolean): ArrayGemm {
    return this.gemms[oneThread ? 1 : 0];
  }

  reuse(t: TensorInfo): TensorInfo | undefined {
    const pool = poolOf(this.backend);
    if (!pool || t.dtype !== 'float32' || this.backend.refCount(t.dataId) !== 1 || !pool.owns(this.f32(t))) return undefined;
    this.backend.incRef(t.dataId);
    return {dataId: t.dataId, shape: t.shape, dtype: t.dtype};
  }
}

const memories = new WeakMap<object, KernelMemory>();

function newMemory(backendName: string, backend: object): KernelMemory {
  if (backendName === 'wasm') return new WasmHeap(backend as WasmBackend);
  const blas = backendName === 'blas' ? findBlas().blas : undefined;
  if (backendName === 'blas' && !blas) throw new Error('the blas backend is active but no BLAS library is loaded');
  return blas ? new BlasArrays(backend as CpuBackend, blas) : new CpuArrays(backend as CpuBackend);
}

function memoryOf(backendName: string, backend: object): KernelMemory {
  let mem = memories.get(backend);
  if (!mem) {
    mem = newMemory(backendName, backend);
    memories.set(backend, mem);
  }
  return mem;
}

/** Elements [0, n4) of a flat op go to SIMD on WASM; the rest (n mod 4) to the JS reference. */
function simdSpan(mem: KernelMemory, n: number): number {
  return mem.simd ? n & ~3 : 0;
}

function dropout(mem: KernelMemory, {x}: Inputs, attrs: Attrs): TensorInfo {
  const rate = attrs.rate as number;
  const seed = (attrs.seed as number) | 0;
  const out = mem.output(x!.shape);
  const n = x!.shape.reduce((p, d) => p * d, 1);
  const n4 = simdSpan(mem, n);
  if (n4 > 0) mem.simd!.dropoutRows(mem.address(x!), mem.address(out), 1, n4, 0, seed, ops.dropThreshold(rate), 1 / (1 - rate), 0);
  mem.vec.dropoutRows(mem.f32(x!), n4, mem.f32(out), n4, 1, n - n4, 0, seed, rate, n4);
  return out;
}

/** GELU of x; with `slope` (training) also GELU′(x), so the backward pass is dy·slope. */
function gelu(mem: KernelMemory, {x}: Inputs, {approximate, slope}: Attrs): TensorInfo | TensorInfo[] {
  const out = mem.output(x!.shape);
  const g = slope ? mem.output(x!.shape) : undefined;
  const n = x!.shape.reduce((p, d) => p * d, 1);
  const n4 = approximate ? 0 : simdSpan(mem, n);
  if (g) {
    if (n4 > 0) mem.simd!.geluSlope(mem.address(x!), mem.address(out), mem.address(g), n4);
    mem.vec.geluSlope(mem.f32(x!), mem.f32(out), mem.f32(g), n4, n, approximate as boolean);
    return [out, g];
  }
  if (mem.dnnl && !approximate) {
    mem.dnnl.gelu(mem.f32(x!).subarray(0, n), mem.f32(out).subarray(0, n));
    return out;
  }
  if (n4 > 0) mem.simd!.gelu(mem.address(x!), mem.address(out), n4);
  mem.vec.gelu(mem.f32(x!), mem.f32(out), n4, n, approximate as boolean);
  return out;
}

/** Rows of x [rows, width] normalised: y, and the per-row mean and 1/σ the backward pass needs. */
function layerNorm(mem: KernelMemory, {x, gamma, beta}: Inputs, {eps}: Attrs): TensorInfo[] {
  const [rows, width] = x!.shape;
  const y = mem.output([rows, width]);
  const mean = mem.output([rows]);
  const rstd = mem.output([rows]);
  if (mem.dnnl) {
    dnnlLayerNorm(mem, mem.dnnl, mem.f32(x!), gamma!, beta!, y, mean, rstd, eps as number);
  } else if (mem.simd && width % 4 === 0) {
    const [X, G, B, Y, M, R] = [x!, gamma!, beta!, y, mean, rstd].map((t) => mem.address(t));
    mem.simd.layerNormRows(X, G, B, Y, M, R, rows, width, eps as number);
  } else {
    const [X, G, B, Y, M, R] = [x!, gamma!, beta!, y, mean, rstd].map((t) => mem.f32(t));
    mem.vec.layerNormRows(X, G, B, Y, M, R, rows, width, eps as number);
  }
  return [y, mean, rstd];
}

/**
 * LayerNorm of the rows of x on oneDNN into y (y may be x), with each row's mean and 1/σ (from
 * oneDNN's variance) for the backward pass.
 */
function dnnlLayerNorm(mem: KernelMemory, dnnl: Dnnl, x: Float32Array, gamma: TensorInfo, beta: TensorInfo, y: TensorInfo, mean: TensorInfo, rstd: TensorInfo, eps: number): void {
  const [rows, width] = y.shape;
  const R = mem.f32(rstd);
  dnnl.layerNormRows(x.subarray(0, rows * width), mem.f32(gamma), mem.f32(beta), mem.f32(y), rows, width, eps, {mean: mem.f32(mean), variance: R});
  for (let i = 0; i < rows; i++) R[i] = 1 / Math.sqrt(R[i] + eps);
}

/**
 * y = LayerNorm(dropout(a) + residual) over rows [rows, width], a residual block's end: [y, mean,
 * 1/σ], and with `keepSum` (training) the sum, which LayerNorm's backward pass reads as its x.
 * On blas with oneDNN: dropout (ptv2's, the same mask), oneDNN's add and LayerNorm, the sum built
 * in y when it is not kept (measured on [2048, 256]: ~1.1 ms on two threads for ptv2's own fused
 * pass, ~0.3 ms this way); else one pass of vector-ops.ts residualLayerNormRows.
 */
function residualLayerNorm(mem: KernelMemory, {a, residual, gamma, beta}: Inputs, {eps, rate, seed, keepSum}: Attrs): TensorInfo[] {
  const [rows, width] = a!.shape;
  const n = rows * width;
  const [dropRate, dropSeed] = [rate as number, (seed as number) | 0];
  const y = mem.output([rows, width]);
  const mean = mem.output([rows]);
  const rstd = mem.output([rows]);
  const onHeap = mem.simd && width % 4 === 0;
  const sum = keepSum || onHeap ? mem.output([rows, width]) : undefined;
  if (mem.dnnl) {
    const S = mem.f32(sum ?? y).subarray(0, n);
    const A = mem.f32(a!).subarray(0, n);
    if (dropRate > 0) {
      mem.vec.dropoutRows(A, 0, S, 0, 1, n, 0, dropSeed, dropRate, 0);
      mem.dnnl.binary('Add', S, mem.f32(residual!).subarray(0, n), S);
    } else mem.dnnl.binary('Add', A, mem.f32(residual!).subarray(0, n), S);
    dnnlLayerNorm(mem, mem.dnnl, S, gamma!, beta!, y, mean, rstd, eps as number);
  } else if (onHeap) {
    // In place on the WASM heap: dropout (or a copy) of a into sum, + residual, then LayerNorm.
    const [A, R, G, B, Y, M, RS, S] = [a!, residual!, gamma!, beta!, y, mean, rstd, sum!].map((t) => mem.address(t));
    if (dropRate > 0) mem.simd!.dropoutRows(A, S, 1, n, 0, dropSeed, ops.dropThreshold(dropRate), 1 / (1 - dropRate), 0);
    else mem.simd!.copyRows(A, n, S, n, 1, n, 1);
    mem.simd!.binaryAdd(S, R, S, n);
    mem.simd!.layerNormRows(S, G, B, Y, M, RS, rows, width, eps as number);
  } else {
    const [A, R, G, B, Y, M, RS] = [a!, residual!, gamma!, beta!, y, mean, rstd].map((t) => mem.f32(t));
    mem.vec.residualLayerNormRows(A, R, G, B, Y, sum ? mem.f32(sum) : undefined, M, RS, rows, width, eps as number, dropRate, dropSeed, 0);
  }
  if (keepSum) return [y, mean, rstd, sum!];
  if (sum) mem.free(sum);
  return [y, mean, rstd];
}

/** dx, dγ, dβ of LayerNorm from dy and the forward pass's x, mean and 1/σ. */
function layerNormGrad(mem: KernelMemory, {dy, x, gamma, mean, rstd}: Inputs): TensorInfo[] {
  const [rows, width] = x!.shape;
  const dx = mem.output([rows, width]);
  const dgamma = mem.output([width]);
  const dbeta = mem.output([width]);
  if (mem.simd && width % 4 === 0) {
    mem.f32(dgamma).fill(0);
    mem.f32(dbeta).fill(0);
    const [DY, X, G, M, R, DX, DG, DB] = [dy!, x!, gamma!, mean!, rstd!, dx, dgamma, dbeta].map((t) => mem.address(t));
    mem.simd.layerNormGradRows(DY, X, G, M, R, DX, DG, DB, rows, width);
  } else {
    const [DY, X, G, M, R, DX, DG, DB] = [dy!, x!, gamma!, mean!, rstd!, dx, dgamma, dbeta].map((t) => mem.f32(t));
    mem.vec.layerNormGradRows(DY, X, G, M, R, DX, DG, DB, rows, width);
  }
  return [dx, dgamma, dbeta];
}

/** Rows of table [rows, width] at int32 ids → [ids, width]. */
function gatherRows(mem: KernelMemory, {table, ids}: Inputs): TensorInfo {
  const [rows, width] = table!.shape;
  const n = ids!.shape[0];
  const out = mem.output([n, width]);
  const I = mem.i32(ids!);
  const T = mem.f32(table!);
  const O = mem.f32(out);
  for (let i = 0; i < n; i++) {
    const id = I[i];
    if (id < 0 || id >= rows) throw new RangeError(`id ${id} is outside the embedding table's ${rows} rows`);
    O.set(T.subarray(id * width, (id + 1) * width), i * width);
  }
  return out;
}

export const KERNEL_NAMES = {
  dropout: 'Ptv2Dropout',
  gelu: 'Ptv2Gelu',
  layerNorm: 'Ptv2LayerNorm',
  layerNormGrad: 'Ptv2LayerNormGrad',
  residualLayerNorm: 'Ptv2ResidualLayerNorm',
  gather: 'Ptv2GatherRows',
  attention: 'Ptv2Attention',
  attentionGrad: 'Ptv2AttentionGrad',
  frozenMatMul: 'Ptv2FrozenMatMul',
  adamW: 'Ptv2AdamW',
  squaredSum: 'Ptv2SquaredSum',
} as const;

const KERNELS = new Map<string, KernelImpl>([
  [KERNEL_NAMES.dropout, dropout],
  [KERNEL_NAMES.gelu, gelu],
  [KERNEL_NAMES.layerNorm, layerNorm],
  [KERNEL_NAMES.layerNormGrad, layerNormGrad],
  [KERNEL_NAMES.residualLayerNorm, residualLayerNorm],
  [KERNEL_NAMES.gather, gatherRows],
]);

export const KERNEL_BACKENDS = ['wasm', 'cpu', 'blas'] as const;

/** Registers `impl` as kernel `name` on every backend in KERNEL_BACKENDS (once). */
export function registerKernel(name: string, impl: KernelImpl): void {
  KERNELS.set(name, impl);
  for (const backendName of KERNEL_BACKENDS) {
    if (tf.getKernel(name, backendName)) continue;
    tf.registerKernel({
      kernelName: name,
      backendName,
      kernelFunc: ({inputs, backend, attrs}) => impl(memoryOf(backendName, backend), inputs, attrs ?? {}),
    });
  }
}

for (const [name, impl] of KERNELS) registerKernel(name, impl);

let enabled = true;

/** Turns ptv2's kernels off (stock tfjs ops everywhere), e.g. to compare the two in tests. */
export function setFastKernels(on: boolean): void {
  enabled = on;
}

/**
 * Whether ptv2's kernels serve the active backend. On the first WASM call it also swaps in the
 * faster data-movement kernels of copy-kernels.ts (here rather than at import, so they land after
 * the WASM package has registered its own).
 */
export function fastKernels(): boolean {
  if (!enabled) return false;
  const name = tf.getBackend();
  if (name === 'wasm') installWasmCopyKernels();
  return (KERNEL_BACKENDS as readonly string[]).includes(name);
}

/** y = a·w (+ bias) for a frozen w on two threads (parallel-matmul.ts); WASM only. */
function frozenMatMul({inputs, backend}: {inputs: Inputs; backend: object}): TensorInfo {
  const {a, w, bias} = inputs;
  const [m, k] = a!.shape;
  const n = w!.shape[1];
  const out = (backend as WasmBackend).makeOutput([m, n], 'float32');
  matMulHelper(backend)!.matMul(a!, w!, bias, out, m, k, n);
  return out;
}

if (!tf.getKernel(KERNEL_NAMES.frozenMatMul, 'wasm')) {
  tf.registerKernel({kernelName: KERNEL_NAMES.frozenMatMul, backendName: 'wasm', kernelFunc: frozenMatMul as unknown as tf.KernelFunc});
}

/** The matmul helper thread, when ptv2's kernels serve WASM and it is enabled (else null). */
export function parallelMatMul(): MatMulHelper | null {
  if (!fastKernels() || tf.getBackend() !== 'wasm') return null;
  return matMulHelper(tf.backend());
}

/** Runs one of ptv2's kernels on the active backend. */
export function runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: Attrs = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}
