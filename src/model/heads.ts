/**
 * Task heads: randomly initialised, always trainable, and the only per-task parameters besides
 * the prompt. Initialisation as HF's `_init_weights`: N(0, 0.02) weights, zero bias.
 */
import * as tf from '@tensorflow/tfjs';
import {Dropout, linear, type Linear} from './layers.js';
import {mulberry32, normalArray} from '../random.js';

let nextId = 0;

/** A trainable [hidden → outputs] linear, N(0, 0.02) weight and zero bias, named like HF's module and unique per head. */
export function headLinear(hidden: number, outputs: number, seed: number, name: string): Linear {
  const rng = mulberry32(seed);
  const id = nextId++;
  return tf.tidy(() => ({
    w: tf.variable(tf.tensor2d(normalArray(rng, hidden * outputs, 0.02), [hidden, outputs]), true, `${name}.weight#${id}`),
    b: tf.variable(tf.zeros([outputs]) as tf.Tensor1D, true, `${name}.bias#${id}`),
  }));
}

export function linearVariables(layer: Linear): tf.Variable[] {
  return [layer.w as tf.Variable, layer.b as tf.Variable];
}

/** Seed of a head's dropout stream, distinct from its weight stream. */
export const DROPOUT_SEED_MIX = 0x27d4eb2f;

/**
 * Features [rows, h] → dropout → linear → logits [rows, labels]: [CLS] (or pooled) features of
 * each example here, every token's features in TokenClassificationHead. `name` is the linear's
 * tensor name, as transformers names that head.
 */
export class ClassificationHead {
  readonly variables: tf.Variable[];
  private readonly classifier: Linear;
  private readonly dropout: Dropout;

  constructor(
    hidden: number,
    readonly numLabels: number,
    private readonly dropoutRate: number,
    seed: number,
    name = 'classifier',
  ) {
    this.classifier = headLinear(hidden, numLabels, seed, name);
    this.variables = linearVariables(this.classifier);
    this.dropout = new Dropout(seed ^ DROPOUT_SEED_MIX);
  }

  logits(features: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return linear(this.classifier, this.dropout.apply(features, this.dropoutRate, training));
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** Mean cross-entropy of integer labels under logits [batch, classes]. */
export function crossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}
