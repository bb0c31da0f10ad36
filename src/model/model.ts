/**
 * A task model = shared encoder weights + one prompt method + one head. Built per run; the
 * frozen encoder tensors are shared by every model built on the same EncoderWeights.
 */
import * as tf from '@tensorflow/tfjs';
import type {EncoderBatch, EncoderWeights, TextEncoder} from './encoder.js';
import {createEncoder} from './encoders.js';
import {ClassificationHead, ContextPooler, crossEntropy} from './heads.js';
import {MultipleChoiceHead, SpanExtractionHead, TokenClassificationHead, type SpanLogits} from './task-heads.js';
import {createPrompt, METHOD_TABLE, type Prompt, type PromptOptions} from './prompt.js';
import {deriveSeed} from '../random.js';
import {POOLED_HEADS} from './checkpoint.js';
import {selectRows} from './mlm.js';
import {maskRows, VerbalizerHead, type StoredMlmHead} from './verbalizer.js';

/** The verbalizer head's inputs: the checkpoint's MLM head, the label words' ids, the mask token. */
export interface VerbalizerSpec {
  stored: StoredMlmHead;
  wordIds: Int32Array;
  maskId: number;
  trainLmHead: boolean;
}

const WORD_EMBEDDINGS = 'embeddings.word_embeddings.weight';

export interface ModelSpec {
  prompt: PromptOptions;
  /** classification (default): [CLS] → labels; choice: [CLS] of each (context, choice) row → one score. */
  head?: 'classification' | 'choice' | 'token' | 'span';
  numLabels: number;
  /** Hidden dropout of encoder and head. */
  dropout: number;
  /** Feed the pretrained pooler's output to the head (as the reference does); needs a checkpoint with one. */
  usePooler: boolean;
  seed: number;
  /**
   * Multi-task training: a prompt owned by the caller and shared by the models of several tasks
   * (each with its own head). The model uses it instead of creating one and does not dispose it.
   */
  sharedPrompt?: Prompt;
  /** Classification tasks: score labels by the MLM head's logits of label words at the mask (the input holds one). */
  verbalizer?: VerbalizerSpec;
  /** pt/ptv1 `init: vocab | words`: the prompt starts from these tokens' word embeddings (repeated to fill P). */
  promptInitIds?: Int32Array;
}

/** Extractive QA batches: gold start/end per row and the positions an answer may use. */
export interface SpanTargets {
  spanStarts?: Int32Array;
  spanEnds?: Int32Array;
  candidates?: Float32Array;
}

type Head = ClassificationHead | MultipleChoiceHead | TokenClassificationHead | SpanExtractionHead | VerbalizerHead;
export type HeadKind = NonNullable<ModelSpec['head']>;

/**
 * Each head kind and how it is built from the encoder's width, the label count, dropout, a seed
 * and, for the heads on [CLS], DeBERTa's ContextPooler (created only for them).
 */
type HeadBuilder = (hidden: number, numLabels: number, dropout: number, seed: number, pooler: () => ContextPooler | undefined) => Head;
const HEAD_TABLE: ReadonlyMap<HeadKind, HeadBuilder> = new Map<HeadKind, HeadBuilder>([
  ['classification', (hidden, numLabels, dropout, seed, pooler) => new ClassificationHead(hidden, numLabels, dropout, seed, 'classifier', pooler())],
  // One score per (context, choice) row; the softmax runs over an example's choices.
  ['choice', (hidden, _numLabels, dropout, seed, pooler) => new MultipleChoiceHead(hidden, dropout, seed, pooler())],
  ['token', (hidden, numLabels, dropout, seed) => new TokenClassificationHead(hidden, numLabels, dropout, seed)],
  // Start and end logits per token; no dropout, as in BERT's SQuAD head.
  ['span', (hidden, _numLabels, _dropout, seed) => new SpanExtractionHead(hidden, seed)],
]);

export interface ParamCounts {
  trainable: number;
  total: number;
}

