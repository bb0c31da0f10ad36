/**
 * VectorOps calls over a sub-range [lo, hi) of their rows or elements, in one form for both
 * threads: the main thread and the helper thread (helper-thread.ts) take chunks of one call from
 * a shared counter and each runs them through these. Every chunk computes what a single call
 * over all rows computes for those rows (per-row statistics, per-element dropout indices), so the
 * result does not depend on which thread took which chunk. No tfjs import: the helper loads this.
 */
import type {VectorOps} from './staged-simd.js';

type A = Float32Array;

export const RANGE_CALLS = {
  /** Rows [lo, hi) of a bias fill (blas-backend.ts): copies of row 0. */
  copyFirstRowRange: (_vec: VectorOps, x: A, width: number, lo: number, hi: number) => copyFirstRow(x, width, lo, hi),
  geluRange: (vec: VectorOps, x: A, y: A, approximate: boolean, lo: number, hi: number) => vec.gelu(x, y, lo, hi, approximate),
  geluSlopeRange: (vec: VectorOps, x: A, y: A, g: A, approximate: boolean, lo: number, hi: number) => vec.geluSlope(x, y, g, lo, hi, approximate),
  /** Rows [lo, hi) of a dropoutRows call. */
  dropoutRowsRange: (vec: VectorOps, x: A, xOffset: number, y: A, yOffset: number, width: number, indexStride: number, seed: number, rate: number, index0: number, lo: number, hi: number) =>
    vec.dropoutRows(x, xOffset + lo * width, y, yOffset + lo * width, hi - lo, width, indexStride, seed, rate, index0 + lo * indexStride),
  /** Elements [lo, hi) of a flat (one-row) dropoutRows call. */
  dropoutFlatRange: (vec: VectorOps, x: A, xOffset: number, y: A, yOffset: number, seed: number, rate: number, index0: number, lo: number, hi: number) =>
    vec.dropoutRows(x, xOffset + lo, y, yOffset + lo, 1, hi - lo, 0, seed, rate, index0 + lo),
  layerNormRange: (vec: VectorOps, x: A, gamma: A, beta: A, y: A, mean: A, rstd: A, width: number, eps: number, lo: number, hi: number) =>
    vec.layerNormRows(x.subarray(lo * width), gamma, beta, y.subarray(lo * width), mean.subarray(lo), rstd.subarray(lo), hi - lo, width, eps),
  residualLayerNormRange: (
    vec: VectorOps, a: A, res: A, gamma: A, beta: A, y: A, sum: A | undefined, mean: A, rstd: A, width: number, eps: number, rate: number, seed: number, index0: number, lo: number, hi: number,
  ) =>
    vec.residualLayerNormRows(
      a.subarray(lo * width), res.subarray(lo * width), gamma, beta, y.subarray(lo * width), sum?.subarray(lo * width), mean.subarray(lo), rstd.subarray(lo),
      hi - lo, width, eps, rate, seed, index0 + lo * width,
    ),
};

/** Rows [lo, hi) of x [rows, width] ← its row 0 (written first), by doubling copies within the range. */
export function copyFirstRow(x: A, width: number, lo: number, hi: number): void {
  const [from, to] = [Math.max(lo, 1) * width, hi * width];
  if (from >= to) return;
  x.copyWithin(from, 0, width);
  for (let filled = width; from + filled < to; filled *= 2) x.copyWithin(from + filled, from, from + Math.min(filled, to - from - filled));
}

export type RangeCall = keyof typeof RANGE_CALLS;
