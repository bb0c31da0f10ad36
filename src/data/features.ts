/**
 * Examples → token features → padded batches. Batches are padded only to their own longest
 * example (dynamic padding) and, for training, drawn from length buckets so that little compute
 * goes to padding. Truncation is counted, never silent.
 */
import type {EncoderBatch} from '../model/encoder.js';
import type {PtTokenizer} from '../tokenizer/index.js';
import {UserError} from '../errors.js';
import {shuffled, type Rng} from '../random.js';
import type {ChoiceExample, PairExample, TaggingExample} from './types.js';

export interface Feature {
  inputIds: number[];
  tokenTypeIds: number[];
  /** Tagging: per token, the tag index on each word's first sub-token, -1 elsewhere. */
  tokenLabels?: number[];
  /** Tagging: position of each word's first sub-token, -1 when truncated away. */
  wordStarts?: number[];
  /** Multiple choice: one encoded (context, choice) row per choice; inputIds/tokenTypeIds are then empty. */
  choices?: {inputIds: number[]; tokenTypeIds: number[]}[];
  /** Extractive QA: the context word at each position, -1 outside the context. */
  tokenToWord?: number[];
  /** Extractive QA: gold answer start and end positions (inclusive), 0 = [CLS] for no answer here. */
  spanStart?: number;
  spanEnd?: number;
  /** Label index, or -1 when the example has no label. */
  label: number;
  /** Index of the example this feature came from. */
  example: number;
}

export interface FeatureSet {
  features: Feature[];
  truncated: number;
  /**
   * Tagging dev/test files: gold tags the training file never has, with their counts. The model
   * cannot predict them, so their entities count as missed; they are reported, not refused.
   */
  unseenTags?: Record<string, number>;
}

export interface Batch extends EncoderBatch {
  /** One label per feature (example), not per encoder row. */
  labels: Int32Array;
  /** Encoder rows per feature: 1, or the number of choices. */
  choices: number;
  /** Tagging: per token of every row (batch·seqLen), the tag index or -1. */
  tokenLabels?: Int32Array;
  /** Extractive QA: gold start/end per row, and per token 1 where an answer may start or end. */
  spanStarts?: Int32Array;
  spanEnds?: Int32Array;
  candidates?: Float32Array;
  /** Feature indices in this batch, in order. */
  indices: number[];
}

/** Tokenise pair examples; an unknown label is an error naming the example's file line. */
export function buildPairFeatures(
  examples: readonly PairExample[],
  tokenizer: PtTokenizer,
  labels: readonly string[],
  maxLength: number,
  file?: string,
  labelField = 'label',
): FeatureSet {
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  let truncated = 0;
  const features = examples.map((ex, i) => {
    const enc = tokenizer.encode(ex.textA, ex.textB, maxLength);
    if (enc.truncated) truncated++;
    let label = -1;
    if (ex.label !== null) {
      const found = labelIndex.get(ex.label);
      if (found === undefined) {
        throw new UserError(`unknown label "${ex.label}"; expected one of ${labels.join(', ')}`, {file, line: ex.line, field: labelField});
      }
      label = found;
    }
    return {inputIds: enc.inputIds, tokenTypeIds: enc.tokenTypeIds, label, example: i};
  });
  return {features, truncated};
}

/** Tokenise multiple-choice examples: one (context, choice) row per choice, label = the right choice. */
export function buildChoiceFeatures(examples: readonly ChoiceExample[], tokenizer: PtTokenizer, maxLength: number): FeatureSet {
  let truncated = 0;
  const features = examples.map((ex, i) => {
    const choices = ex.choices.map((choice) => {
      const enc = tokenizer.encode(ex.context, choice, maxLength);
      if (enc.truncated) truncated++;
      return {inputIds: enc.inputIds, tokenTypeIds: enc.tokenTypeIds};
    });
    const longest = choices.reduce((a, c) => (c.inputIds.length > a.length ? c.inputIds : a), [] as number[]);
    // inputIds carries the longest row so that length bucketing sees the real size.
    return {inputIds: longest, tokenTypeIds: [], choices, label: ex.label ?? -1, example: i};
  });
  return {features, truncated};
}

/**
 * Tokenise tagging examples word by word: the first sub-token of each word carries its tag, the
 * rest are ignored. SRL examples get their predicate word as a second segment. A tag outside
 * `tags` is refused, or (`unseen: 'count'`, for dev and test files) counted and left unlabelled.
 */
