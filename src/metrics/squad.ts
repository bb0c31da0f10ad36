/**
 * Extractive QA scores equal to the official SQuAD scripts: `evaluate-v1.1.py` (exact_match, f1)
 * and `evaluate-v2.0.py` (exact, f1, HasAns_/NoAns_ splits, best no-answer thresholds).
 *
 * Answers are normalised as the scripts do: lower-case, drop ASCII punctuation, drop the words
 * a / an / the (word boundaries in the Unicode sense of Python's `re`), split on what Python's
 * `str.split()` calls whitespace. Sums run in dataset order so the floating-point results match.
 *
 * Reference: rajpurkar.github.io/SQuAD-explorer (evaluate-v1.1.py, evaluate-v2.0.py).
 */

import type {SpanExample} from '../data/types.js';
import {UserError} from '../errors.js';

/** Python's `string.punctuation`. */
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
/** `\b(a|an|the)\b` with Python's Unicode word characters (letters, numbers, underscore). */
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
/** The characters Python's `str.isspace()` accepts, the separators \x1c-\x1f among them. */
// eslint-disable-next-line no-control-regex -- those separators are whitespace to Python
const WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

function tokens(normalized: string): string[] {
  return normalized.split(WHITESPACE).filter((token) => token !== '');
}

export function normalizeAnswer(s: string): string {
  return tokens(s.toLowerCase().replace(PUNCTUATION, '').replace(ARTICLES, ' ')).join(' ');
}

export function exactMatch(pred: string, gold: string): number {
  return normalizeAnswer(pred) === normalizeAnswer(gold) ? 1 : 0;
}

/**
 * Bag-of-tokens F1. `bothEmpty` is the score when neither side has a token: 1 in v2.0 (a correct
 * no-answer), 0 in v1.1, whose f1_score has no such case.
 */
