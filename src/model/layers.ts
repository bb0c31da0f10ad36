/**
 * The encoder's building blocks: linear, embedding lookup, LayerNorm, activations, dropout and
 * self-attention. Each has one fast path on ptv2's kernels (kernels.ts, attention-kernel.ts; WASM
 * and pure-JS CPU backends) and a stock-tfjs path for every other backend (tfjs-node), so that
 * speed work changes this file and the kernels, not the encoder.
 *
 * Layout and gradient choices (PERF-NOTES.md, bench/README.md):
 * - Activations are 2-D ([tokens, features]) so every linear is one 2-D matmul; the bias add is
 *   fused into it (tf.fused.matMul).
 * - A frozen linear's custom gradient computes only dX = dY·Wᵀ: no weight gradient.
 * - Where transposes are free (`blas`: CblasTrans flags; tfjs-node), a frozen linear multiplies
 *   by the checkpoint's [out, in] weight with transposeB and keeps no other copy, and a trainable
 *   one's gradient uses transpose flags. On WASM only 2-D non-transposed matmuls run on XNNPACK,
 *   so there a frozen linear keeps W as [in, out] plus the checkpoint's Wᵀ, a trainable one uses
 *   explicit transposes, and large frozen matmuls are split over two threads (parallel-matmul.ts).
 * - A trainable embedding table gets its gradient by a scatter-add on the host, because the WASM
 *   backend has no UnsortedSegmentSum kernel (the gradient tfjs would use for gather).
 * - Dropout masks come from a hash of (seed, element index) on the fast path, so the backward
 *   pass recomputes the mask instead of keeping it; the stock path uses tf.dropout.
 * - GELU and the residual LayerNorm ask tfjs whether a gradient tape is recording
 *   (`engine().state.gradientDepth`): only then do they keep what their backward pass reads
 *   (GELU's slope, the residual sum and LayerNorm's statistics); an eval pass keeps nothing.
 */
import * as tf from '@tensorflow/tfjs';
import {fastKernels, KERNEL_NAMES, parallelMatMul, runKernel} from '../compute/kernels.js';
import '../compute/attention-kernel.js';

export interface Linear {
  /**
   * [in, out]; except a frozen linear built where transposes are free (see header): then `w` and
   * `wT` are the same [out, in] tensor, multiplied with transposeB.
   */
  w: tf.Tensor2D;
  /** [out] */
  b: tf.Tensor1D;
  /** Frozen only: Wᵀ as [out, in], for the backward matmul. */
  wT?: tf.Tensor2D;
}

/** Backends whose matmuls take transpose flags at no cost (no materialised transpose). */
const FREE_TRANSPOSE_BACKENDS = new Set(['blas', 'tensorflow']);

function transposesAreFree(): boolean {
  return FREE_TRANSPOSE_BACKENDS.has(tf.getBackend());
}

/** tf.customGrad's argument type; its declared parameter union does not fit typed closures. */
type CustomGradFunc = Parameters<typeof tf.customGrad>[0];

