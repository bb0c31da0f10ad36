/**
 * SentencePiece-style Unigram tokenizers for DeBERTa checkpoints ptv2 creates itself, written as
 * the tokenizer.json transformers' DebertaV2TokenizerFast saves (a Unigram model behind a
 * Metaspace pre-tokenizer, `[CLS] A [SEP] B [SEP]` with token types 0 then 1).
 *
 * Not a trained SentencePiece model: a construction that covers ptv2's sample world.
 * - Ids: DeBERTa-v3's `[PAD]`=0, `[CLS]`=1, `[SEP]`=2, `[UNK]`=3, then `▁` and every single
 *   character, then each word of the world as one `▁word` piece, and `[MASK]` last (as in v3).
 * - Scores (log-probabilities): a word −log(number of words); a character well below that, so the
 *   Viterbi segmentation keeps every known word whole and spells anything else character by
 *   character (nothing but characters outside the set is ever `[UNK]`).
 * - Normaliser: NFD, accents stripped, lower-cased, as the world's words are (DeBERTa-v3 itself
 *   is cased; this vocabulary has no upper-case words to match).
 */

import {bertTemplate} from '../tokenizer/tokenizer-json.js';
import type {TokenizerJsonVocab} from './checkpoint.js';

export const DEBERTA_LEADING_SPECIALS = ['[PAD]', '[CLS]', '[SEP]', '[UNK]'] as const;
export const DEBERTA_MASK = '[MASK]';
const METASPACE = '▁';
const BASIC_CHARACTERS = 'abcdefghijklmnopqrstuvwxyz0123456789.,;:!?\'"()-';

/** The smallest vocabulary `buildUnigramVocab` can make from `words`: specials, `▁` and the characters. */
export function minUnigramVocabSize(words: readonly string[]): number {
  return DEBERTA_LEADING_SPECIALS.length + 1 + characterSet(words).length + 1;
}

function characterSet(words: readonly string[]): string[] {
  const chars = new Set<string>(BASIC_CHARACTERS);
  for (const word of words) for (const c of word) chars.add(c);
  return [...chars].sort();
}

/** Pieces with their scores, by id, and the tokenizer.json over them; at most `size` tokens. */
export function buildUnigramVocab(words: readonly string[], size?: number): TokenizerJsonVocab {
  const chars = characterSet(words);
  const uniqueWords = [...new Set(words)].filter((w) => [...w].length > 1).sort();
  const wordScore = -Math.log(Math.max(uniqueWords.length, 1));
  const charScore = wordScore - 10;
  const pieces: [string, number][] = [
    ...DEBERTA_LEADING_SPECIALS.map((t): [string, number] => [t, 0]),
    [METASPACE, charScore],
    ...chars.map((c): [string, number] => [c, charScore]),
  ];
  const room = size === undefined ? Infinity : size - pieces.length - 1;
  if (room < 0) throw new RangeError(`a Unigram vocabulary needs at least ${pieces.length + 1} tokens, got ${size}`);
  for (const word of uniqueWords.slice(0, room)) pieces.push([`${METASPACE}${word}`, wordScore]);
  pieces.push([DEBERTA_MASK, 0]);

  const idOf = (token: string) => pieces.findIndex(([piece]) => piece === token);
  const specials = [...DEBERTA_LEADING_SPECIALS, DEBERTA_MASK];
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((token) => ({id: idOf(token), content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true})),
    normalizer: {type: 'Sequence', normalizers: [{type: 'NFD'}, {type: 'StripAccents'}, {type: 'Lowercase'}]},
    pre_tokenizer: {type: 'Sequence', pretokenizers: [{type: 'WhitespaceSplit'}, {type: 'Metaspace', replacement: METASPACE, prepend_scheme: 'always', split: true}]},
    post_processor: bertTemplate('[CLS]', idOf('[CLS]'), '[SEP]', idOf('[SEP]')),
    decoder: {type: 'Metaspace', replacement: METASPACE, prepend_scheme: 'always', split: true},
    model: {type: 'Unigram', unk_id: idOf('[UNK]'), vocab: pieces, byte_fallback: false},
  };
  return {tokens: pieces.map(([piece]) => piece), tokenizerJson};
}
