/**
 * Attention forward and backward for backends with a strided GEMM (`blas`: cblas_sgemm with
 * leading dimensions and transpose flags). Same semantics, layouts and outputs as
 * attention-kernel.ts, which calls these when `mem.arrayGemm` exists: every product reads q, k
 * and v in place inside the fused projection qkv [T, 3h] (row stride 3h) and the prefix tensors,
 * and writes context and gradients in place (row stride h or 3h), so nothing is copied per
 * (example, head). The prefix and the sequence's own keys are two GEMMs each (columns [0, P) and
 * [P, P + S) of the scores), the second accumulating where both add into one output. Measured on
 * blas, config b pt2: the per-head copies of the general kernel took ~5% of a step.
 *
 * The (example, head) pairs are shared between the main thread and the helper thread when it is
 * up and every array is in shared memory (helper-thread.ts `shareWork`): each claims chunks of
 * pairs and runs the loops of attention-pairs.ts on them on one OpenBLAS thread, with scratch
 * arrays of its own.
 */
import type * as tf from '@tensorflow/tfjs';
import {backwardPairs, forwardPairs, shapeArgs, zeroColumns, type AttentionShape} from './attention-pairs.js';
import {shareWork} from './helper-thread.js';
import type {KernelMemory} from './kernels.js';

type TensorInfo = tf.TensorInfo;

interface Sources {
  qkv: TensorInfo;
  prefixKey?: TensorInfo;
  prefixValue?: TensorInfo;
}

/** Pairs below which attention stays on the main thread. */
const MIN_PAIRS = 4;

/** A scratch [S, K4] array per thread (the helper's second), or none. */
function scratch(mem: KernelMemory, s: AttentionShape, wanted: boolean): [TensorInfo, TensorInfo] | undefined {
  return wanted ? [mem.output([s.S, s.K4]), mem.output([s.S, s.K4])] : undefined;
}

/**
 * [context, probs]; with `keepProbs` false (no gradient tape) only [context]: each thread's pairs
 * then share one [S, K4] scratch for their scores instead of writing probs [B, H, S, K4], which
 * a pass without a backward never reads (config b: 4.7 MB a layer written to arrays the pool
 * hands back cold; a pair's 74 KB stays in cache).
 */
export function attentionForwardStrided(mem: KernelMemory, src: Sources, mask: TensorInfo, s: AttentionShape, rate: number, seed: number, keepProbs = true): TensorInfo[] {
  const {B, H, S, K, K4, h} = s;
  const context = mem.output([B * S, h]);
  const [probs, theirProbs] = keepProbs ? [mem.output([B, H, S, K4])] : [mem.output([S, K4]), mem.output([S, K4])];
  // Output arrays may be reused (buffer-pool.ts): the padded key columns [K, K4), which no product
  // writes, are zeroed so that the mask gives them probability 0.
  for (const t of [probs, theirProbs]) if (t) zeroColumns(mem.f32(t), t.shape.length === 4 ? B * H * S : S, K4, K);
  const paddedMask = mem.output([B, K4]);
  const PM = mem.f32(paddedMask);
  PM.fill(-1e9);
  for (let b = 0; b < B; b++) PM.set(mem.f32(mask).subarray(b * K, (b + 1) * K), b * K4);
  const dropped = scratch(mem, s, rate > 0);

  const f = (t: TensorInfo | undefined) => (t ? mem.f32(t) : undefined);
  const arrays = {qkv: mem.f32(src.qkv), prefixKey: f(src.prefixKey), prefixValue: f(src.prefixValue), mask: PM, probs: mem.f32(probs), context: mem.f32(context)};
  const theirDropped = f(dropped?.[1]);
  shareWork(
    B * H, MIN_PAIRS, [...Object.values(arrays), theirDropped],
    (oneThread, from, to) => forwardPairs(mem.arrayGemm!(oneThread), mem.vec, s, rate, seed, {...arrays, dropped: f(dropped?.[0])}, from, to, mem.dnnl ?? undefined),
    'attentionForward', [...shapeArgs(s), rate, seed, arrays.qkv, arrays.prefixKey, arrays.prefixValue, PM, theirProbs ? mem.f32(theirProbs) : arrays.probs, arrays.context, theirDropped],
  );
  for (const t of [paddedMask, ...(dropped ?? [])]) mem.free(t);
  if (keepProbs) return [context, probs];
  mem.free(probs);
  mem.free(theirProbs!);
  return [context];
}

export function attentionBackwardStrided(mem: KernelMemory, src: Sources, dContext: TensorInfo, probs: TensorInfo, s: AttentionShape, rate: number, seed: number): TensorInfo[] {
  const {B, H, S, P, K, K4, d, h} = s;
  const dqkv = mem.output([B * S, 3 * h]);
  const dPrefixKey = P > 0 ? mem.output([B, H, P, d]) : undefined;
  const dPrefixValue = P > 0 ? mem.output([B, H, P, d]) : undefined;
  const dP = scratch(mem, s, true)!;
  for (const t of dP) zeroColumns(mem.f32(t), S, K4, K);
  const dropped = scratch(mem, s, rate > 0);

  const f = (t: TensorInfo | undefined) => (t ? mem.f32(t) : undefined);
  const arrays = {
    qkv: mem.f32(src.qkv), prefixKey: f(src.prefixKey), prefixValue: f(src.prefixValue), dContext: mem.f32(dContext), probs: mem.f32(probs),
    dqkv: mem.f32(dqkv), dPrefixKey: f(dPrefixKey), dPrefixValue: f(dPrefixValue),
  };
  const [theirDP, theirDropped] = [mem.f32(dP[1]), f(dropped?.[1])];
  shareWork(
    B * H, MIN_PAIRS, [...Object.values(arrays), theirDP, theirDropped],
    (oneThread, from, to) => backwardPairs(mem.arrayGemm!(oneThread), mem.vec, s, rate, seed, {...arrays, dP: mem.f32(dP[0]), dropped: f(dropped?.[0])}, from, to),
    'attentionBackward',
    [...shapeArgs(s), rate, seed, arrays.qkv, arrays.prefixKey, arrays.prefixValue, arrays.dContext, arrays.probs, arrays.dqkv, arrays.dPrefixKey, arrays.dPrefixValue, theirDP, theirDropped],
  );
  for (const t of [...dP, ...(dropped ?? [])]) mem.free(t);
  return dPrefixKey ? [dqkv, dPrefixKey, dPrefixValue!] : [dqkv];
}
