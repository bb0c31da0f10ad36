/**
 * Extractive QA (SQuAD 1.1 / 2.0): examples → windowed token features with start/end labels, and
 * start/end logits → one answer text (and, for 2.0, a no-answer probability) per question.
 *
 * Contexts are split into whitespace words that keep their character offsets, so an answer's
 * character span maps to words and a predicted token span maps back to a slice of the original
 * context. Each window is encoded with the model's own pair template as (context words, question),
 * so the context's sub-tokens sit at known positions for any model family. Long contexts become
 * several overlapping windows (doc stride, as in BERT's run_squad.py); a window that does not hold
 * the whole answer, and an unanswerable question, point both labels at position 0 ([CLS]).
 *
 * References: Devlin et al. (2019) §4.2–4.3; HF transformers' `prepare_train_features` and
 * `postprocess_qa_predictions` (question-answering examples).
 */
import type {PtTokenizer} from '../tokenizer/index.js';
import {bestSpan} from '../model/task-heads.js';
import type {Feature, FeatureSet} from './features.js';
import type {SpanExample} from './types.js';

export interface ContextWord {
  text: string;
  /** Character offsets in the context, end exclusive. */
  start: number;
  end: number;
}

/** The whitespace-separated words of a context with their character offsets. */
export function contextWords(context: string): ContextWord[] {
  return [...context.matchAll(/\S+/g)].map((m) => ({text: m[0], start: m.index, end: m.index + m[0].length}));
}

/**
 * The words (inclusive) an answer's characters fall in; null when the answer covers no word.
 * An answer that begins or ends inside a word takes the whole word.
 */
export function answerWords(words: readonly ContextWord[], charStart: number, text: string): {start: number; end: number} | null {
  const charEnd = charStart + text.length;
  let start = -1;
  let end = -1;
  words.forEach((w, i) => {
    if (w.end > charStart && w.start < charEnd) {
      if (start < 0) start = i;
      end = i;
    }
  });
  return start < 0 ? null : {start, end};
}

/** How contexts are cut into windows (the task's `qa:` config; defaults are BERT's run_squad.py). */
export interface SpanWindows {
  /** Largest step between window starts, in sub-tokens; capped at half a window so windows overlap. */
  docStride: number;
  /** Longest question kept, in sub-tokens, at most half the input; longer ones count as truncated. */
  maxQueryLength: number;
}

export interface SpanFeatureSet extends FeatureSet {
  /** Per example, its context's words (the same for every window of that example). */
  words: ContextWord[][];
}

/** The question cut at word boundaries to at most `limit` sub-tokens. */
function truncatedQuestion(question: string, tokenizer: PtTokenizer, limit: number): {text: string; truncated: boolean} {
  if (tokenizer.tokenize(question).length <= limit) return {text: question, truncated: false};
  const words = question.split(/\s+/).filter((w) => w.length > 0);
  let kept = 0;
  while (kept < words.length && tokenizer.tokenize(words.slice(0, kept + 1).join(' ')).length <= limit) kept++;
  return {text: words.slice(0, kept).join(' '), truncated: true};
}

/**
 * One feature per window of each example. `tokenToWord` maps every position to its context word
 * (−1 outside the context); `spanStart`/`spanEnd` are the gold token positions or 0 ([CLS]).
 * `truncated` counts questions cut to fit and context words too long for any window.
 */