interface GradResult {
  value: tf.Tensor;
  gradFunc: (dy: any, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

/** tf.customGrad typed as `F` (tfjs passes its save function as the last argument of `f`). */
function withGradient<F>(f: (...args: any[]) => GradResult): F {
  return tf.customGrad(f as unknown as CustomGradFunc) as unknown as F;
}

export function isTrainable(t: tf.Tensor): t is tf.Variable {
  return t instanceof tf.Variable && t.trainable;
}

/**
 * A linear layer from PyTorch's [out, in] weight. Frozen: tensors are kept (and owned) by the
 * caller. Trainable: W and b become variables named `${name}.weight${unique}` /
 * `${name}.bias${unique}`: tfjs needs unique variable names, and the suffix (`#n`) goes last so
 * the part before `#` is the tensor's own name, which weight decay and saved files go by.
 */
export function makeLinear(weightOutIn: tf.Tensor2D, bias: tf.Tensor1D, trainable: boolean, name: string, unique = ''): Linear {
  if (trainable) {
    return tf.tidy(() => ({
      w: tf.variable(weightOutIn.transpose(), true, `${name}.weight${unique}`) as tf.Variable<tf.Rank.R2>,
      b: tf.variable(bias, true, `${name}.bias${unique}`) as tf.Variable<tf.Rank.R1>,
    }));
  }
  if (transposesAreFree()) return {w: weightOutIn, b: bias, wT: weightOutIn};
  return {w: tf.keep(weightOutIn.transpose()), b: bias, wT: weightOutIn};
}

function affine(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return tf.fused.matMul({a: x, b: w, bias: b}) as tf.Tensor2D;
}

const trainableLinear = withGradient<(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D>((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: affine(x, w, b),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor2D[];
      if (transposesAreFree()) return [tf.matMul(dy, ws, false, true), tf.matMul(xs, dy, true, false), tf.sum(dy, 0)];
      return [tf.matMul(dy, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy), tf.sum(dy, 0)];
    },
  };
});

/** x·w (+ bias) for a frozen w: split over two threads when large enough (parallel-matmul.ts). */
function frozenMatMul(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const [m, k] = x.shape;
  if (parallelMatMul()?.accepts(m, k, w.shape[1])) {
    return runKernel(KERNEL_NAMES.frozenMatMul, bias ? {a: x, w, bias} : {a: x, w})[0] as tf.Tensor2D;
  }
  return bias ? affine(x, w, bias) : tf.matMul(x, w);
}

/** y = x·W + b for x: [n, in] → [n, out]. */
export function linear(layer: Linear, x: tf.Tensor2D): tf.Tensor2D {
  if (!layer.wT) return trainableLinear(x, layer.w, layer.b);
  const {w, b, wT} = layer;
  if (w === wT) {
    // [out, in] only: y = x·Wᵀ + b and dX = dY·W, both on transpose flags.
    const outIn = withGradient<(x: tf.Tensor2D) => tf.Tensor2D>((input: tf.Tensor2D) => ({
      value: tf.fused.matMul({a: input, b: wT, transposeB: true, bias: b}) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D) => tf.matMul(dy, wT),
    }));
    return outIn(x);
  }
  const frozen = withGradient<(x: tf.Tensor2D) => tf.Tensor2D>((input: tf.Tensor2D) => ({
    value: frozenMatMul(input, w, b),
    gradFunc: (dy: tf.Tensor2D) => frozenMatMul(dy, wT!),
  }));
  return frozen(x);
}

function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (fastKernels()) return runKernel(KERNEL_NAMES.gather, {table, ids})[0] as tf.Tensor2D;
  return tf.gather(table, ids);
}

/**
 * Rows of `table` for `ids` → [ids.length, width]. When the table is a trainable variable, its
 * gradient is accumulated on the host (see header).
 */
export function embeddingLookup(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const idTensor = tf.tensor1d(ids, 'int32');
  if (!isTrainable(table)) return gatherRows(table, idTensor);
  const [rows, width] = table.shape as [number, number];
  const lookup = withGradient<(t: tf.Tensor2D) => tf.Tensor2D>((t: tf.Tensor2D) => ({
    value: gatherRows(t, idTensor),
    gradFunc: (dy: tf.Tensor2D) => {
      const upstream = dy.dataSync();
      const grad = new Float32Array(rows * width);
      for (let i = 0; i < ids.length; i++) {
        const src = i * width;
        const dst = ids[i] * width;
        for (let j = 0; j < width; j++) grad[dst + j] += upstream[src + j];
      }
      return tf.tensor2d(grad, [rows, width]);
    },
  }));
  return lookup(table);
}

/** LayerNorm over the last axis, HF semantics (biased variance, eps inside the square root). */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (!fastKernels()) {
    const {mean, variance} = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
  }
  const norm = withGradient<(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor2D>((input: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const [y, mean, rstd] = runKernel(KERNEL_NAMES.layerNorm, {x: input, gamma: g, beta: b}, {eps});
    save([input, g, mean, rstd]);
    return {
      value: y as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, [xs, gs, ms, rs]: tf.Tensor[]) =>
        runKernel(KERNEL_NAMES.layerNormGrad, {dy, x: xs, gamma: gs, mean: ms, rstd: rs}),
    };
  });
  return norm(x, gamma, beta);
}

/**
 * A residual block's end: LayerNorm(dropout(a) + residual), dropout only in training (its seed
 * drawn from `dropout` as Dropout.apply draws it). On ptv2's kernels one pass (kernels.ts
 * residualLayerNorm) instead of dropout, Add and LayerNorm; its backward pass is LayerNorm's,
 * then the dropout mask on a's share.
 */