export function buildTaggingFeatures(
  examples: readonly TaggingExample[],
  tokenizer: PtTokenizer,
  tags: readonly string[],
  maxLength: number,
  file?: string,
  unseen: 'refuse' | 'count' = 'refuse',
): FeatureSet {
  const tagIndex = new Map(tags.map((t, i) => [t, i]));
  let truncated = 0;
  const unseenTags: Record<string, number> = {};
  const features = examples.map((ex, i) => {
    const predicate = ex.predicateIndex === undefined ? undefined : ex.words[ex.predicateIndex];
    const enc = tokenizer.encodeWords(ex.words, maxLength, predicate);
    if (enc.truncated) truncated++;
    const tokenLabels = enc.inputIds.map(() => -1);
    enc.wordStarts.forEach((start, w) => {
      if (start < 0 || ex.tags === null) return;
      const tag = tagIndex.get(ex.tags[w]);
      if (tag === undefined) {
        if (unseen === 'refuse') throw new UserError(`unknown tag "${ex.tags[w]}" (not in the training file's tag set)`, {file, line: ex.line, field: `tags[${w}]`});
        unseenTags[ex.tags[w]] = (unseenTags[ex.tags[w]] ?? 0) + 1;
        return;
      }
      tokenLabels[start] = tag;
    });
    return {inputIds: enc.inputIds, tokenTypeIds: enc.tokenTypeIds, tokenLabels, wordStarts: enc.wordStarts, label: -1, example: i};
  });
  return Object.keys(unseenTags).length > 0 ? {features, truncated, unseenTags} : {features, truncated};
}

/** Pad the given features into one batch. */
export function collate(features: readonly Feature[], indices: number[], padId: number): Batch {
  const rowsOf = (f: Feature) => f.choices ?? [f];
  const choices = rowsOf(features[indices[0]]).length;
  const rows = indices.flatMap((i) => rowsOf(features[i]));
  const seqLen = Math.max(...rows.map((r) => r.inputIds.length));
  const batch = rows.length;
  const inputIds = new Int32Array(batch * seqLen).fill(padId);
  const tokenTypeIds = new Int32Array(batch * seqLen);
  const attentionMask = new Float32Array(batch * seqLen);
  rows.forEach((r, b) => {
    inputIds.set(r.inputIds, b * seqLen);
    tokenTypeIds.set(r.tokenTypeIds, b * seqLen);
    attentionMask.fill(1, b * seqLen, b * seqLen + r.inputIds.length);
  });
  const labels = Int32Array.from(indices, (i) => features[i].label);
  let tokenLabels: Int32Array | undefined;
  if (features[indices[0]].tokenLabels) {
    tokenLabels = new Int32Array(batch * seqLen).fill(-1);
    indices.forEach((fi, b) => tokenLabels!.set(features[fi].tokenLabels!, b * seqLen));
  }
  const out: Batch = {batch, seqLen, inputIds, tokenTypeIds, attentionMask, labels, indices, choices, tokenLabels};
  if (features[indices[0]].tokenToWord) {
    out.spanStarts = Int32Array.from(indices, (i) => features[i].spanStart ?? 0);
    out.spanEnds = Int32Array.from(indices, (i) => features[i].spanEnd ?? 0);
    // [CLS] and the context tokens; the question, specials and padding stay 0.
    const candidates = new Float32Array(batch * seqLen);
    indices.forEach((fi, b) => features[fi].tokenToWord!.forEach((w, p) => {
      if (w >= 0 || p === 0) candidates[b * seqLen + p] = 1;
    }));
    out.candidates = candidates;
  }
  return out;
}

/**
 * Training batches for one epoch: shuffle, cut into buckets of 50 batches, sort each bucket by
 * length, batch, then shuffle the batch order.
 */
export function trainingBatches(features: readonly Feature[], batchSize: number, padId: number, rng: Rng): Batch[] {
  const order = shuffled(
    features.map((_, i) => i),
    rng,
  );
  const bucketSize = batchSize * 50;
  const groups: number[][] = [];
  for (let start = 0; start < order.length; start += bucketSize) {
    const bucket = order.slice(start, start + bucketSize).sort((a, b) => features[a].inputIds.length - features[b].inputIds.length);
    for (let i = 0; i < bucket.length; i += batchSize) groups.push(bucket.slice(i, i + batchSize));
  }
  return shuffled(groups, rng).map((g) => collate(features, g, padId));
}

/** Evaluation batches: sorted by length for least padding; `indices` map results back. */
export function evaluationBatches(features: readonly Feature[], batchSize: number, padId: number): Batch[] {
  const order = features.map((_, i) => i).sort((a, b) => features[a].inputIds.length - features[b].inputIds.length);
  const batches: Batch[] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(collate(features, order.slice(i, i + batchSize), padId));
  return batches;
}