export function buildSpanFeatures(
  examples: readonly SpanExample[],
  tokenizer: PtTokenizer,
  maxLength: number,
  windows: SpanWindows,
): SpanFeatureSet {
  let truncated = 0;
  const features: Feature[] = [];
  const allWords: ContextWord[][] = [];
  examples.forEach((ex, exampleIndex) => {
    const words = contextWords(ex.context);
    allWords.push(words);
    const question = truncatedQuestion(ex.question, tokenizer, Math.min(windows.maxQueryLength, Math.floor(maxLength / 2)));
    if (question.truncated) truncated++;
    const gold = ex.isImpossible || ex.answers.length === 0 ? null : answerWords(words, ex.answers[0].start, ex.answers[0].text);
    let start = 0;
    while (start < words.length) {
      // Every word takes at least one position, so no more than maxLength words can fit.
      const candidates = words.slice(start, start + maxLength).map((w) => w.text);
      const enc = tokenizer.encodeWords(candidates, maxLength, question.text);
      const kept = enc.wordStarts.filter((s) => s >= 0).length;
      if (kept === 0) {
        // A single word longer than the whole window: it cannot be placed, so skip it.
        truncated++;
        start++;
        continue;
      }
      // Sub-tokens of word k end where word k+1 begins; the last kept word's count is its own.
      const lastPieces = Math.max(1, tokenizer.tokenize(kept === 1 ? candidates[0] : ` ${candidates[kept - 1]}`).length);
      const wordEnd = (k: number) => (k + 1 < kept ? enc.wordStarts[k + 1] - 1 : enc.wordStarts[k] + lastPieces - 1);
      const tokenToWord = enc.inputIds.map(() => -1);
      for (let k = 0; k < kept; k++) for (let p = enc.wordStarts[k]; p <= wordEnd(k); p++) tokenToWord[p] = start + k;
      let spanStart = 0;
      let spanEnd = 0;
      if (gold && gold.start >= start && gold.end < start + kept) {
        spanStart = enc.wordStarts[gold.start - start];
        spanEnd = wordEnd(gold.end - start);
      }
      features.push({inputIds: enc.inputIds, tokenTypeIds: enc.tokenTypeIds, tokenToWord, spanStart, spanEnd, label: -1, example: exampleIndex});
      if (start + kept >= words.length) break;
      const windowTokens = wordEnd(kept - 1) - enc.wordStarts[0] + 1;
      const stride = Math.min(windows.docStride, Math.max(1, Math.floor(windowTokens / 2)));
      let next = 1;
      while (next < kept && enc.wordStarts[next] - enc.wordStarts[0] < stride) next++;
      start += next;
    }
  });
  return {features, truncated, words: allWords};
}

export interface SpanDecodeOptions {
  /** SQuAD 2.0: predict "" when the no-answer score beats the best span by more than nullThreshold. */
  allowNull: boolean;
  nullThreshold?: number;
  maxAnswerLength: number;
  nBest: number;
}


export interface SpanPredictions {
  /** Question id → answer text ("" = no answer). */
  answers: Record<string, string>;
  /** Question id → sigmoid(null score − best span score); only with allowNull. */
  naProbs: Record<string, number>;
  /** Question id → the best span (start + end logit, character offsets in the context), null when none was found. */
  spans: Record<string, {score: number; start: number; end: number} | null>;
}

/**
 * Per example, the best span over all its windows, as a slice of its context. The no-answer score
 * is the lowest start[0] + end[0] over the windows (as in HF's post-processing).
 * `startLogits[f]`/`endLogits[f]` are feature f's logits over its own positions.
 */
export function decodeSpans(
  examples: readonly SpanExample[],
  set: SpanFeatureSet,
  startLogits: readonly Float32Array[],
  endLogits: readonly Float32Array[],
  options: SpanDecodeOptions,
): SpanPredictions {
  const best = examples.map(() => ({score: -Infinity, text: '', nullScore: Infinity, start: 0, end: 0}));
  set.features.forEach((feature, f) => {
    const toWord = feature.tokenToWord!;
    const contextStart = toWord.findIndex((w) => w >= 0);
    if (contextStart < 0) return;
    let contextEnd = contextStart;
    while (contextEnd + 1 < toWord.length && toWord[contextEnd + 1] >= 0) contextEnd++;
    const found = bestSpan(startLogits[f], endLogits[f], {...options, contextStart, contextEnd, nullScore: true});
    const current = best[feature.example];
    current.nullScore = Math.min(current.nullScore, found.nullScore!);
    const top = found.spans[0];
    if (top && top.score > current.score) {
      const words = set.words[feature.example];
      const context = examples[feature.example].context;
      current.score = top.score;
      current.start = words[toWord[top.start]].start;
      current.end = words[toWord[top.end]].end;
      current.text = context.slice(current.start, current.end);
    }
  });
  const answers: Record<string, string> = {};
  const naProbs: Record<string, number> = {};
  const spans: SpanPredictions['spans'] = {};
  examples.forEach((ex, i) => {
    const {score, text, nullScore, start, end} = best[i];
    spans[ex.id] = score === -Infinity ? null : {score, start, end};
    if (!options.allowNull) {
      answers[ex.id] = text;
      return;
    }
    const margin = nullScore - score;
    answers[ex.id] = score === -Infinity || margin > (options.nullThreshold ?? 0) ? '' : text;
    naProbs[ex.id] = score === -Infinity ? 1 : 1 / (1 + Math.exp(-margin));
  });
  return {answers, naProbs, spans};
}
