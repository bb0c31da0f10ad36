/**
 * Scaled dot-product self-attention with optional prefix keys/values, as two tfjs kernels
 * (forward and backward) registered through kernels.ts for the WASM and CPU backends.
 *
 * Semantics (HF BertSelfAttention with a prefix, as P-tuning v2 / PEFT use it):
 *   q, k, v = split(qkv) per head;  k, v ← [prefix; k, v] along the sequence
 *   probs = softmax(q·kᵀ/√d + mask);  context = dropout(probs)·v, heads merged back to [T, h]
 *
 * Why a kernel: the WASM backend runs matmuls on XNNPACK only when they are 2-D and not
 * transposed; batched or transposed ones fall to a scalar loop (~1.3 GFLOP/s), and splitting q, k
 * and v out of the fused projection with Slice copies the whole input per slice. Here each
 * (example, head) pair copies its q, k and v out of the fused projection into small scratch
 * blocks in the layouts its matmuls want, then runs them on the SIMD GEMM of simd-kernels.ts
 * (which reads operands in place, one of them transposed where needed); softmax and dropout are
 * SIMD row loops. Only the softmax output is kept for the backward pass: it re-reads q, k and v
 * from the projection (alive anyway) and recomputes the dropout mask from its seed
 * (vector-ops.ts), which keeps a BERT-base step's activations ~10 MB per layer smaller.
 *
 * On `blas` (a strided sgemm) attention-strided.ts runs instead: the same layouts and results,
 * its products reading q, k and v in place.
 *
 * Layouts, with K = P + S keys (prefix first) padded to K4 = ⌈K/4⌉·4 so that rows are whole
 * SIMD vectors (padded keys have zero k and v and a −1e9 mask, so their probability is 0):
 * qkv [T = B·S, 3h] with columns [q | k | v]; prefix keys/values [B, H, P, d];
 * probs [B, H, S, K4]. Dropout indices count real keys only: (b, h, s, j) ↦ ((b·H + h)·S + s)·K + j.
 */
import type * as tf from '@tensorflow/tfjs';
import type {AttentionShape} from './attention-pairs.js';
import {attentionBackwardStrided, attentionForwardStrided} from './attention-strided.js';
import {KERNEL_NAMES, registerKernel, type KernelMemory} from './kernels.js';
import * as ops from './vector-ops.js';

type TensorInfo = tf.TensorInfo;

type Shape = AttentionShape;

function shapeOf(qkv: TensorInfo, batch: number, heads: number, prefixLength: number): Shape {
  const h = qkv.shape[1] / 3;
  const S = qkv.shape[0] / batch;
  const K = prefixLength + S;
  return {B: batch, H: heads, S, P: prefixLength, K, K4: Math.ceil(K / 4) * 4, d: h / heads, h};
}

/** Where one (example, head) pair's q, k and v come from. */
interface HeadSource {
  qkv: TensorInfo;
  prefixKey?: TensorInfo;
  prefixValue?: TensorInfo;
}

type Layout = 'rows' | 'columns';

/** `rows` rows of `width` floats, times `scale`, between tensors (strides in floats). */
function copyRows(
  mem: KernelMemory, src: TensorInfo, srcOffset: number, srcStride: number, dst: TensorInfo, dstOffset: number, dstStride: number,
  rows: number, width: number, scale = 1,
): void {
  if (mem.simd && width % 4 === 0) {
    mem.simd.copyRows(mem.address(src, srcOffset), srcStride, mem.address(dst, dstOffset), dstStride, rows, width, scale);
  } else {
    ops.copyRows(mem.f32(src), srcOffset, srcStride, mem.f32(dst), dstOffset, dstStride, rows, width, scale);
  }
}

/** dst[c·dstStride + r] ← src[r·srcStride + c]: SIMD 4×4 tiles, the rows past a multiple of 4 in JS. */
function copyColumns(
  mem: KernelMemory, src: TensorInfo, srcOffset: number, srcStride: number, dst: TensorInfo, dstOffset: number, dstStride: number,
  rows: number, cols: number,
): void {
  const tiled = mem.simd && cols % 4 === 0 ? rows & ~3 : 0;
  if (tiled > 0) mem.simd!.transpose(mem.address(src, srcOffset), srcStride, mem.address(dst, dstOffset), dstStride, tiled, cols);
  if (tiled < rows) ops.transposeStrided(mem.f32(src), srcOffset + tiled * srcStride, srcStride, mem.f32(dst), dstOffset + tiled, dstStride, rows - tiled, cols);
}

