/**
 * Model outputs → predictions, batch by batch, in feature order: argmax labels with their
 * probabilities (classification, multiple choice), a tag per word (tagging), and per-position
 * start/end logits (extractive QA, decoded by data/qa-features.ts). Each batch's tensors live
 * inside one tf.tidy. `between` runs after every batch: the caller yields to the event loop there
 * (and stops when asked), so a long evaluation stays responsive to Ctrl-C.
 */
import type {Tf} from '../compute/backend.js';
import type {Batch, Feature, FeatureSet} from '../data/features.js';
import {decodeSpans, type SpanFeatureSet} from '../data/qa-features.js';
import type {Evaluation, TaskDefinition} from '../data/registry.js';
import type {Example, SpanExample} from '../data/types.js';
import type {TaskModel} from '../model/model.js';

/**
 * The model's predictions for one split's examples and features, in the form the task's scorer
 * and writers read: labels with probabilities, tags with their probabilities, or answers with
 * their spans and scores (decoded with the task's QA settings, null threshold included).
 */
export async function predictSplit(
  tf: Tf,
  definition: TaskDefinition,
  labels: readonly string[],
  model: TaskModel,
  split: {examples: readonly Example[]; set: FeatureSet},
  batches: Batch[],
  between: () => Promise<void> = async () => {},
): Promise<Evaluation> {
  const examples = split.examples as Evaluation['examples'];
  const base = {examples, labels, pred: [], gold: [], probabilities: []};
  switch (definition.head) {
    case 'span': {
      const logits = await spanLogitsOf(tf, model, batches, split.set.features, between);
      const decoded = decodeSpans(split.examples as SpanExample[], split.set as SpanFeatureSet, logits.start, logits.end, definition.qa!);
      return {...base, ...decoded};
    }
    case 'token': {
      const {tags, probabilities} = await predictTagScores(tf, model, batches, split.set.features, labels, between);
      return {...base, predTags: tags, tagProbabilities: probabilities};
    }
    case 'classification':
    case 'choice': {
      const predicted = await predictLabels(tf, model, batches, split.set.features.length, labels, between);
      const gold = split.examples.map((e) => ((e.kind === 'pair' || e.kind === 'choice') && e.label !== null ? String(e.label) : ''));
      return {...base, gold, ...predicted};
    }
  }
}

/** Argmax label and label probabilities of every feature, in feature order. */
export async function predictLabels(
  tf: Tf,
  model: TaskModel,
  batches: Batch[],
  count: number,
  labels: readonly string[],
  between: () => Promise<void> = async () => {},
): Promise<{pred: string[]; probabilities: Float32Array[]}> {
  const pred = new Array<string>(count);
  const probabilities = new Array<Float32Array>(count);
  const width = labels.length;
  for (const batch of batches) {
    const probs = tf.tidy(() => tf.softmax(model.logits(batch, false, batch.choices)).dataSync() as Float32Array);
    batch.indices.forEach((fi, b) => {
      const row = probs.slice(b * width, (b + 1) * width);
      probabilities[fi] = row;
      pred[fi] = labels[row.indexOf(Math.max(...row))];
    });
    await between();
  }
  return {pred, probabilities};
}

/** Tagging: the argmax tag of each word's first sub-token; words truncated away get 'O'. */
export async function predictTags(tf: Tf, model: TaskModel, batches: Batch[], features: readonly Feature[], labels: readonly string[], between: () => Promise<void> = async () => {}): Promise<string[][]> {
  return (await predictTagScores(tf, model, batches, features, labels, between)).tags;
}

/** Tags as predictTags gives them, each with its softmax probability (null for a word truncated away). */
export async function predictTagScores(
  tf: Tf,
  model: TaskModel,
  batches: Batch[],
  features: readonly Feature[],
  labels: readonly string[],
  between: () => Promise<void> = async () => {},
): Promise<{tags: string[][]; probabilities: (number | null)[][]}> {
  const tags = new Array<string[]>(features.length);
  const probabilities = new Array<(number | null)[]>(features.length);
  for (const batch of batches) {
    const [best, top] = tf.tidy(() => {
      const probs = tf.softmax(model.logits(batch, false));
      return [tf.argMax(probs, 1).dataSync(), tf.max(probs, 1).dataSync()];
    });
    batch.indices.forEach((fi, b) => {
      const starts = features[fi].wordStarts!;
      tags[fi] = starts.map((start) => (start < 0 ? 'O' : labels[best[b * batch.seqLen + start]]));
      probabilities[fi] = starts.map((start) => (start < 0 ? null : top[b * batch.seqLen + start]));
    });
    await between();
  }
  return {tags, probabilities};
}

/** Span head: each feature's start and end logits over its own positions, in feature order. */
export async function spanLogitsOf(tf: Tf, model: TaskModel, batches: Batch[], features: readonly Feature[], between: () => Promise<void> = async () => {}): Promise<{start: Float32Array[]; end: Float32Array[]}> {
  const start = new Array<Float32Array>(features.length);
  const end = new Array<Float32Array>(features.length);
  for (const batch of batches) {
    const [starts, ends] = tf.tidy(() => {
      const logits = model.spanLogits(batch, false);
      return [logits.start.dataSync() as Float32Array, logits.end.dataSync() as Float32Array];
    });
    batch.indices.forEach((fi, b) => {
      const from = b * batch.seqLen;
      const length = features[fi].inputIds.length;
      start[fi] = starts.slice(from, from + length);
      end[fi] = ends.slice(from, from + length);
    });
    await between();
  }
  return {start, end};
}
