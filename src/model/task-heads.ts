/**
 * The task heads beyond sequence classification, after HF transformers' BertForMultipleChoice
 * (COPA), BertForTokenClassification (NER, SRL) and BertForQuestionAnswering (SQuAD 1.1/2.0),
 * plus the span decoding of HF's question-answering post-processing (`postprocess_qa_predictions`).
 * Initialised as ClassificationHead (heads.ts): N(0, 0.02) weights, zero bias.
 *
 * Losses pick the labelled entries with host-built mask or one-hot multiplies rather than gather,
 * because the WASM backend has no gradient kernel for gather.
 */
import * as tf from '@tensorflow/tfjs';
import {ClassificationHead, crossEntropy, DROPOUT_SEED_MIX, headLinear, linearVariables, type ContextPooler} from './heads.js';
import {Dropout, linear, type Linear} from './layers.js';


/**
 * One score per (example, choice): features [batch·choices, h], rows grouped by example, →
 * dropout → linear(h, 1) → scores [batch, choices]; the loss is cross-entropy over the choices.
 */
export class MultipleChoiceHead {
  readonly variables: tf.Variable[];
  private readonly scorer: Linear;
  private readonly dropout: Dropout;

  /** `pooler`: a ContextPooler each row's [CLS] goes through first (DebertaV2ForMultipleChoice). */
  constructor(
    hidden: number,
    private readonly dropoutRate: number,
    seed: number,
    private readonly pooler?: ContextPooler,
  ) {
    this.scorer = headLinear(hidden, 1, seed, 'multiple_choice');
    this.variables = [...(pooler?.variables ?? []), ...linearVariables(this.scorer)];
    this.dropout = new Dropout(seed ^ DROPOUT_SEED_MIX);
  }

  scores(features: tf.Tensor2D, choices: number, training: boolean): tf.Tensor2D {
    const rows = features.shape[0];
    if (rows % choices !== 0) throw new Error(`${rows} feature rows do not split into groups of ${choices} choices`);
    const pooled = this.pooler ? this.pooler.apply(features, training) : features;
    const flat = linear(this.scorer, this.dropout.apply(pooled, this.dropoutRate, training));
    return tf.reshape(flat, [rows / choices, choices]);
  }

