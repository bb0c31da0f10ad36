/**
 * WordPiece vocabularies for checkpoints ptv2 creates itself: BERT's five special tokens, every
 * single character the words use (alone and as `##` continuation, so no word is ever [UNK]),
 * the whole words, then `[unusedN]` fillers up to the requested size, as BERT's vocab.txt has.
 */

export const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

export function buildWordPieceVocab(words: readonly string[], size?: number): string[] {
  const chars = new Set<string>();
  for (const w of words) for (const c of w) chars.add(c);
  for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789.,;:!?\'"()-') chars.add(c);
  const sortedChars = [...chars].sort();
  const tokens = [...BERT_SPECIALS, ...sortedChars, ...sortedChars.map((c) => `##${c}`)];
  const seen = new Set(tokens);
  for (const w of [...words].sort()) {
    if (!seen.has(w)) {
      seen.add(w);
      tokens.push(w);
    }
  }
  if (size === undefined) return tokens;
  if (size < tokens.length) return tokens.slice(0, size);
  for (let i = 0; tokens.length < size; i++) tokens.push(`[unused${i}]`);
  return tokens;
}
