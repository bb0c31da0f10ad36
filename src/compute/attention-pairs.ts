/**
 * The per-(example, head) loops of the strided attention (attention-strided.ts) on plain arrays,
 * for a range of pairs, so that the main thread and the helper thread (helper-thread.ts) can each
 * run half of them. Pairs are independent: each writes only its own rows of probs, its own
 * columns of context and dqkv and its own prefix-gradient block; the scratch arrays (dropped
 * weights, dP) are per thread. No tfjs import, so the helper thread loads this cheaply.
 */
import type {Dnnl} from './dnnl.js';
import type {VectorOps} from './staged-simd.js';

export interface AttentionShape {
  B: number;
  H: number;
  S: number;
  P: number;
  K: number;
  K4: number;
  d: number;
  h: number;
}

/** cblas_sgemm on arrays with element offsets (row-major; see Blas.sgemm). */
export type ArrayGemm = (
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, aOffset: number, lda: number, b: Float32Array, bOffset: number, ldb: number, beta: number, c: Float32Array, cOffset: number, ldc: number,
) => void;

/** The shape as numbers, in the order the helper thread's calls carry it. */
export function shapeArgs(s: AttentionShape): number[] {
  return [s.B, s.H, s.S, s.P, s.K, s.K4, s.d, s.h];
}

export function shapeFromArgs([B, H, S, P, K, K4, d, h]: number[]): AttentionShape {
  return {B, H, S, P, K, K4, d, h};
}

/**
 * Where pair bh = b·H + hd reads and writes: its q, k, v columns in qkv (row stride 3h), its
 * prefix block, its rows of probs and its columns of context (row stride h).
 */
function pairAt(s: AttentionShape, bh: number): {b: number; q: number; k: number; v: number; prefix: number; pOffset: number; cOffset: number} {
  const b = Math.floor(bh / s.H);
  const hd = bh % s.H;
  const row = b * s.S * 3 * s.h + hd * s.d;
  return {b, q: row, k: row + s.h, v: row + 2 * s.h, prefix: bh * s.P * s.d, pOffset: bh * s.S * s.K4, cOffset: b * s.S * s.h + hd * s.d};
}

/** Zeroes columns [from, width) of `rows` rows of `width` floats. */
export function zeroColumns(x: Float32Array, rows: number, width: number, from: number): void {
  if (from < width) for (let r = 0; r < rows; r++) x.fill(0, r * width + from, (r + 1) * width);
}

/**
 * Pair bh's attention weights as [array, offset]: its rows of probs, or, with dropout, those rows
 * dropped into the scratch `dropped` — the same mask forward and backward (indices count real
 * keys: the pair's first is bh·S·K).
 */
function pairWeights(vec: VectorOps, s: AttentionShape, probs: Float32Array, pOffset: number, dropped: Float32Array | undefined, seed: number, rate: number, bh: number): [Float32Array, number] {
  if (!dropped) return [probs, pOffset];
  vec.dropoutRows(probs, pOffset, dropped, 0, s.S, s.K4, s.K, seed, rate, bh * s.S * s.K);
  return [dropped, 0];
}

/** What every pair reads: the fused projection [B·S, 3h] and the prefix [B, H, P, d] when P > 0. */
interface PairSources {
  qkv: Float32Array;
  prefixKey?: Float32Array;
  prefixValue?: Float32Array;
}

export interface ForwardArrays extends PairSources {
  /** [B, K4] mask with padded keys at −1e9. */
  mask: Float32Array;
  /**
   * Outputs: probs [B, H, S, K4] (padded columns already zero), or one pair's [S, K4] that every
   * pair overwrites (nothing kept: a pass without a gradient tape); context [B·S, h].
   */
  probs: Float32Array;
  context: Float32Array;
  /** Scratch [S, K4] when rate > 0. */
  dropped?: Float32Array;
}

/** The thread's own oneDNN binding (dnnl.ts), for its row softmax on the calling thread. */
export type RowSoftmax = Pick<Dnnl, 'softmaxRows'>;

/**
 * Rows [S, K4] of probs at pOffset ← softmax(row + mask row): vec's masked softmax, or the mask
 * added to the columns where it is not 0 (padded keys; none in a full-length example) and then
 * oneDNN's row softmax. Both give padded keys exactly 0.
 */
function maskedSoftmax(vec: VectorOps, dnnl: RowSoftmax | undefined, probs: Float32Array, pOffset: number, S: number, K4: number, mask: Float32Array, maskOffset: number): void {
  if (!dnnl) {
    vec.softmaxRows(probs, pOffset, S, K4, mask, maskOffset);
    return;
  }
  for (let j = 0; j < K4; j++) {
    const m = mask[maskOffset + j];
    if (m !== 0) for (let at = pOffset + j; at < pOffset + S * K4; at += K4) probs[at] += m;
  }
  dnnl.softmaxRows(probs.subarray(pOffset, pOffset + S * K4), S, K4);
}

