/**
 * Scored predictions: one JSON object per example with what the model predicted and how sure it
 * was. Runs write them beside the official-format prediction files (`<split>_scores.jsonl`, which
 * the official scorers and `ptv2 score` never read), and `ptv2 predict` writes them for new input.
 *
 * - classification: {"id", "label", "probabilities": {label: p}} (softmax over the task's labels)
 * - multiple choice: {"id", "label": index of the choice, "probabilities": [p per choice]}
 * - tagging: {"id", "words", "tags", "probabilities": [p of each predicted tag]} (null for a word truncated away)
 * - QA: {"id", "answer", "score", "start", "end"} — the best span's start + end logit and its
 *   character offsets in the context; answer null (and start/end null) when the model predicts no
 *   answer (SQuAD 2.0, with the task's null threshold), plus "na_prob" where the task has one.
 */
import type {HeadKind} from '../model/model.js';
import type {Evaluation} from './registry.js';
import {writeText} from './conll.js';
import type {ChoiceExample, SpanExample, TaggingExample} from './types.js';

export type ScoredPrediction = Record<string, unknown>;

/** Probabilities rounded to float32's precision, as they were computed. */
const round = (p: number) => Number(p.toPrecision(7));

export function scoredPredictions(head: HeadKind, e: Evaluation): ScoredPrediction[] {
  switch (head) {
    case 'classification':
      return e.examples.map((x, i) => ({id: x.id, label: e.pred[i], probabilities: Object.fromEntries(e.labels.map((label, k) => [label, round(e.probabilities[i][k])]))}));
    case 'choice':
      return (e.examples as readonly ChoiceExample[]).map((x, i) => ({id: x.id, label: Number(e.pred[i]), probabilities: Array.from(e.probabilities[i], round)}));
    case 'token':
      return (e.examples as readonly TaggingExample[]).map((x, i) => ({id: x.id, words: x.words, tags: e.predTags![i], probabilities: e.tagProbabilities?.[i].map((p) => (p === null ? null : round(p))) ?? null}));
    case 'span':
      return (e.examples as readonly SpanExample[]).map((x) => {
        const answer = e.answers![x.id];
        const span = e.spans?.[x.id] ?? null;
        const none = answer === '' && (e.naProbs?.[x.id] !== undefined || span === null);
        return {
          id: x.id,
          answer: none ? null : answer,
          score: span === null ? null : round(span.score),
          start: none || span === null ? null : span.start,
          end: none || span === null ? null : span.end,
          ...(e.naProbs?.[x.id] === undefined ? {} : {na_prob: round(e.naProbs[x.id])}),
        };
      });
  }
}

export function writeScoredPredictions(file: string, head: HeadKind, e: Evaluation): void {
  writeText(file, scoredPredictions(head, e).map((record) => JSON.stringify(record)).join('\n') + '\n');
}

/** Records as JSON lines, or as CSV with one column per field (a column per label for probabilities). */
export function formatPredictions(records: readonly ScoredPrediction[], head: HeadKind, labels: readonly string[], format: 'jsonl' | 'csv'): string {
  if (format === 'jsonl') return records.map((record) => `${JSON.stringify(record)}\n`).join('');
  const columns: [string, (r: ScoredPrediction) => unknown][] = [['id', (r) => r.id]];
  if (head === 'classification') {
    columns.push(['label', (r) => r.label], ...labels.map((label): [string, (r: ScoredPrediction) => unknown] => [`p_${label}`, (r) => (r.probabilities as Record<string, number>)[label]]));
  } else if (head === 'choice') {
    const width = Math.max(0, ...records.map((r) => (r.probabilities as number[]).length));
    columns.push(['label', (r) => r.label], ...Array.from({length: width}, (_, k): [string, (r: ScoredPrediction) => unknown] => [`p_${k}`, (r) => (r.probabilities as number[])[k]]));
  } else if (head === 'token') {
    columns.push(['words', (r) => (r.words as string[]).join(' ')], ['tags', (r) => (r.tags as string[]).join(' ')]);
  } else {
    columns.push(['answer', (r) => r.answer], ['score', (r) => r.score], ['start', (r) => r.start], ['end', (r) => r.end], ['na_prob', (r) => r.na_prob]);
  }
  const rows = [columns.map(([name]) => name), ...records.map((r) => columns.map(([, get]) => get(r)))];
  return rows.map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}

/** RFC 4180: quoted when it holds a comma, quote or line break; null and undefined are empty. */
function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