function overlapF1(pred: string, gold: string, bothEmpty: number): number {
  const predTokens = tokens(normalizeAnswer(pred));
  const goldTokens = tokens(normalizeAnswer(gold));
  if (predTokens.length === 0 || goldTokens.length === 0) {
    return predTokens.length === 0 && goldTokens.length === 0 ? bothEmpty : 0;
  }
  const goldCounts = new Map<string, number>();
  for (const token of goldTokens) goldCounts.set(token, (goldCounts.get(token) ?? 0) + 1);
  let same = 0;
  for (const token of predTokens) {
    const left = goldCounts.get(token) ?? 0;
    if (left > 0) {
      same++;
      goldCounts.set(token, left - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / predTokens.length;
  const recall = same / goldTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/** evaluate-v2.0.py's compute_f1: an empty answer scores 1 against an empty gold, else 0. */
export function tokenF1(pred: string, gold: string): number {
  return overlapF1(pred, gold, 1);
}

function maxOver(golds: readonly string[], scoreOf: (gold: string) => number): number {
  return Math.max(...golds.map(scoreOf));
}

function percentOf(sum: number, total: number): number {
  return total > 0 ? (100 * sum) / total : 0;
}

/** evaluate-v1.1.py: best score over the gold answers; a question without prediction scores 0. */
export function squadV1(
  dataset: readonly SpanExample[],
  preds: Readonly<Record<string, string>>,
): {exact_match: number; f1: number} {
  let exact = 0;
  let f1 = 0;
  for (const example of dataset) {
    if (!Object.hasOwn(preds, example.id)) continue;
    const golds = example.answers.map((answer) => answer.text);
    if (golds.length === 0) {
      throw new Error(`question ${example.id} has no gold answer; SQuAD 2.0 data is scored by squadV2`);
    }
    const pred = preds[example.id];
    exact += maxOver(golds, (gold) => exactMatch(pred, gold));
    f1 += maxOver(golds, (gold) => overlapF1(pred, gold, 0));
  }
  return {exact_match: percentOf(exact, dataset.length), f1: percentOf(f1, dataset.length)};
}

interface Question {
  id: string;
  hasAnswer: boolean;
  pred: string;
  exact: number;
  f1: number;
}

function scoreQuestions(
  dataset: readonly SpanExample[],
  preds: Readonly<Record<string, string>>,
): Map<string, Question> {
  const missing = dataset.filter((example) => !Object.hasOwn(preds, example.id));
  if (missing.length > 0) {
    const ids = missing.slice(0, 5).map((example) => example.id).join(', ');
    throw new UserError(
      `no prediction for ${missing.length} question(s) (${ids}${missing.length > 5 ? ', …' : ''}); ` +
        'SQuAD 2.0 scoring needs an answer, possibly "", for every question',
      {field: 'predictions'},
    );
  }
  const questions = new Map<string, Question>();
  for (const example of dataset) {
    const answered = example.answers
      .map((answer) => answer.text)
      .filter((text) => normalizeAnswer(text) !== '');
    // An unanswerable question's only right answer is the empty string.
    const golds = answered.length > 0 ? answered : [''];
    const pred = preds[example.id];
    questions.set(example.id, {
      id: example.id,
      hasAnswer: example.answers.length > 0,
      pred,
      exact: maxOver(golds, (gold) => exactMatch(pred, gold)),
      f1: maxOver(golds, (gold) => tokenF1(pred, gold)),
    });
  }
  return questions;
}

/** Adds `<prefix>exact`, `<prefix>f1`, `<prefix>total` over the given questions. */
function addSplit(
  out: Record<string, number>,
  prefix: string,
  questions: readonly Question[],
  scoreOf: (question: Question, metric: 'exact' | 'f1') => number,
): void {
  let exact = 0;
  let f1 = 0;
  for (const question of questions) {
    exact += scoreOf(question, 'exact');
    f1 += scoreOf(question, 'f1');
  }
  out[`${prefix}exact`] = percentOf(exact, questions.length);
  out[`${prefix}f1`] = percentOf(f1, questions.length);
  out[`${prefix}total`] = questions.length;
}

/**
 * evaluate-v2.0.py's find_best_thresh: start from answering nothing, then answer questions in
 * rising no-answer probability and keep the best running total and the probability it stopped at.
 */
function findBestThreshold(
  questions: ReadonlyMap<string, Question>,
  naProbs: Readonly<Record<string, number>>,
  metric: 'exact' | 'f1',
): {score: number; threshold: number} {
  let current = [...questions.values()].filter((question) => !question.hasAnswer).length;
  let best = current;
  let threshold = 0;
  // A stable sort, so ties keep the key order as the script keeps the file order (JavaScript
  // objects list integer-like keys first, the one way the two can differ).
  const byProbability = Object.keys(naProbs).sort((a, b) => naProbs[a] - naProbs[b]);
  for (const id of byProbability) {
    const question = questions.get(id);
    if (question === undefined) continue;
    if (question.hasAnswer) current += question[metric];
    else if (question.pred !== '') current -= 1;
    if (current > best) {
      best = current;
      threshold = naProbs[id];
    }
  }
  return {score: percentOf(best, questions.size), threshold};
}

/**
 * evaluate-v2.0.py. A question whose no-answer probability exceeds naProbThresh counts as
 * answered with "". Keys come in the script's order; HasAns_/NoAns_ only when that split is
 * non-empty, best_* only when naProbs is given.
 */
export function squadV2(
  dataset: readonly SpanExample[],
  preds: Readonly<Record<string, string>>,
  naProbs?: Readonly<Record<string, number>>,
  naProbThresh = 1.0,
): Record<string, number> {
  const questions = scoreQuestions(dataset, preds);
  if (naProbs !== undefined) {
    const missing = [...questions.keys()].filter((id) => !Object.hasOwn(naProbs, id));
    if (missing.length > 0) {
      throw new UserError(
        `no no-answer probability for ${missing.length} question(s) (${missing.slice(0, 5).join(', ')})`,
        {field: 'naProbs'},
      );
    }
  }
  const thresholded = (question: Question, metric: 'exact' | 'f1'): number =>
    (naProbs?.[question.id] ?? 0) > naProbThresh ? Number(!question.hasAnswer) : question[metric];

  const all = [...questions.values()];
  const out: Record<string, number> = {};
  addSplit(out, '', all, thresholded);
  const answerable = all.filter((question) => question.hasAnswer);
  const unanswerable = all.filter((question) => !question.hasAnswer);
  if (answerable.length > 0) addSplit(out, 'HasAns_', answerable, thresholded);
  if (unanswerable.length > 0) addSplit(out, 'NoAns_', unanswerable, thresholded);
  if (naProbs !== undefined) {
    const exact = findBestThreshold(questions, naProbs, 'exact');
    const f1 = findBestThreshold(questions, naProbs, 'f1');
    out.best_exact = exact.score;
    out.best_exact_thresh = exact.threshold;
    out.best_f1 = f1.score;
    out.best_f1_thresh = f1.threshold;
  }
  return out;
}