/**
 * Copies key (part 1) or value (part 2) vectors of pair (b, hd) into `out`: as rows [K4, d] or
 * columns [d, K4], prefix first, padding zero.
 */
function loadKeys(mem: KernelMemory, src: HeadSource, s: Shape, b: number, hd: number, part: 1 | 2, layout: Layout, out: TensorInfo): void {
  const {H, S, P, K4, d, h} = s;
  mem.f32(out).fill(0);
  const prefix = part === 1 ? src.prefixKey : src.prefixValue;
  const pieces: [TensorInfo, number, number, number, number][] = [[src.qkv, b * S * 3 * h + part * h + hd * d, 3 * h, S, P]];
  if (prefix) pieces.push([prefix, (b * H + hd) * P * d, d, P, 0]);
  for (const [from, start, stride, count, firstKey] of pieces) {
    if (layout === 'rows') copyRows(mem, from, start, stride, out, firstKey * d, d, count, d);
    else copyColumns(mem, from, start, stride, out, firstKey, K4, count, d);
  }
}

/** q of pair (b, hd), times 1/√d, → out [S, d]. */
function loadQueries(mem: KernelMemory, src: HeadSource, s: Shape, b: number, hd: number, out: TensorInfo): void {
  const {S, d, h} = s;
  copyRows(mem, src.qkv, b * S * 3 * h + hd * d, 3 * h, out, 0, d, S, d, 1 / Math.sqrt(d));
}

/** Probabilities of one (example, head) pair after dropout, rows of K4 at `offset` → out [S, K4]. */
function dropProbs(mem: KernelMemory, probs: TensorInfo, offset: number, out: TensorInfo, s: Shape, rate: number, seed: number): void {
  const {S, K, K4} = s;
  const index0 = (offset / K4) * K;
  if (mem.simd) {
    mem.simd.dropoutRows(mem.address(probs, offset), mem.address(out), S, K4, K, seed, ops.dropThreshold(rate), 1 / (1 - rate), index0);
  } else {
    mem.vec.dropoutRows(mem.f32(probs), offset, mem.f32(out), 0, S, K4, K, seed, rate, index0);
  }
}

function attentionForward(mem: KernelMemory, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): TensorInfo[] {
  const {qkv, mask, prefixKey, prefixValue} = inputs as Record<string, TensorInfo>;
  const rate = attrs.rate as number;
  const seed = (attrs.seed as number) | 0;
  const s = shapeOf(qkv, mask.shape[0], attrs.heads as number, prefixKey ? prefixKey.shape[2] : 0);
  const {B, H, S, K, K4, d, h} = s;
  const src: HeadSource = {qkv, prefixKey, prefixValue};
  if (mem.arrayGemm) return attentionForwardStrided(mem, src, mask, s, rate, seed, attrs.keepProbs !== false);

  const context = mem.output([B * S, h]);
  const probs = mem.output([B, H, S, K4]);
  const paddedMask = mem.output([B, K4]);
  const q = mem.output([S, d]);
  const kT = mem.output([d, K4]);
  const v = mem.output([K4, d]);
  const tile = mem.output([S, d]);
  const dropped = rate > 0 ? mem.output([S, K4]) : undefined;
  {
    const M = mem.f32(mask);
    const PM = mem.f32(paddedMask);
    PM.fill(-1e9);
    for (let b = 0; b < B; b++) PM.set(M.subarray(b * K, (b + 1) * K), b * K4);
  }

  for (let b = 0; b < B; b++) {
    for (let hd = 0; hd < H; hd++) {
      const pOffset = (b * H + hd) * S * K4;
      loadQueries(mem, src, s, b, hd, q);
      loadKeys(mem, src, s, b, hd, 1, 'columns', kT);
      loadKeys(mem, src, s, b, hd, 2, 'rows', v);
      mem.gemm(q, 0, kT, 0, probs, pOffset, S, d, K4);
      if (mem.simd) mem.simd.softmaxRows(mem.address(probs, pOffset), S, K4, mem.address(paddedMask, b * K4));
      else mem.vec.softmaxRows(mem.f32(probs), pOffset, S, K4, mem.f32(paddedMask), b * K4);
      if (dropped) {
        dropProbs(mem, probs, pOffset, dropped, s, rate, seed);
        mem.gemm(dropped, 0, v, 0, tile, 0, S, K4, d);
      } else {
        mem.gemm(probs, pOffset, v, 0, tile, 0, S, K4, d);
      }
      copyRows(mem, tile, 0, d, context, b * S * h + hd * d, h, S, d);
    }
  }
  for (const t of [paddedMask, q, kT, v, tile, dropped]) if (t) mem.free(t);
  return [context, probs];
}

