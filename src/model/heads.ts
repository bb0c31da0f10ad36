/**
 * Task heads: randomly initialised, always trainable, and the only per-task parameters besides
 * the prompt. Initialisation as HF's `_init_weights`: N(0, 0.02) weights, zero bias.
 */
import * as tf from '@tensorflow/tfjs';
import {Dropout, linear, type Linear} from './layers.js';
import {mulberry32, normalArray} from '../random.js';

let nextId = 0;

/** [CLS] (or pooled) features → dropout → linear → logits [batch, labels]. */
export class ClassificationHead {
  readonly variables: tf.Variable[];
  private readonly classifier: Linear;
  private readonly dropout: Dropout;

  constructor(
    hidden: number,
    readonly numLabels: number,
    private readonly dropoutRate: number,
    seed: number,
  ) {
    const rng = mulberry32(seed);
    const id = nextId++;
    this.classifier = tf.tidy(() => ({
      w: tf.variable(tf.tensor2d(normalArray(rng, hidden * numLabels, 0.02), [hidden, numLabels]), true, `classifier.weight#${id}`),
      b: tf.variable(tf.zeros([numLabels]) as tf.Tensor1D, true, `classifier.bias#${id}`),
    }));
    this.variables = [this.classifier.w as tf.Variable, this.classifier.b as tf.Variable];
    this.dropout = new Dropout(seed ^ 0x27d4eb2f);
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
