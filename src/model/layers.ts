/**
 * The encoder's building blocks: linear, embedding lookup, LayerNorm, activations, dropout.
 *
 * Speed and backend notes live here so that a faster kernel changes one place:
 * - Activations are kept 2-D ([tokens, features]) so every linear is one 2-D, non-transposed
 *   matmul, the only shape the WASM backend runs on XNNPACK.
 * - A frozen linear keeps W as [in, out] plus a frozen copy of Wᵀ ([out, in], the layout PyTorch
 *   stores), and a custom gradient computes only dX = dY·Wᵀ: no weight gradient, no transposed
 *   matmul.
 * - A trainable linear also uses explicit transposes in its custom gradient for the same reason.
 * - A trainable embedding table gets its gradient by a scatter-add on the host, because the WASM
 *   backend has no UnsortedSegmentSum kernel (the gradient tfjs would use for gather).
 */
import * as tf from '@tensorflow/tfjs';

export interface Linear {
  /** [in, out] */
  w: tf.Tensor2D;
  /** [out] */
  b: tf.Tensor1D;
  /** Frozen only: Wᵀ as [out, in], for the backward matmul. */
  wT?: tf.Tensor2D;
}

/** tf.customGrad's argument type; its declared parameter union does not fit typed closures. */
type CustomGradFunc = Parameters<typeof tf.customGrad>[0];

export function isTrainable(t: tf.Tensor): t is tf.Variable {
  return t instanceof tf.Variable && t.trainable;
}

/**
 * A linear layer from PyTorch's [out, in] weight. Frozen: tensors are kept (and owned) by the
 * caller. Trainable: W and b become variables named `${name}.weight` / `${name}.bias`.
 */
export function makeLinear(weightOutIn: tf.Tensor2D, bias: tf.Tensor1D, trainable: boolean, name: string): Linear {
  if (trainable) {
    return tf.tidy(() => ({
      w: tf.variable(weightOutIn.transpose(), true, `${name}.weight`) as tf.Variable<tf.Rank.R2>,
      b: tf.variable(bias, true, `${name}.bias`) as tf.Variable<tf.Rank.R1>,
    }));
  }
  return {w: tf.keep(weightOutIn.transpose()), b: bias, wT: weightOutIn};
}

const trainableLinear = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor2D[];
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(ws)),
        tf.matMul(tf.transpose(xs), dy as tf.Tensor2D),
        tf.sum(dy, 0),
      ];
    },
  };
}) as unknown as CustomGradFunc) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** y = x·W + b for x: [n, in] → [n, out]. */
export function linear(layer: Linear, x: tf.Tensor2D): tf.Tensor2D {
  if (!layer.wT) return trainableLinear(x, layer.w, layer.b);
  const {w, b, wT} = layer;
  const frozen = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.add(tf.matMul(input as tf.Tensor2D, w), b),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, wT!),
  })) as unknown as CustomGradFunc) as unknown as (input: tf.Tensor2D) => tf.Tensor2D;
  return frozen(x);
}

/**
 * Rows of `table` for `ids` → [ids.length, width]. When the table is a trainable variable, its
 * gradient is accumulated on the host (see header).
 */
export function embeddingLookup(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const idTensor = tf.tensor1d(ids, 'int32');
  if (!isTrainable(table)) return tf.gather(table, idTensor);
  const [rows, width] = table.shape as [number, number];
  const lookup = tf.customGrad(((t: tf.Tensor) => ({
    value: tf.gather(t, idTensor) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor) => {
      const upstream = dy.dataSync();
      const grad = new Float32Array(rows * width);
      for (let i = 0; i < ids.length; i++) {
        const src = i * width;
        const dst = ids[i] * width;
        for (let j = 0; j < width; j++) grad[dst + j] += upstream[src + j];
      }
      return tf.tensor2d(grad, [rows, width]);
    },
  })) as unknown as CustomGradFunc) as unknown as (t: tf.Tensor2D) => tf.Tensor2D;
  return lookup(table);
}

/** LayerNorm over the last axis, HF semantics (biased variance, eps inside the square root). */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  const {mean, variance} = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
}

/** HF activations by `hidden_act`. `gelu` is the exact erf form; `gelu_new` the tanh form. */
export const ACTIVATIONS = new Map<string, (x: tf.Tensor2D) => tf.Tensor2D>([
  ['gelu', (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))],
  [
    'gelu_new',
    (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))))),
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

  apply<T extends tf.Tensor>(x: T, rate: number, training: boolean): T {
    if (!training || rate <= 0) return x;
    this.counter += 1;
    return tf.dropout(x, rate, undefined, (this.seed + this.counter * 7919) >>> 0) as T;
  }
}