function attentionBackward(mem: KernelMemory, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): TensorInfo[] {
  const {dContext, qkv, probs, prefixKey, prefixValue} = inputs as Record<string, TensorInfo>;
  const rate = attrs.rate as number;
  const seed = (attrs.seed as number) | 0;
  const s = shapeOf(qkv, probs.shape[0], attrs.heads as number, prefixKey ? prefixKey.shape[2] : 0);
  const {B, H, S, P, K, K4, d, h} = s;
  const src: HeadSource = {qkv, prefixKey, prefixValue};
  if (mem.arrayGemm) return attentionBackwardStrided(mem, src, dContext, probs, s, rate, seed);
  const scale = 1 / Math.sqrt(d);

  const dqkv = mem.output([B * S, 3 * h]);
  const dPrefixKey = P > 0 ? mem.output([B, H, P, d]) : undefined;
  const dPrefixValue = P > 0 ? mem.output([B, H, P, d]) : undefined;
  // Scratch, reused for every (example, head).
  const q = mem.output([S, d]);
  const k = mem.output([K4, d]);
  const vT = mem.output([d, K4]);
  const dC = mem.output([S, d]);
  const dP = mem.output([S, K4]);
  const dropped = rate > 0 ? mem.output([S, K4]) : undefined;
  const dKeys = mem.output([K4, d]);
  const dQ = mem.output([S, d]);

  /** Rows of dKeys [K4, d] (a key or value gradient) → the prefix gradient (j < P) and column block `column` of dqkv. */
  const scatterKeys = (b: number, hd: number, column: number, prefix: TensorInfo | undefined) => {
    if (prefix) copyRows(mem, dKeys, 0, d, prefix, (b * H + hd) * P * d, d, P, d);
    copyRows(mem, dKeys, P * d, d, dqkv, b * S * 3 * h + column + hd * d, 3 * h, S, d);
  };

  for (let b = 0; b < B; b++) {
    for (let hd = 0; hd < H; hd++) {
      const bh = b * H + hd;
      const pOffset = bh * S * K4;
      loadQueries(mem, src, s, b, hd, q);
      loadKeys(mem, src, s, b, hd, 1, 'rows', k);
      loadKeys(mem, src, s, b, hd, 2, 'columns', vT);
      copyRows(mem, dContext, b * S * h + hd * d, h, dC, 0, d, S, d);
      // dV = dropout(P)ᵀ·dC
      if (dropped) {
        dropProbs(mem, probs, pOffset, dropped, s, rate, seed);
        mem.gemm(dropped, 0, dC, 0, dKeys, 0, K4, S, d, true);
      } else {
        mem.gemm(probs, pOffset, dC, 0, dKeys, 0, K4, S, d, true);
      }
      scatterKeys(b, hd, 2 * h, dPrefixValue);
      // dS = softmax backward of dropout backward of dC·vᵀ, in place in dP
      mem.gemm(dC, 0, vT, 0, dP, 0, S, d, K4);
      const index0 = bh * S * K;
      if (mem.simd) {
        mem.simd.softmaxGradRows(mem.address(dP), mem.address(probs, pOffset), S, K4, K, seed, ops.dropThreshold(rate), 1 / (1 - rate), index0);
      } else {
        mem.vec.softmaxGradRows(mem.f32(dP), 0, mem.f32(probs), pOffset, S, K4, K, seed, rate, index0);
      }
      // dq = dS·k times the scale folded into q; dK = dSᵀ·(scaled q)
      mem.gemm(dP, 0, k, 0, dQ, 0, S, K4, d);
      copyRows(mem, dQ, 0, d, dqkv, b * S * 3 * h + hd * d, 3 * h, S, d, scale);
      mem.gemm(dP, 0, q, 0, dKeys, 0, K4, S, d, true);
      scatterKeys(b, hd, h, dPrefixKey);
    }
  }
  for (const t of [q, k, vT, dC, dP, dropped, dKeys, dQ]) if (t) mem.free(t);
  return dPrefixKey ? [dqkv, dPrefixKey, dPrefixValue!] : [dqkv];
}

registerKernel(KERNEL_NAMES.attention, attentionForward);
registerKernel(KERNEL_NAMES.attentionGrad, attentionBackward);
