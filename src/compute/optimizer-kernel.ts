/**
 * One AdamW update of a variable as one kernel (registered through kernels.ts for the backends
 * ptv2's kernels serve): a single pass over p, g, m and v that returns the new p, m and v,
 * instead of the ~14 element-wise tfjs ops (each a full-size temporary) of the formula
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p·decay − stepSize · m / (√v/bc2 + ε).
 * Measured on blas, BERT-base-shaped ft (110M parameters): the stock ops held ~14 temporaries of
 * every variable until the step's end (peak RSS 7.4 GB) and took seconds per step in JS.
 * Float32 SIMD arithmetic (staged-simd.ts; the JS reference, float64, where SIMD is missing), as
 * PyTorch's AdamW on float32 tensors. Large variables are split between the
 * main thread and the helper thread (helper-thread.ts). Ptv2SquaredSum gives global-norm clipping
 * the sum of squares of a gradient in one pass, without a squared copy.
 */
import type * as tf from '@tensorflow/tfjs';
import {shareWork, splitWork} from './helper-thread.js';
import {KERNEL_NAMES, registerKernel, type KernelMemory} from './kernels.js';
import {mainFlatOps} from './staged-simd.js';
import {squaredSum} from './vector-ops.js';

export interface AdamWAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − lr·weightDecay (1 for variables that are not decayed). */
  decay: number;
  /** lr / (1 − β1ᵗ) */
  stepSize: number;
  /** √(1 − β2ᵗ) */
  biasCorrection2: number;
  /** The factor of global-norm clipping, applied to g here instead of to a copy of it. */
  gradScale: number;
}

/** Elements below which the update stays on the main thread. */
const MIN_SPLIT = 1 << 16;

function adamW(mem: KernelMemory, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo[] {
  const {p, g, m, v} = inputs as Record<string, tf.TensorInfo>;
  const {beta1, beta2, eps, decay, stepSize, biasCorrection2, gradScale = 1} = attrs as unknown as AdamWAttrs;
  // In place where p, m and v each belong to their variable alone (on blas; the moments from the
  // first step, as ZerosLike comes from the pool): no three new arrays per variable per step. A
  // p that still shares its data with the checkpoint's tensor, or with a best-epoch snapshot,
  // gets a new array.
  const [reusedP, reusedM, reusedV] = mem.reuse ? [p, m, v].map((t) => mem.reuse!(t)) : [];
  const outP = reusedP ?? mem.output(p.shape);
  const outM = reusedM ?? mem.output(p.shape);
  const outV = reusedV ?? mem.output(p.shape);
  const arrays = [p, g, m, v, outP, outM, outV].map((t) => mem.f32(t));
  const numbers = [beta1, beta2, eps, decay, stepSize, biasCorrection2, gradScale] as const;
  const [P, G, M, V, P2, M2, V2] = arrays;
  shareWork(
    P.length, MIN_SPLIT, arrays,
    (_, from, to) => mainFlatOps().adamWRange(P, G, M, V, P2, M2, V2, ...numbers, from, to),
    'adamWRange', [...arrays, ...numbers],
    // Chunks on multiples of 4: only the variable's last < 4 elements take the JS tail.
    4,
  );
  return [outP, outM, outV];
}

/** The helper thread's partial sum (shared memory). */
let partial: Float32Array | undefined;

/** Σ x² over all elements of x, as a scalar: the global gradient norm without a squared copy. */
function squaredSumKernel(mem: KernelMemory, inputs: tf.NamedTensorInfoMap): tf.TensorInfo {
  const x = mem.f32(inputs.x as tf.TensorInfo);
  partial ??= new Float32Array(new SharedArrayBuffer(4));
  partial[0] = 0;
  const mine = new Float64Array(1);
  splitWork(
    x.length, MIN_SPLIT, [x],
    (_, from, to) => squaredSum(x, from, to, mine, 0),
    (from, to) => ['squaredSum', [x, from, to, partial!, 0]],
  );
  const out = mem.output([]);
  mem.f32(out)[0] = mine[0] + partial[0];
  return out;
}

registerKernel(KERNEL_NAMES.adamW, adamW);
registerKernel(KERNEL_NAMES.squaredSum, squaredSumKernel);
