/**
 * Task heads: randomly initialised, always trainable, and the only per-task parameters besides
 * the prompt. Initialisation as HF's `_init_weights`: N(0, 0.02) weights, zero bias.
 */
import * as tf from '@tensorflow/tfjs';
import {ACTIVATIONS, Dropout, linear, type Linear} from './layers.js';
import type {DebertaSettings} from './deberta-config.js';
import type {NamedTensor} from './safetensors.js';
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
 * DeBERTa's ContextPooler (HF `modeling_deberta_v2.ContextPooler`): [CLS] → dropout(pooler_dropout)
 * → dense(h, h) → pooler_hidden_act. It belongs to the head, as in DebertaV2ForSequenceClassification
 * (tensors `pooler.dense.*` beside `deberta.*`) and the P-tuning v2 reference, which trains it with
 * the classifier while the encoder is frozen. It starts from a stored `pooler.dense.*` when the
 * checkpoint has one, else N(0, 0.02) weights and zero bias.
 */
export class ContextPooler {
  readonly variables: tf.Variable[];
  private readonly dense: Linear;
  private readonly dropout: Dropout;

  constructor(
    hidden: number,
    private readonly settings: DebertaSettings,
    seed: number,
    stored?: {weight: NamedTensor; bias: NamedTensor},
  ) {
    this.dense = headLinear(hidden, hidden, seed, 'pooler.dense');
    if (stored) {
      tf.tidy(() => {
        (this.dense.w as tf.Variable).assign(tf.transpose(tf.tensor2d(stored.weight.data as Float32Array, [hidden, hidden])));
        (this.dense.b as tf.Variable).assign(tf.tensor1d(stored.bias.data as Float32Array));
      });
    }
    this.variables = linearVariables(this.dense);
    this.dropout = new Dropout(seed ^ DROPOUT_SEED_MIX);
  }

  /** first: [rows, h] → pooled [rows, h]. */
  apply(first: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const dense = linear(this.dense, this.dropout.apply(first, this.settings.poolerDropout, training));
    return this.settings.poolerHiddenAct === 'tanh' ? tf.tanh(dense) : ACTIVATIONS.get(this.settings.poolerHiddenAct)!(dense);
  }
}

/**
 * Features [rows, h] → dropout → linear → logits [rows, labels]: [CLS] (or pooled) features of
 * each example here, every token's features in TokenClassificationHead. `name` is the linear's
 * tensor name, as transformers names that head.
 */
export class ClassificationHead {
  readonly variables: tf.Variable[];
  private readonly classifier: Linear;
  private readonly dropout: Dropout;

  /** `pooler`: a ContextPooler the features go through first (DeBERTa), trained with this head. */
  constructor(
    hidden: number,
    readonly numLabels: number,
    private readonly dropoutRate: number,
    seed: number,
    name = 'classifier',
    private readonly pooler?: ContextPooler,
  ) {
    this.classifier = headLinear(hidden, numLabels, seed, name);
    this.variables = [...(pooler?.variables ?? []), ...linearVariables(this.classifier)];
    this.dropout = new Dropout(seed ^ DROPOUT_SEED_MIX);
  }

  logits(features: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const pooled = this.pooler ? this.pooler.apply(features, training) : features;
    return linear(this.classifier, this.dropout.apply(pooled, this.dropoutRate, training));
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
