/**
 * Model outputs → predictions, batch by batch, in feature order: argmax labels with their
 * probabilities (classification, multiple choice), a tag per word (tagging), and per-position
 * start/end logits (extractive QA, decoded by data/qa-features.ts). Each batch's tensors live
 * inside one tf.tidy. `between` runs after every batch: the caller yields to the event loop there
 * (and stops when asked), so a long evaluation stays responsive to Ctrl-C.
 */
import type {Tf} from '../compute/backend.js';
import type {Batch, Feature} from '../data/features.js';
import type {TaskModel} from '../model/model.js';

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
  const out = new Array<string[]>(features.length);
  for (const batch of batches) {
    const best = tf.tidy(() => tf.argMax(model.logits(batch, false), 1).dataSync());
    batch.indices.forEach((fi, b) => {
      out[fi] = features[fi].wordStarts!.map((start) => (start < 0 ? 'O' : labels[best[b * batch.seqLen + start]]));
    });
    await between();
  }
  return out;
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
