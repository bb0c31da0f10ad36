/**
 * Attention forward and backward for backends with a strided GEMM (`blas`: cblas_sgemm with
 * leading dimensions and transpose flags). Same semantics, layouts and outputs as
 * attention-kernel.ts, which calls these when `mem.sgemm` exists: every product reads q, k and v
 * in place inside the fused projection qkv [T, 3h] (row stride 3h) and the prefix tensors, and
 * writes context and gradients in place (row stride h or 3h), so nothing is copied per
 * (example, head). The prefix and the sequence's own keys are two GEMMs each (columns [0, P) and
 * [P, P + S) of the scores), the second accumulating where both add into one output. Measured on
 * blas, config b pt2: the per-head copies of the general kernel took ~5% of a step.
 */
import type * as tf from '@tensorflow/tfjs';
import type {KernelMemory} from './kernels.js';

type TensorInfo = tf.TensorInfo;

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

interface Sources {
  qkv: TensorInfo;
  prefixKey?: TensorInfo;
  prefixValue?: TensorInfo;
}

/** Offsets of pair (b, hd): its q, k, v columns in qkv (row stride 3h) and its prefix block. */
function offsets(s: AttentionShape, b: number, hd: number): {q: number; k: number; v: number; prefix: number} {
  const row = b * s.S * 3 * s.h + hd * s.d;
  return {q: row, k: row + s.h, v: row + 2 * s.h, prefix: (b * s.H + hd) * s.P * s.d};
}

/** Zeroes columns [from, width) of `rows` rows of `width` floats. */
function zeroColumns(x: Float32Array, rows: number, width: number, from: number): void {
  if (from < width) for (let r = 0; r < rows; r++) x.fill(0, r * width + from, (r + 1) * width);
}

export function attentionForwardStrided(mem: KernelMemory, src: Sources, mask: TensorInfo, s: AttentionShape, rate: number, seed: number): TensorInfo[] {
  const gemm = mem.sgemm!;
  const {B, H, S, P, K, K4, d, h} = s;
  const scale = 1 / Math.sqrt(d);
  const context = mem.output([B * S, h]);
  const probs = mem.output([B, H, S, K4]);
  // Output arrays may be reused (buffer-pool.ts): the padded key columns [K, K4), which no product
  // writes, are zeroed so that the mask gives them probability 0.
  zeroColumns(mem.f32(probs), B * H * S, K4, K);
  const paddedMask = mem.output([B, K4]);
  const dropped = rate > 0 ? mem.output([S, K4]) : undefined;
  const PM = mem.f32(paddedMask);
  PM.fill(-1e9);
  for (let b = 0; b < B; b++) PM.set(mem.f32(mask).subarray(b * K, (b + 1) * K), b * K4);

  for (let b = 0; b < B; b++) {
    for (let hd = 0; hd < H; hd++) {
      const at = offsets(s, b, hd);
      const pOffset = (b * H + hd) * S * K4;
      // scores = q·kᵀ/√d: prefix keys into columns [0, P), the sequence's into [P, P + S)
      if (P > 0) gemm(false, true, S, P, d, scale, src.qkv, at.q, 3 * h, src.prefixKey!, at.prefix, d, 0, probs, pOffset, K4);
      gemm(false, true, S, S, d, scale, src.qkv, at.q, 3 * h, src.qkv, at.k, 3 * h, 0, probs, pOffset + P, K4);
      mem.vec.softmaxRows(mem.f32(probs), pOffset, S, K4, PM, b * K4);
      let weights = probs;
      let wOffset = pOffset;
      if (dropped) {
        mem.vec.dropoutRows(mem.f32(probs), pOffset, mem.f32(dropped), 0, S, K4, K, seed, rate, (pOffset / K4) * K);
        [weights, wOffset] = [dropped, 0];
      }
      // context = weights·v, written into columns hd·d of context [T, h]
      const cOffset = b * S * h + hd * d;
      if (P > 0) gemm(false, false, S, d, P, 1, weights, wOffset, K4, src.prefixValue!, at.prefix, d, 0, context, cOffset, h);
      gemm(false, false, S, d, S, 1, weights, wOffset + P, K4, src.qkv, at.v, 3 * h, P > 0 ? 1 : 0, context, cOffset, h);
    }
  }
  for (const t of [paddedMask, dropped]) if (t) mem.free(t);
  return [context, probs];
}

export function attentionBackwardStrided(mem: KernelMemory, src: Sources, dContext: TensorInfo, probs: TensorInfo, s: AttentionShape, rate: number, seed: number): TensorInfo[] {
  const gemm = mem.sgemm!;
  const {B, H, S, P, K, K4, d, h} = s;
  const scale = 1 / Math.sqrt(d);
  const dqkv = mem.output([B * S, 3 * h]);
  const dPrefixKey = P > 0 ? mem.output([B, H, P, d]) : undefined;
  const dPrefixValue = P > 0 ? mem.output([B, H, P, d]) : undefined;
  const dP = mem.output([S, K4]);
  zeroColumns(mem.f32(dP), S, K4, K);
  const dropped = rate > 0 ? mem.output([S, K4]) : undefined;

  for (let b = 0; b < B; b++) {
    for (let hd = 0; hd < H; hd++) {
      const at = offsets(s, b, hd);
      const bh = b * H + hd;
      const pOffset = bh * S * K4;
      const cOffset = b * S * h + hd * d;
      let weights = probs;
      let wOffset = pOffset;
      if (dropped) {
        mem.vec.dropoutRows(mem.f32(probs), pOffset, mem.f32(dropped), 0, S, K4, K, seed, rate, bh * S * K);
        [weights, wOffset] = [dropped, 0];
      }
      // dV = weightsᵀ·dC: the prefix's rows, then the sequence's into dqkv's v columns
      if (P > 0) gemm(true, false, P, d, S, 1, weights, wOffset, K4, dContext, cOffset, h, 0, dPrefixValue!, at.prefix, d);
      gemm(true, false, S, d, S, 1, weights, wOffset + P, K4, dContext, cOffset, h, 0, dqkv, at.v, 3 * h);
      // dS = softmax backward of dropout backward of dC·vᵀ, in place in dP
      if (P > 0) gemm(false, true, S, P, d, 1, dContext, cOffset, h, src.prefixValue!, at.prefix, d, 0, dP, 0, K4);
      gemm(false, true, S, S, d, 1, dContext, cOffset, h, src.qkv, at.v, 3 * h, 0, dP, P, K4);
      mem.vec.softmaxGradRows(mem.f32(dP), 0, mem.f32(probs), pOffset, S, K4, K, seed, rate, bh * S * K);
      // dq = dS·k/√d; dK = dSᵀ·q/√d
      if (P > 0) gemm(false, false, S, d, P, scale, dP, 0, K4, src.prefixKey!, at.prefix, d, 0, dqkv, at.q, 3 * h);
      gemm(false, false, S, d, S, scale, dP, P, K4, src.qkv, at.k, 3 * h, P > 0 ? 1 : 0, dqkv, at.q, 3 * h);
      if (P > 0) gemm(true, false, P, d, S, scale, dP, 0, K4, src.qkv, at.q, 3 * h, 0, dPrefixKey!, at.prefix, d);
      gemm(true, false, S, d, S, scale, dP, P, K4, src.qkv, at.q, 3 * h, 0, dqkv, at.k, 3 * h);
    }
  }
  for (const t of [dP, dropped]) if (t) mem.free(t);
  return dPrefixKey ? [dqkv, dPrefixKey, dPrefixValue!] : [dqkv];
}