/**
 * Pairs [from, to) of pair index b·H + hd: scores, softmax (on `dnnl` when the thread has
 * oneDNN), dropout, context.
 */
export function forwardPairs(gemm: ArrayGemm, vec: VectorOps, s: AttentionShape, rate: number, seed: number, a: ForwardArrays, from: number, to: number, dnnl?: RowSoftmax): void {
  const {S, P, K4, d, h} = s;
  const scale = 1 / Math.sqrt(d);
  const scratch = a.probs.length === S * K4;
  for (let bh = from; bh < to; bh++) {
    const at = pairAt(s, bh);
    const {cOffset} = at;
    const pOffset = scratch ? 0 : at.pOffset;
    // scores = q·kᵀ/√d: prefix keys into columns [0, P), the sequence's into [P, P + S)
    if (P > 0) gemm(false, true, S, P, d, scale, a.qkv, at.q, 3 * h, a.prefixKey!, at.prefix, d, 0, a.probs, pOffset, K4);
    gemm(false, true, S, S, d, scale, a.qkv, at.q, 3 * h, a.qkv, at.k, 3 * h, 0, a.probs, pOffset + P, K4);
    maskedSoftmax(vec, dnnl, a.probs, pOffset, S, K4, a.mask, at.b * K4);
    const [weights, wOffset] = pairWeights(vec, s, a.probs, pOffset, a.dropped, seed, rate, bh);
    // context = weights·v, written into columns hd·d of context [T, h]
    if (P > 0) gemm(false, false, S, d, P, 1, weights, wOffset, K4, a.prefixValue!, at.prefix, d, 0, a.context, cOffset, h);
    gemm(false, false, S, d, S, 1, weights, wOffset + P, K4, a.qkv, at.v, 3 * h, P > 0 ? 1 : 0, a.context, cOffset, h);
  }
}

export interface BackwardArrays extends PairSources {
  dContext: Float32Array;
  probs: Float32Array;
  /** Outputs: dqkv [B·S, 3h], and the prefix's gradients [B, H, P, d] when P > 0. */
  dqkv: Float32Array;
  dPrefixKey?: Float32Array;
  dPrefixValue?: Float32Array;
  /** Scratch [S, K4] with columns [K, K4) zero, and [S, K4] when rate > 0. */
  dP: Float32Array;
  dropped?: Float32Array;
}

/** Pairs [from, to): the gradients of q, k, v and the prefix from dContext. */
export function backwardPairs(gemm: ArrayGemm, vec: VectorOps, s: AttentionShape, rate: number, seed: number, a: BackwardArrays, from: number, to: number): void {
  const {S, P, K, K4, d, h} = s;
  const scale = 1 / Math.sqrt(d);
  for (let bh = from; bh < to; bh++) {
    const at = pairAt(s, bh);
    const {pOffset, cOffset} = at;
    const [weights, wOffset] = pairWeights(vec, s, a.probs, pOffset, a.dropped, seed, rate, bh);
    // dV = weightsᵀ·dC: the prefix's rows, then the sequence's into dqkv's v columns
    if (P > 0) gemm(true, false, P, d, S, 1, weights, wOffset, K4, a.dContext, cOffset, h, 0, a.dPrefixValue!, at.prefix, d);
    gemm(true, false, S, d, S, 1, weights, wOffset + P, K4, a.dContext, cOffset, h, 0, a.dqkv, at.v, 3 * h);
    // dS = softmax backward of dropout backward of dC·vᵀ, in place in dP
    if (P > 0) gemm(false, true, S, P, d, 1, a.dContext, cOffset, h, a.prefixValue!, at.prefix, d, 0, a.dP, 0, K4);
    gemm(false, true, S, S, d, 1, a.dContext, cOffset, h, a.qkv, at.v, 3 * h, 0, a.dP, P, K4);
    vec.softmaxGradRows(a.dP, 0, a.probs, pOffset, S, K4, K, seed, rate, bh * S * K);
    // dq = dS·k/√d; dK = dSᵀ·q/√d
    if (P > 0) gemm(false, false, S, d, P, scale, a.dP, 0, K4, a.prefixKey!, at.prefix, d, 0, a.dqkv, at.q, 3 * h);
    gemm(false, false, S, d, S, scale, a.dP, P, K4, a.qkv, at.k, 3 * h, P > 0 ? 1 : 0, a.dqkv, at.q, 3 * h);
    if (P > 0) gemm(true, false, P, d, S, scale, a.dP, 0, K4, a.qkv, at.q, 3 * h, 0, a.dPrefixKey!, at.prefix, d);
    gemm(true, false, S, d, S, scale, a.dP, P, K4, a.qkv, at.q, 3 * h, 0, a.dqkv, at.k, 3 * h);
  }
}
