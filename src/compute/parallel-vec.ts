/**
 * The `blas` backend's row loops on two threads. GELU, dropout, LayerNorm and the residual
 * LayerNorm are cut into chunks of rows (or elements) that the main thread and the helper thread
 * (helper-thread.ts) claim as they go (vector-ranges.ts), so a late helper costs its share of the
 * work rather than a wait; softmax and the LayerNorm gradient are split in two fixed halves, the
 * second run by the helper. A chunk or half is the same method on fewer rows, so the results are
 * bit-identical to one thread's, except LayerNorm's dγ and dβ, which are summed in two partial
 * sums and then added (a float rounding difference).
 *
 * A call runs on the main thread alone when it is small (under MIN_ELEMENTS, where the helper's
 * wake-up costs more than the half it saves), when the helper is not ready, or when an output
 * (or a large input) is not in shared memory. Small read-only operands that are not shared (a
 * frozen LayerNorm's γ and β) are copied into a shared staging array first.
 */
import {chunkOf, helperThread, isShared, type Arg, type HelperThread, type VectorMethod} from './helper-thread.js';
import type {VectorOps} from './staged-simd.js';
import {RANGE_CALLS, type RangeCall} from './vector-ranges.js';

/** Elements below which a call stays on the main thread. */
const MIN_ELEMENTS = 1 << 15;
/** Floats of staged (copied) read-only operands per call. */
const STAGING = 1 << 16;

export class ParallelVec implements VectorOps {
  private readonly staging = new Float32Array(new SharedArrayBuffer(STAGING * 4));
  private staged = 0;
  private partial = new Float32Array(new SharedArrayBuffer(1024 * 2 * 4));

  private constructor(
    private readonly inner: VectorOps,
    private readonly helper: HelperThread,
  ) {}

  /** `inner` on two threads when the helper thread is on, else `inner` itself. */
  static wrap(inner: VectorOps): VectorOps {
    const helper = helperThread();
    return helper ? new ParallelVec(inner, helper) : inner;
  }

  /** Whether a call of n elements over these arrays goes to two threads. */
  private splits(n: number, ...arrays: Float32Array[]): boolean {
    return n >= MIN_ELEMENTS && this.helper.ready && arrays.every(isShared);
  }

  /** `a` itself when shared, else a copy in the staging array (undefined when it does not fit). */
  private share(a: Float32Array, length: number): Float32Array | undefined {
    if (isShared(a)) return a;
    if (this.staged + length > STAGING) return undefined;
    const copy = this.staging.subarray(this.staged, this.staged + length);
    copy.set(a.subarray(0, length));
    this.staged += length;
    return copy;
  }

  /**
   * The read-only operands `params` (γ, β, a mask row; `width` floats each) as the helper can read
   * them — shared already, or copied into the staging array — when a call of n elements over
   * `arrays` goes to two threads; else undefined, with the staging array emptied.
   */
  private twoThreads(n: number, arrays: Float32Array[], params: Float32Array[], width: number): Float32Array[] | undefined {
    const shared = this.splits(n, ...arrays) ? params.map((p) => this.share(p, width)) : [];
    if (shared.length === params.length && shared.every((p) => p !== undefined)) return shared as Float32Array[];
    this.staged = 0;
    return undefined;
  }

  /**
   * Runs RANGE_CALLS[call](inner, ...args, lo, hi) over [from, to) in chunks (`chunkOf`) that this
   * thread and the helper claim as they go (HelperThread.share).
   */
  private shareRange(call: RangeCall, args: Arg[], from: number, to: number, align: number): void {
    const run = RANGE_CALLS[call] as (vec: VectorOps, ...rest: Arg[]) => void;
    try {
      this.helper.share(call, args, from, to, chunkOf(to - from, align), (lo, hi) => run(this.inner, ...args, lo, hi));
    } finally {
      this.staged = 0;
    }
  }

  /** Runs `method(...theirs)` on the helper and `mine` here, and returns when both are done. */
  private split(method: VectorMethod, theirs: Arg[], mine: () => void): void {
    try {
      this.helper.alongside(method, theirs, mine);
    } finally {
      this.staged = 0;
    }
  }

  gelu(x: Float32Array, y: Float32Array, from: number, to: number, approximate: boolean): void {
    if (!this.splits(to - from, x, y)) return this.inner.gelu(x, y, from, to, approximate);
    this.shareRange('geluRange', [x, y, approximate], from, to, 4);
  }