export class TaskModel {
  readonly encoder: TextEncoder;
  readonly prompt: Prompt;
  readonly head: Head;
  readonly variables: tf.Variable[];
  readonly params: ParamCounts;
  private readonly usePooler: boolean;

  constructor(private readonly weights: EncoderWeights, readonly spec: ModelSpec) {
    const method = METHOD_TABLE.get(spec.prompt.method);
    if (!method) throw new Error(`unknown method "${spec.prompt.method}"`);
    const cfg = weights.config;
    this.encoder = createEncoder(weights, {
      trainable: method.trainsEncoder,
      seed: deriveSeed(spec.seed, 'encoder-dropout'),
      hiddenDropout: spec.dropout,
    });
    const initialTable = spec.promptInitIds ? this.embeddingRows(spec.promptInitIds, spec.prompt.length) : spec.prompt.initialTable;
    this.prompt = spec.sharedPrompt ?? createPrompt(cfg, {...spec.prompt, ...(initialTable ? {initialTable} : {}), seed: deriveSeed(spec.seed, 'prompt')});
    const buildHead = HEAD_TABLE.get(spec.head ?? 'classification');
    if (!buildHead) throw new Error(`unknown head "${spec.head}"`);
    if (spec.verbalizer && (spec.head ?? 'classification') !== 'classification') throw new Error(`the verbalizer scores classification tasks, not the ${spec.head} head`);
    // DeBERTa has no pooler in the encoder: with use_pooler, [CLS] heads get a ContextPooler of their own.
    const deberta = cfg.deberta;
    const pooler = () => (spec.usePooler && deberta ? new ContextPooler(cfg.hiddenSize, deberta, deriveSeed(spec.seed, 'context-pooler'), weights.contextPooler) : undefined);
    this.head = spec.verbalizer
      ? new VerbalizerHead(spec.verbalizer.stored, cfg, spec.verbalizer.wordIds, spec.verbalizer.trainLmHead)
      : buildHead(cfg.hiddenSize, spec.numLabels, spec.dropout, deriveSeed(spec.seed, 'head'), pooler);
    // Only heads on [CLS] read the encoder's pooler; a missing one is an error, never a silent fall back to [CLS].
    this.usePooler = !deberta && !spec.verbalizer && spec.usePooler && POOLED_HEADS.has(spec.head ?? 'classification');
    if (this.usePooler && !weights.hasPooler) throw new Error('usePooler is set, but the checkpoint has no pooler weights');
    this.variables = [...this.encoder.variables, ...this.prompt.variables, ...this.head.variables];
    const trainable = this.variables.reduce((n, v) => n + v.size, 0);
    // The MLM head belongs to the model whether it trains or not.
    const headSize = this.head instanceof VerbalizerHead ? this.head.size : this.head.variables.reduce((n, v) => n + v.size, 0);
    const extra = this.prompt.variables.reduce((n, v) => n + v.size, 0) + headSize;
    this.params = {trainable, total: weights.totalParams() + extra};
  }

  /** The word embedding table the encoder reads: its own variable when fine-tuning, else the frozen one. */
  private wordEmbeddings(): tf.Tensor2D {
    const own = this.encoder.variables.find((v) => this.encoder.sources.get(v)?.name === WORD_EMBEDDINGS);
    return (own ?? this.weights.get(WORD_EMBEDDINGS)) as tf.Tensor2D;
  }

  /** Rows `ids` of the word embeddings, repeated to `length` rows, as a [length, h] table. */
  private embeddingRows(ids: Int32Array, length: number): Float32Array {
    const h = this.weights.config.hiddenSize;
    const table = this.weights.get(WORD_EMBEDDINGS).dataSync();
    const out = new Float32Array(length * h);
    for (let p = 0; p < length; p++) out.set(table.subarray(ids[p % ids.length] * h, (ids[p % ids.length] + 1) * h), p * h);
    return out;
  }