export function residualLayerNorm(
  a: tf.Tensor2D, residual: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, dropout: Dropout, rate: number, training: boolean,
): tf.Tensor2D {
  if (!fastKernels()) return layerNorm(tf.add(dropout.apply(a, rate, training), residual) as tf.Tensor2D, gamma, beta, eps);
  const dropRate = training ? rate : 0;
  const seed = dropRate > 0 ? dropout.nextSeed() : 0;
  const attrs = {eps, rate: dropRate, seed};
  if (tf.engine().state.gradientDepth === 0) {
    const [y, ...stats] = runKernel(KERNEL_NAMES.residualLayerNorm, {a, residual, gamma, beta}, attrs);
    tf.dispose(stats);
    return y as tf.Tensor2D;
  }
  const f = withGradient<(a: tf.Tensor2D, r: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor2D>(
    (input: tf.Tensor2D, res: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
      const [y, mean, rstd, sum] = runKernel(KERNEL_NAMES.residualLayerNorm, {a: input, residual: res, gamma: g, beta: b}, {...attrs, keepSum: true});
      save([sum, g, mean, rstd]);
      return {
        value: y as tf.Tensor2D,
        gradFunc: (dy: tf.Tensor2D, [xs, gs, ms, rs]: tf.Tensor[]) => {
          const [dx, dgamma, dbeta] = runKernel(KERNEL_NAMES.layerNormGrad, {dy, x: xs, gamma: gs, mean: ms, rstd: rs});
          const da = dropRate > 0 ? runKernel(KERNEL_NAMES.dropout, {x: dx}, {rate: dropRate, seed})[0] : tf.clone(dx);
          return [da, dx, dgamma, dbeta];
        },
      };
    },
  );
  return f(a, residual, gamma, beta);
}

/**
 * One encoder layer, `step(x)`. Without a gradient tape (eval, predict, encode) it runs in its own
 * tidy and the layer's input x is disposed after: its intermediates go back to the backend's
 * array pool (blas) layer by layer, so the next layer writes into arrays still in cache rather
 * than into the cold ones of a whole pass held until the pass ends (config b eval: element-wise
 * ops read and wrote at ~13 GB/s, a third of their in-cache speed). Under a tape the tape keeps
 * what the backward pass needs, and x is the caller's.
 */
export function layerStep(x: tf.Tensor2D, step: (x: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
  if (tf.engine().state.gradientDepth > 0) return step(x);
  const next = tf.tidy(() => step(x));
  x.dispose();
  return next;
}

/**
 * GELU on ptv2's kernel. While a gradient tape records (tf.grads, tf.variableGrads) the kernel
 * also returns the slope GELU′(x), kept instead of x, so the backward pass is one multiply.
 */
function gelu(x: tf.Tensor2D, approximate: boolean): tf.Tensor2D {
  if (tf.engine().state.gradientDepth === 0) return runKernel(KERNEL_NAMES.gelu, {x}, {approximate})[0] as tf.Tensor2D;
  const f = withGradient<(x: tf.Tensor2D) => tf.Tensor2D>((input: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const [y, slope] = runKernel(KERNEL_NAMES.gelu, {x: input}, {approximate, slope: true});
    save([slope]);
    return {value: y as tf.Tensor2D, gradFunc: (dy: tf.Tensor2D, [g]: tf.Tensor[]) => tf.mul(dy, g)};
  });
  return f(x);
}

/** HF activations by `hidden_act`. `gelu` is the exact erf form; `gelu_new` the tanh form. */
export const ACTIVATIONS = new Map<string, (x: tf.Tensor2D) => tf.Tensor2D>([
  ['gelu', (x) => (fastKernels() ? gelu(x, false) : tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))))],
  [
    'gelu_new',
    (x) =>
      fastKernels()
        ? gelu(x, true)
        : tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))))),
  ],
  ['relu', (x) => tf.relu(x)],
]);

/**
 * Dropout with reproducible masks: each call draws a fresh seed from the stream, so the same
 * run seed gives the same masks on the same backend. Identity outside training.
 */
export class Dropout {
  private counter = 0;
  constructor(private readonly seed: number) {}

  /** The seed for the next mask; fused kernels (attention) draw theirs here too. */
  nextSeed(): number {
    this.counter += 1;
    return (this.seed + this.counter * 7919) >>> 0;
  }

