/**
 * Extractive QA features on a hand-made WordPiece vocabulary: character → word → token mapping,
 * doc-stride windows that cover every context word, [CLS] labels for answers outside a window and
 * for unanswerable questions, and span decoding back to context text. Positions are worked out by
 * hand from the vocabulary below (BERT template: [CLS] context [SEP] question [SEP]).
 */
import {test, describe} from 'node:test';
import assert from 'node:assert/strict';
import {answerWords, buildSpanFeatures, contextWords, decodeSpans} from '../../src/data/qa-features.js';
import type {SpanExample} from '../../src/data/types.js';
import {buildWordPieceTokenizerJson, tokenizerFromJson} from '../../src/tokenizer/index.js';

const VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
  'ivo', 'sal', '##low', 'enjoys', 'dancing', '.', 'he', 'works', 'at', 'wex', '##ley', 'holdings',
  'where', 'does', 'work', '?',
];
const tokenizer = tokenizerFromJson(buildWordPieceTokenizerJson(VOCAB, {lowercase: true, stripAccents: null}));

// Words: Ivo(0) Sallow(1) enjoys(2) dancing.(3) He(4) works(5) at(6) Wexley(7) Holdings.(8);
// tokens: ivo | sal ##low | enjoys | dancing . | he | works | at | wex ##ley | holdings .
const CONTEXT = 'Ivo Sallow enjoys  dancing. He works at Wexley Holdings.';
const QUESTION = 'Where does he work?';

function example(overrides: Partial<SpanExample> = {}): SpanExample {
  return {
    kind: 'span',
    id: 'q1',
    question: QUESTION,
    context: CONTEXT,
    answers: [{text: 'Wexley Holdings', start: CONTEXT.indexOf('Wexley')}],
    isImpossible: false,
    ...overrides,
  };
}

describe('contextWords and answerWords', () => {
  test('words keep their character offsets across repeated spaces', () => {
    const words = contextWords(CONTEXT);
    assert.deepEqual(words.map((w) => w.text), ['Ivo', 'Sallow', 'enjoys', 'dancing.', 'He', 'works', 'at', 'Wexley', 'Holdings.']);
    for (const w of words) assert.equal(CONTEXT.slice(w.start, w.end), w.text);
    assert.equal(words[3].start, 19);
  });

  const CASES = [
    {name: 'two whole words', input: {start: CONTEXT.indexOf('Wexley'), text: 'Wexley Holdings'}, expected: {start: 7, end: 8}},
    {name: 'inside one word takes the word', input: {start: CONTEXT.indexOf('low'), text: 'low'}, expected: {start: 1, end: 1}},
    {name: 'leading whitespace is skipped', input: {start: 17, text: '  dancing'}, expected: {start: 3, end: 3}},
    {name: 'only whitespace covers no word', input: {start: 17, text: '  '}, expected: null},
  ];
  for (const c of CASES) {
    test(c.name, () => assert.deepEqual(answerWords(contextWords(CONTEXT), c.input.start, c.input.text), c.expected));
  }
});

/** BERT's run_squad.py settings, the config's defaults. */
const WINDOWS = {docStride: 128, maxQueryLength: 64};

describe('buildSpanFeatures', () => {
  test('one window: token positions of every word and the answer span', () => {
    const {features, truncated} = buildSpanFeatures([example()], tokenizer, 64, WINDOWS);
    assert.equal(truncated, 0);
    assert.equal(features.length, 1);
    const [f] = features;
    assert.deepEqual(f.inputIds, [2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 10, 3, 17, 18, 11, 19, 20, 3]);
    assert.deepEqual(f.tokenToWord, [-1, 0, 1, 1, 2, 3, 3, 4, 5, 6, 7, 7, 8, 8, -1, -1, -1, -1, -1, -1, -1]);
    assert.deepEqual([f.spanStart, f.spanEnd], [10, 13]);
    assert.equal(f.example, 0);
  });

  test('doc stride: windows overlap, cover every word, and only the window holding the answer points at it', () => {
    // 16 positions − 5 question tokens − 3 specials leave 8 context tokens per window.
    const {features} = buildSpanFeatures([example()], tokenizer, 16, WINDOWS);
    const windows = features.map((f) => [...new Set(f.tokenToWord!.filter((w) => w >= 0))]);
    assert.deepEqual(windows, [
      [0, 1, 2, 3, 4, 5],
      [3, 4, 5, 6, 7],
      [5, 6, 7, 8],
    ]);
    for (const f of features) assert.ok(f.inputIds.length <= 16);
    assert.deepEqual(features.map((f) => [f.spanStart, f.spanEnd]), [[0, 0], [0, 0], [3, 6]]);
  });

  test('a smaller doc stride starts each window sooner after the last', () => {
    // Word starts (sub-tokens): Ivo 0, Sallow 1 (2 pieces), enjoys 3, dancing. 4 (2), He 6, ...
    // Stride 2: the next window starts at the first word at least 2 sub-tokens on: word 2, then
    // word 4, whose window (He works at Wexley Holdings. = 7 sub-tokens) reaches the end.
    const firsts = (docStride: number) =>
      buildSpanFeatures([example()], tokenizer, 16, {docStride, maxQueryLength: 64}).features.map((f) => f.tokenToWord!.find((w) => w >= 0));
    assert.deepEqual(firsts(2), [0, 2, 4]);
    // The default stride is capped at half a window (4 sub-tokens): words 3 and 5.
    assert.deepEqual(firsts(128), [0, 3, 5]);
  });

  test('max_query_length cuts the question below half the input', () => {
    const {features, truncated} = buildSpanFeatures([example()], tokenizer, 64, {docStride: 128, maxQueryLength: 2});
    assert.equal(truncated, 1);
    // "where does" [SEP]
    assert.deepEqual(features[0].inputIds.slice(-3), [17, 18, 3]);
  });

  test('an unanswerable question points at [CLS] in every window', () => {
    const {features} = buildSpanFeatures([example({answers: [], isImpossible: true})], tokenizer, 16, WINDOWS);
    assert.equal(features.length, 3);
    for (const f of features) assert.deepEqual([f.spanStart, f.spanEnd], [0, 0]);
  });

  test('a question longer than half the input is cut at a word and counted', () => {
    const {features, truncated} = buildSpanFeatures([example({question: 'where does he work where does he work ?'})], tokenizer, 16, WINDOWS);
    assert.equal(truncated, 1);
    // At most 8 question tokens: "where does he work where does he work" (8), "?" dropped.
    assert.deepEqual(features[0].inputIds.slice(-9), [17, 18, 11, 19, 17, 18, 11, 19, 3]);
  });
});