  geluSlope(x: Float32Array, y: Float32Array, g: Float32Array, from: number, to: number, approximate: boolean): void {
    if (!this.splits(to - from, x, y, g)) return this.inner.geluSlope(x, y, g, from, to, approximate);
    this.shareRange('geluSlopeRange', [x, y, g, approximate], from, to, 4);
  }

  dropoutRows(x: Float32Array, xOffset: number, y: Float32Array, yOffset: number, rows: number, width: number, indexStride: number, seed: number, rate: number, index0: number): void {
    if (!this.splits(rows * width, x, y)) return this.inner.dropoutRows(x, xOffset, y, yOffset, rows, width, indexStride, seed, rate, index0);
    // A flat run (mask indices continue along it) by elements, else by rows.
    if (rows === 1) this.shareRange('dropoutFlatRange', [x, xOffset, y, yOffset, seed, rate, index0], 0, width, 4);
    else this.shareRange('dropoutRowsRange', [x, xOffset, y, yOffset, width, indexStride, seed, rate, index0], 0, rows, 1);
  }

  softmaxRows(x: Float32Array, offset: number, rows: number, width: number, mask: Float32Array, maskOffset: number): void {
    const params = this.twoThreads(rows * width, [x], [mask.subarray(maskOffset, maskOffset + width)], width);
    if (!params) return this.inner.softmaxRows(x, offset, rows, width, mask, maskOffset);
    const [m] = params;
    const r = rows >> 1;
    this.split('softmaxRows', [x, offset + r * width, rows - r, width, m, 0], () => this.inner.softmaxRows(x, offset, r, width, mask, maskOffset));
  }

  softmaxGradRows(dp: Float32Array, dpOffset: number, p: Float32Array, pOffset: number, rows: number, width: number, indexStride: number, seed: number, rate: number, index0: number): void {
    if (!this.splits(rows * width, dp, p)) return this.inner.softmaxGradRows(dp, dpOffset, p, pOffset, rows, width, indexStride, seed, rate, index0);
    const r = rows >> 1;
    this.split('softmaxGradRows', [dp, dpOffset + r * width, p, pOffset + r * width, rows - r, width, indexStride, seed, rate, index0 + r * indexStride], () =>
      this.inner.softmaxGradRows(dp, dpOffset, p, pOffset, r, width, indexStride, seed, rate, index0),
    );
  }

  layerNormRows(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, width: number, eps: number): void {
    const params = this.twoThreads(rows * width, [x, y, mean, rstd], [gamma, beta], width);
    if (!params) return this.inner.layerNormRows(x, gamma, beta, y, mean, rstd, rows, width, eps);
    const [g, b] = params;
    this.shareRange('layerNormRange', [x, g, b, y, mean, rstd, width, eps], 0, rows, 1);
  }

  residualLayerNormRows(
    a: Float32Array, res: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, sum: Float32Array | undefined,
    mean: Float32Array, rstd: Float32Array, rows: number, width: number, eps: number, rate: number, seed: number, index0: number,
  ): void {
    const params = this.twoThreads(rows * width, [a, res, y, mean, rstd, ...(sum ? [sum] : [])], [gamma, beta], width);
    if (!params) return this.inner.residualLayerNormRows(a, res, gamma, beta, y, sum, mean, rstd, rows, width, eps, rate, seed, index0);
    const [g, b] = params;
    this.shareRange('residualLayerNormRange', [a, res, g, b, y, sum, mean, rstd, width, eps, rate, seed, index0], 0, rows, 1);
  }

  layerNormGradRows(dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, rows: number, width: number): void {
    const params = this.twoThreads(rows * width, [dy, x, mean, rstd, dx], [gamma], width);
    if (!params) return this.inner.layerNormGradRows(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, width);
    const [g] = params;
    if (this.partial.length < 2 * width) this.partial = new Float32Array(new SharedArrayBuffer(2 * width * 4));
    const theirGamma = this.partial.subarray(0, width);
    const theirBeta = this.partial.subarray(width, 2 * width);
    const r = rows >> 1;
    const o = r * width;
    this.split('layerNormGradRows', [dy.subarray(o), x.subarray(o), g, mean.subarray(r), rstd.subarray(r), dx.subarray(o), theirGamma, theirBeta, rows - r, width], () =>
      this.inner.layerNormGradRows(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, r, width),
    );
    for (let j = 0; j < width; j++) {
      dgamma[j] += theirGamma[j];
      dbeta[j] += theirBeta[j];
    }
  }
}