  apply<T extends tf.Tensor>(x: T, rate: number, training: boolean): T {
    if (!training || rate <= 0) return x;
    const seed = this.nextSeed();
    if (!fastKernels()) return tf.dropout(x, rate, undefined, seed) as T;
    const drop = withGradient<(x: T) => T>((input: T) => ({
      value: runKernel(KERNEL_NAMES.dropout, {x: input}, {rate, seed})[0] as T,
      gradFunc: (dy: T) => runKernel(KERNEL_NAMES.dropout, {x: dy}, {rate, seed})[0],
    }));
    return drop(x);
  }
}

export interface AttentionOptions {
  heads: number;
  /** Dropout on the attention probabilities (0 outside training) and its mask seed. */
  rate: number;
  seed: number;
}

/**
 * Multi-head scaled dot-product self-attention (HF BertSelfAttention) → context [T, h].
 * qkv: [T = B·S, 3h], the fused query/key/value projection; mask: [B, P + S] additive (0 or a
 * large negative number per key); prefix: keys/values [B, H, P, d] prepended to every example's.
 */
export function selfAttention(
  qkv: tf.Tensor2D,
  mask: tf.Tensor2D,
  prefix: {key: tf.Tensor4D; value: tf.Tensor4D} | null,
  opts: AttentionOptions,
): tf.Tensor2D {
  if (!fastKernels()) return stockAttention(qkv, mask, prefix, opts);
  const attrs = {heads: opts.heads, rate: opts.rate, seed: opts.seed};
  if (tf.engine().state.gradientDepth === 0) {
    // No tape: nothing reads the attention weights again (blas then keeps none; others return them).
    const [context, ...rest] = runKernel(KERNEL_NAMES.attention, prefix ? {qkv, mask, prefixKey: prefix.key, prefixValue: prefix.value} : {qkv, mask}, {...attrs, keepProbs: false});
    tf.dispose(rest);
    return context as tf.Tensor2D;
  }
  const run = (inputs: Record<string, tf.Tensor>, save: tf.GradSaveFunc) => {
    const [context, probs] = runKernel(KERNEL_NAMES.attention, {...inputs, mask}, attrs);
    save([probs, ...Object.values(inputs)]);
    return {
      value: context as tf.Tensor2D,
      gradFunc: (dContext: tf.Tensor2D, [ps, qkvs, keys, values]: tf.Tensor[]) =>
        runKernel(KERNEL_NAMES.attentionGrad, keys ? {dContext, probs: ps, qkv: qkvs, prefixKey: keys, prefixValue: values} : {dContext, probs: ps, qkv: qkvs}, attrs),
    };
  };
  if (!prefix) return withGradient<(x: tf.Tensor2D) => tf.Tensor2D>((x: tf.Tensor2D, save: tf.GradSaveFunc) => run({qkv: x}, save))(qkv);
  return withGradient<(x: tf.Tensor2D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor2D>((x: tf.Tensor2D, key: tf.Tensor4D, value: tf.Tensor4D, save: tf.GradSaveFunc) =>
    run({qkv: x, prefixKey: key, prefixValue: value}, save),
  )(qkv, prefix.key, prefix.value);
}

/** The same attention in stock tfjs ops (batched matmuls), for backends without ptv2's kernels. */
function stockAttention(
  qkv: tf.Tensor2D,
  mask: tf.Tensor2D,
  prefix: {key: tf.Tensor4D; value: tf.Tensor4D} | null,
  {heads, rate, seed}: AttentionOptions,
): tf.Tensor2D {
  const [batch, keys] = mask.shape;
  const tokens = qkv.shape[0];
  const seqLen = tokens / batch;
  const h = qkv.shape[1] / 3;
  const headDim = h / heads;
  const splitHeads = (t: tf.Tensor2D): tf.Tensor4D => tf.transpose(tf.reshape(t, [batch, seqLen, heads, headDim]), [0, 2, 1, 3]);
  const [q2, k2, v2] = tf.split(qkv, 3, 1) as tf.Tensor2D[];
  const q = tf.mul(splitHeads(q2), 1 / Math.sqrt(headDim));
  let k = splitHeads(k2);
  let v = splitHeads(v2);
  if (prefix) {
    k = tf.concat([prefix.key, k], 2);
    v = tf.concat([prefix.value, v], 2);
  }
  const scores = tf.add(tf.matMul(q, k, false, true), tf.reshape(mask, [batch, 1, 1, keys]));
  let probs = tf.softmax(scores);
  if (rate > 0) probs = tf.dropout(probs, rate, undefined, seed);
  return tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [tokens, h]) as tf.Tensor2D;
}