describe('decodeSpans', () => {
  const examples = [example()];
  const set = buildSpanFeatures(examples, tokenizer, 16, WINDOWS);
  const logits = (length: number, peaks: Record<number, number>) => {
    const out = new Float32Array(length);
    for (const [p, v] of Object.entries(peaks)) out[Number(p)] = v;
    return out;
  };
  const lengths = set.features.map((f) => f.inputIds.length);

  test('the best span over all windows maps back to the context text', () => {
    const starts = [logits(lengths[0], {0: 1, 1: 2}), logits(lengths[1], {0: 1}), logits(lengths[2], {0: 1, 3: 5})];
    const ends = [logits(lengths[0], {0: 1, 1: 2}), logits(lengths[1], {0: 1}), logits(lengths[2], {0: 1, 6: 4})];
    const v1 = decodeSpans(examples, set, starts, ends, {allowNull: false, maxAnswerLength: 30, nBest: 20});
    // The span's score is start + end logit (5 + 4); its offsets cut the answer from the context.
    assert.deepEqual(v1, {answers: {q1: 'Wexley Holdings.'}, naProbs: {}, spans: {q1: {score: 9, start: 40, end: 56}}});
    assert.equal(examples[0].context.slice(40, 56), 'Wexley Holdings.');
    const v2 = decodeSpans(examples, set, starts, ends, {allowNull: true, maxAnswerLength: 30, nBest: 20});
    assert.equal(v2.answers.q1, 'Wexley Holdings.');
    // null = 2 (lowest start[0] + end[0]), best = 9.
    assert.ok(Math.abs(v2.naProbs.q1 - 1 / (1 + Math.exp(7))) < 1e-12);
  });

  test('SQuAD 2.0 answers "" when the null score beats every span', () => {
    const starts = set.features.map((_, i) => logits(lengths[i], {0: 6, 1: 1}));
    const ends = set.features.map((_, i) => logits(lengths[i], {0: 6, 1: 1}));
    const v2 = decodeSpans(examples, set, starts, ends, {allowNull: true, maxAnswerLength: 30, nBest: 20});
    assert.equal(v2.answers.q1, '');
    assert.ok(Math.abs(v2.naProbs.q1 - 1 / (1 + Math.exp(-10))) < 1e-12);
    const v1 = decodeSpans(examples, set, starts, ends, {allowNull: true, nullThreshold: 0, maxAnswerLength: 30, nBest: 20});
    assert.equal(v1.answers.q1, '');
    const noNull = decodeSpans(examples, set, starts, ends, {allowNull: false, maxAnswerLength: 30, nBest: 20});
    assert.equal(noNull.answers.q1, 'Ivo');
  });

  test('the null threshold: "" only when the null score beats the best span by more than it', () => {
    // Null score 12 (6 + 6), best span 2 (1 + 1): a margin of 10.
    const starts = set.features.map((_, i) => logits(lengths[i], {0: 6, 1: 1}));
    const ends = set.features.map((_, i) => logits(lengths[i], {0: 6, 1: 1}));
    const decode = (nullThreshold: number) => decodeSpans(examples, set, starts, ends, {allowNull: true, nullThreshold, maxAnswerLength: 30, nBest: 20}).answers.q1;
    assert.equal(decode(9.5), '');
    assert.equal(decode(10.5), 'Ivo');
  });
});
