/**
 * The `blas` backend's row loops on two threads: each VectorOps call is split in two halves, the
 * second run by the helper thread (helper-thread.ts) while the main thread runs the first. The
 * halves are the same method on fewer rows (or, for flat loops, a shorter range), so the results
 * are bit-identical to one thread's, except LayerNorm's dγ and dβ, which are summed in two
 * partial sums and then added (a float rounding difference).
 *
 * A call runs on the main thread alone when it is small (under MIN_ELEMENTS, where the helper's
 * wake-up costs more than the half it saves), when the helper is not ready, or when an output
 * (or a large input) is not in shared memory. Small read-only operands that are not shared (a
 * frozen LayerNorm's γ and β) are copied into a shared staging array first.
 */
import {helperThread, isShared, type Arg, type HelperThread, type VectorMethod} from './helper-thread.js';
import type {VectorOps} from './staged-simd.js';

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
    const mid = from + (((to - from) >> 1) & ~3);
    this.split('gelu', [x, y, mid, to, approximate], () => this.inner.gelu(x, y, from, mid, approximate));
  }

  geluSlope(x: Float32Array, y: Float32Array, g: Float32Array, from: number, to: number, approximate: boolean): void {
    if (!this.splits(to - from, x, y, g)) return this.inner.geluSlope(x, y, g, from, to, approximate);
    const mid = from + (((to - from) >> 1) & ~3);
    this.split('geluSlope', [x, y, g, mid, to, approximate], () => this.inner.geluSlope(x, y, g, from, mid, approximate));
  }

  dropoutRows(x: Float32Array, xOffset: number, y: Float32Array, yOffset: number, rows: number, width: number, indexStride: number, seed: number, rate: number, index0: number): void {
    if (!this.splits(rows * width, x, y)) return this.inner.dropoutRows(x, xOffset, y, yOffset, rows, width, indexStride, seed, rate, index0);
    if (rows === 1) {
      // A flat run: mask indices continue along it.
      const mid = (width >> 1) & ~3;
      this.split('dropoutRows', [x, xOffset + mid, y, yOffset + mid, 1, width - mid, 0, seed, rate, index0 + mid], () =>
        this.inner.dropoutRows(x, xOffset, y, yOffset, 1, mid, 0, seed, rate, index0),
      );
      return;
    }
    const r = rows >> 1;
    this.split('dropoutRows', [x, xOffset + r * width, y, yOffset + r * width, rows - r, width, indexStride, seed, rate, index0 + r * indexStride], () =>
      this.inner.dropoutRows(x, xOffset, y, yOffset, r, width, indexStride, seed, rate, index0),
    );
  }

  softmaxRows(x: Float32Array, offset: number, rows: number, width: number, mask: Float32Array, maskOffset: number): void {
    const m = this.splits(rows * width, x) ? this.share(mask.subarray(maskOffset, maskOffset + width), width) : undefined;
    if (!m) return this.inner.softmaxRows(x, offset, rows, width, mask, maskOffset);
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
    const ready = this.splits(rows * width, x, y, mean, rstd);
    const g = ready ? this.share(gamma, width) : undefined;
    const b = g ? this.share(beta, width) : undefined;
    if (!g || !b) {
      this.staged = 0;
      return this.inner.layerNormRows(x, gamma, beta, y, mean, rstd, rows, width, eps);
    }
    const r = rows >> 1;
    const o = r * width;
    this.split('layerNormRows', [x.subarray(o), g, b, y.subarray(o), mean.subarray(r), rstd.subarray(r), rows - r, width, eps], () =>
      this.inner.layerNormRows(x, gamma, beta, y, mean, rstd, r, width, eps),
    );
  }

  residualLayerNormRows(
    a: Float32Array, res: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, sum: Float32Array | undefined,
    mean: Float32Array, rstd: Float32Array, rows: number, width: number, eps: number, rate: number, seed: number, index0: number,
  ): void {
    const ready = this.splits(rows * width, a, res, y, mean, rstd, ...(sum ? [sum] : []));
    const g = ready ? this.share(gamma, width) : undefined;
    const b = g ? this.share(beta, width) : undefined;
    if (!g || !b) {
      this.staged = 0;
      return this.inner.residualLayerNormRows(a, res, gamma, beta, y, sum, mean, rstd, rows, width, eps, rate, seed, index0);
    }
    const r = rows >> 1;
    const o = r * width;
    this.split('residualLayerNormRows', [a.subarray(o), res.subarray(o), g, b, y.subarray(o), sum?.subarray(o), mean.subarray(r), rstd.subarray(r), rows - r, width, eps, rate, seed, index0 + o], () =>
      this.inner.residualLayerNormRows(a, res, gamma, beta, y, sum, mean, rstd, r, width, eps, rate, seed, index0),
    );
  }

  layerNormGradRows(dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, rows: number, width: number): void {
    const ready = this.splits(rows * width, dy, x, mean, rstd, dx);
    const g = ready ? this.share(gamma, width) : undefined;
    if (!g) {
      this.staged = 0;
      return this.inner.layerNormGradRows(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, width);
    }
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