  /** Mean cross-entropy of the correct choice index per example. */
  loss(scores: tf.Tensor2D, labels: Int32Array): tf.Scalar {
    return crossEntropy(scores, labels);
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** Label of a position that takes no part in the loss (padding, prompt, specials, later sub-tokens). */
export const IGNORED_LABEL = -1;

/**
 * Per-position tags: sequence [batch·T, h] → dropout → linear(h, numTags) → logits
 * [batch·T, numTags]; the loss is the mean cross-entropy over positions labelled ≥ 0.
 */
export class TokenClassificationHead extends ClassificationHead {
  constructor(hidden: number, numTags: number, dropoutRate: number, seed: number) {
    super(hidden, numTags, dropoutRate, seed, 'token_classifier');
  }

  /**
   * Mean cross-entropy over labelled positions; labels has one entry per row of `logits`, negative
   * for ignored rows. A batch with no labelled position gives 0 (and zero gradients), not NaN.
   */
  loss(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
    return maskedCrossEntropy(logits, labels);
  }
}

/**
 * −Σ w·log softmax(logits) with w = 1/count at (row, label) of each labelled row: the one-hot
 * weights are built on the host so that ignored rows contribute exactly nothing.
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
  const [rows, classes] = logits.shape;
  if (labels.length !== rows) throw new Error(`${labels.length} labels for ${rows} logit rows`);
  const counted = labels.reduce((n, label) => (label >= 0 ? n + 1 : n), 0);
  const weights = new Float32Array(rows * classes);
  labels.forEach((label, row) => {
    if (label < 0) return;
    if (label >= classes) throw new Error(`label ${label} at row ${row} is outside the ${classes} classes`);
    weights[row * classes + label] = 1 / counted;
  });
  // 0 − Σ rather than −Σ, so that a batch with nothing labelled reports +0, not −0.
  return tf.tidy(() => tf.sub(0, tf.sum(tf.mul(tf.tensor2d(weights, [rows, classes]), tf.logSoftmax(logits)))) as tf.Scalar);
}

/** A masked position's logit: far below any real logit, yet finite in float32 so softmax stays NaN-free. */
export const MASKED_LOGIT = -1e9;

export interface SpanLogits {
  /** [batch, T] */
  start: tf.Tensor2D;
  /** [batch, T] */
  end: tf.Tensor2D;
}

/**
 * Answer-span pointers: sequence [batch·T, h] → linear(h, 2) → start and end logits [batch, T],
 * with every position outside `candidates` set to MASKED_LOGIT. The loss is the mean of the start
 * and end cross-entropies; a SQuAD 2.0 unanswerable question points both at position 0 ([CLS]).
 */
export class SpanExtractionHead {
  readonly variables: tf.Variable[];
  private readonly pointer: Linear;

  constructor(hidden: number, seed: number) {
    this.pointer = headLinear(hidden, 2, seed, 'qa_outputs');
    this.variables = linearVariables(this.pointer);
  }

  /** `candidates` [batch·T]: 1 where an answer may start or end (including [CLS]), 0 at padding. */
  logits(sequence: tf.Tensor2D, batch: number, candidates: Float32Array): SpanLogits {
    const rows = sequence.shape[0];
    if (rows % batch !== 0) throw new Error(`${rows} sequence rows do not split into ${batch} examples`);
    if (candidates.length !== rows) throw new Error(`${candidates.length} candidate flags for ${rows} positions`);
    const length = rows / batch;
    return tf.tidy(() => {
      const both = linear(this.pointer, sequence);
      const keep = tf.tensor2d(candidates, [batch, length]);
      const fill = tf.mul(tf.sub(1, keep), MASKED_LOGIT);
      // Slicing the columns: its gradient is a pad, which every backend has.
      const column = (c: number) => tf.add(tf.mul(tf.reshape(tf.slice(both, [0, c], [rows, 1]), [batch, length]), keep), fill) as tf.Tensor2D;
      return {start: column(0), end: column(1)};
    });
  }

  /** (CE(start) + CE(end)) / 2 for gold positions [batch] each. */
  loss(logits: SpanLogits, startPositions: Int32Array, endPositions: Int32Array): tf.Scalar {
    return tf.tidy(() => tf.div(tf.add(crossEntropy(logits.start, startPositions), crossEntropy(logits.end, endPositions)), 2) as tf.Scalar);
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

export interface Span {
  /** Token positions, inclusive. */
  start: number;
  end: number;
  /** startLogit + endLogit */
  score: number;
}

export interface BestSpanOptions {
  maxAnswerLength: number;
  nBest: number;
  /** First and last token position (inclusive) of the context the answer must lie in. */
  contextStart: number;
  contextEnd: number;
  /** SQuAD 2.0: also report the no-answer score start[0] + end[0]. */
  nullScore?: boolean;
}

export interface BestSpans {
  /** Best first; ties broken by earlier start, then earlier end. */
  spans: Span[];
  /** Present when requested. */
  nullScore?: number;
}

/**
 * The nBest highest-scoring spans of one example, over every start ≤ end inside the context with
 * end − start + 1 ≤ maxAnswerLength. Exhaustive rather than HF's top-k start × top-k end pairing,
 * so no valid span is missed; at most T·maxAnswerLength candidates.
 */
export function bestSpan(startLogits: Float32Array, endLogits: Float32Array, opts: BestSpanOptions): BestSpans {
  if (startLogits.length !== endLogits.length) throw new Error(`start (${startLogits.length}) and end (${endLogits.length}) logits differ in length`);
  if (!(opts.maxAnswerLength >= 1) || !(opts.nBest >= 1)) throw new Error('maxAnswerLength and nBest must be at least 1');
  const first = Math.max(0, opts.contextStart);
  const last = Math.min(startLogits.length - 1, opts.contextEnd);
  const candidates: Span[] = [];
  for (let start = first; start <= last; start++) {
    const lastEnd = Math.min(last, start + opts.maxAnswerLength - 1);
    for (let end = start; end <= lastEnd; end++) {
      candidates.push({start, end, score: startLogits[start] + endLogits[end]});
    }
  }
  candidates.sort((a, b) => b.score - a.score || a.start - b.start || a.end - b.end);
  const spans = candidates.slice(0, opts.nBest);
  return opts.nullScore ? {spans, nullScore: startLogits[0] + endLogits[0]} : {spans};
}
