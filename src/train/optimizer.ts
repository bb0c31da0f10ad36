/**
 * AdamW with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
 * Biases and LayerNorm parameters are not decayed (the usual BERT recipe).
 * Also: global-norm gradient clipping.
 */
import * as tf from '@tensorflow/tfjs';
import {fastKernels, KERNEL_NAMES, runKernel} from '../compute/kernels.js';
import '../compute/optimizer-kernel.js';

export interface AdamWOptions {
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export function decays(variableName: string): boolean {
  const base = variableName.split('#')[0];
  return !/(\.bias$|LayerNorm)/.test(base);
}

export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;

  constructor(
    private readonly variables: tf.Variable[],
    private readonly opts: AdamWOptions,
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    // tidy frees the zero tensors; a variable keeps its own reference to the data.
    this.m = variables.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.v = variables.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
  }

  /**
   * One update; `grads[i]` belongs to `variables[i]`; a variable without a gradient (unused this
   * step) is left as it is. `gradScale` multiplies every gradient first (global-norm clipping,
   * `clipScale`), inside the update rather than on copies of the gradients.
   */
  apply(grads: (tf.Tensor | undefined)[], lr: number, gradScale = 1): void {
    this.t += 1;
    const {beta1, beta2, eps} = this;
    const stepSize = lr / (1 - beta1 ** this.t);
    const biasCorrection2 = Math.sqrt(1 - beta2 ** this.t);
    // One tidy per variable: the temporaries of one update are freed before the next one starts.
    this.variables.forEach((p, i) => {
      const g = grads[i];
      if (!g) return;
      const decay = decays(p.name) && this.opts.weightDecay > 0 ? 1 - lr * this.opts.weightDecay : 1;
      tf.tidy(() => {
        if (fastKernels()) {
          // One pass (src/compute/optimizer-kernel.ts) instead of the ops below.
          const [np, nm, nv] = runKernel(KERNEL_NAMES.adamW, {p, g, m: this.m[i], v: this.v[i]}, {beta1, beta2, eps, decay, stepSize, biasCorrection2, gradScale});
          this.m[i].assign(nm);
          this.v[i].assign(nv);
          p.assign(np);
          return;
        }
        const scaled = gradScale === 1 ? g : tf.mul(g, gradScale);
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(scaled, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(scaled), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const decayed = decay !== 1 ? tf.mul(p, decay) : p;
        const denom = tf.add(tf.div(tf.sqrt(v), biasCorrection2), eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/** The global L2 norm of the gradients (undefined ones skipped), read back as a number. */
export function globalNorm(grads: (tf.Tensor | undefined)[]): number {
  return tf.tidy(() => {
    const present = grads.filter((g): g is tf.Tensor => g !== undefined && g !== null);
    if (present.length === 0) return 0;
    const squares = present.map((g) => (fastKernels() ? runKernel(KERNEL_NAMES.squaredSum, {x: g})[0] : tf.sum(tf.square(g))));
    return Math.sqrt(squares.length === 1 ? squares[0].dataSync()[0] : tf.addN(squares).dataSync()[0]);
  });
}

/** The factor that brings gradients of global norm `norm` down to at most maxNorm (0 = off). */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm <= 0 || norm <= maxNorm ? 1 : maxNorm / (norm + 1e-6);
}