  /** The prompt table materialised (ptv1: its encoder's output), for saving with the trained variables. */
  savedTensors(): [string, tf.Tensor][] {
    return this.prompt.method === 'ptv1' && this.prompt.table ? [['prompt.table', this.prompt.table()]] : [];
  }

  /** Encoder output of the real token positions only (prompt positions sliced off): [batch·seqLen, h]. */
  private tokenStates(batch: EncoderBatch, training: boolean): tf.Tensor2D {
    const sequence = this.encoder.forward(batch, this.prompt.hooks(batch.batch, training), training);
    const h = this.encoder.config.hiddenSize;
    const length = sequence.shape[0] / batch.batch;
    const tokens = tf.slice(tf.reshape(sequence, [batch.batch, length, h]), [0, this.prompt.outputOffset, 0], [batch.batch, batch.seqLen, h]);
    return tf.reshape(tokens, [batch.batch * batch.seqLen, h]) as tf.Tensor2D;
  }

  /** Span head: start and end logits [batch, seqLen], positions outside `candidates` masked; call inside tf.tidy. */
  spanLogits(batch: EncoderBatch & SpanTargets, training: boolean): SpanLogits {
    if (!(this.head instanceof SpanExtractionHead)) throw new Error('spanLogits needs the span head');
    if (!batch.candidates) throw new Error('a span batch needs candidate positions');
    return this.head.logits(this.tokenStates(batch, training), batch.batch, batch.candidates);
  }

  /** Logits [examples, labels or choices]; call inside tf.tidy. For choice heads the batch holds `choices` rows per example. */
  logits(batch: EncoderBatch, training: boolean, choices = 1): tf.Tensor2D {
    if (this.head instanceof SpanExtractionHead) throw new Error('the span head has start and end logits: use spanLogits');
    if (this.head instanceof TokenClassificationHead) {
      // Logits for the real token positions only: [batch·seqLen, tags].
      return this.head.logits(this.tokenStates(batch, training), training);
    }
    const hooks = this.prompt.hooks(batch.batch, training);
    const sequence = this.encoder.forward(batch, hooks, training);
    if (this.head instanceof VerbalizerHead) {
      const rows = maskRows(batch.inputIds, batch.batch, batch.seqLen, this.spec.verbalizer!.maskId, this.prompt.outputOffset);
      return this.head.logits(selectRows(sequence, rows), this.wordEmbeddings());
    }
    const h = this.encoder.config.hiddenSize;
    const length = sequence.shape[0] / batch.batch;
    // [CLS] of each example via slice (its gradient is a pad; gather's would need a kernel WASM lacks).
    const cls = tf.reshape(
      tf.slice(tf.reshape(sequence, [batch.batch, length, h]), [0, this.prompt.outputOffset, 0], [batch.batch, 1, h]),
      [batch.batch, h],
    ) as tf.Tensor2D;
    const features = this.usePooler ? this.encoder.pool(cls) : cls;
    if (this.head instanceof MultipleChoiceHead) return this.head.scores(features, choices, training);
    return this.head.logits(features, training);
  }

  /** labels: per example, or per token (batch·seqLen, -1 = ignored) for the token head; the span head reads the batch's span targets. */
  loss(batch: EncoderBatch & SpanTargets, labels: Int32Array, training: boolean, choices = 1): tf.Scalar {
    if (this.head instanceof SpanExtractionHead) {
      if (!batch.spanStarts || !batch.spanEnds) throw new Error('a span batch needs start and end positions');
      return this.head.loss(this.spanLogits(batch, training), batch.spanStarts, batch.spanEnds);
    }
    const logits = this.logits(batch, training, choices);
    if (this.head instanceof TokenClassificationHead) return this.head.loss(logits, labels);
    return crossEntropy(logits, labels);
  }

  dispose(): void {
    this.encoder.dispose();
    if (!this.spec.sharedPrompt) this.prompt.dispose();
    this.head.dispose();
  }
}
