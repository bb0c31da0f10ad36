/**
 * Byte-level BPE vocabularies for RoBERTa checkpoints ptv2 creates itself, written as the
 * `vocab.json` + `merges.txt` pair transformers' RobertaTokenizer saves.
 *
 * - Symbols: GPT-2's byte-to-unicode table (Radford et al. 2019, openai/gpt-2 `encoder.py`
 *   `bytes_to_unicode`), so every byte is one printable character and no text is ever unknown.
 * - Ids: RoBERTa's `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, then the 256 byte symbols in byte
 *   order, then one token per learned merge, and `<mask>` last, as in roberta-base.
 * - Merges: a small deterministic BPE training (Sennrich et al. 2016) on a word list, each word
 *   counted once and seen as in running text, after a space (`Ġ` in the byte alphabet).
 */

/** The `merges.txt` header GPT-2 and RoBERTa ship and the tokenizer loader skips. */
export const MERGES_HEADER = '#version: 0.2';
export const ROBERTA_LEADING_SPECIALS = ['<s>', '<pad>', '</s>', '<unk>'] as const;
export const ROBERTA_MASK = '<mask>';
/** Specials and the byte alphabet: the smallest vocabulary that can spell any text. */
export const MIN_BPE_VOCAB_SIZE = ROBERTA_LEADING_SPECIALS.length + 256 + 1;

export interface ByteLevelBpeVocab {
  /** Token of each id. */
  tokens: string[];
  /** Merges by priority, each `[left, right]`. */
  merges: Array<[string, string]>;
}

/**
 * GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves; the others (controls,
 * space, soft hyphen, …) take the characters from U+0100 on, in byte order — so space is `Ġ`.
 */
export function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  return Array.from({length: 256}, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

/** The inverse of `bytesToUnicode`. */
export function unicodeToBytes(): Map<string, number> {
  return new Map(bytesToUnicode().map((symbol, b) => [symbol, b]));
}

/** A string's UTF-8 bytes, each as its byte-level symbol. */
export function byteSymbols(text: string): string[] {
  const table = bytesToUnicode();
  return [...new TextEncoder().encode(text)].map((b) => table[b]);
}

function compareCodePoints(a: string, b: string): number {
  const [x, y] = [[...a], [...b]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** The most frequent adjacent pair (each word counted `weights[w]` times, default once); ties go to the smallest (left, right) by code point. */
function mostFrequentPair(words: string[][], weights?: readonly number[]): {pair: [string, string]; count: number} | undefined {
  const counts = new Map<string, {pair: [string, string]; count: number}>();
  for (const [w, symbols] of words.entries()) {
    const weight = weights?.[w] ?? 1;
    for (let i = 0; i + 1 < symbols.length; i++) {
      // A NUL cannot occur inside a symbol (it is mapped to Ā), so it separates the halves safely.
      const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
      const entry = counts.get(key);
      if (entry) entry.count += weight;
      else counts.set(key, {pair: [symbols[i], symbols[i + 1]], count: weight});
    }
  }
  let best: {pair: [string, string]; count: number} | undefined;
  for (const entry of counts.values()) {
    const better = best === undefined || entry.count > best.count
      || (entry.count === best.count && (compareCodePoints(entry.pair[0], best.pair[0]) || compareCodePoints(entry.pair[1], best.pair[1])) < 0);
    if (better) best = entry;
  }
  return best;
}

/** `symbols` with every non-overlapping (left, right), scanned left to right, fused. */
function applyMerge(symbols: string[], [left, right]: [string, string]): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      out.push(left + right);
      i++;
    } else {
      out.push(symbols[i]);
    }
  }
  return out;
}

/**
 * Learns merges on `words` (as `Ġword`, or as given with `prefixSpace: false`; each weighted 1, or
 * by `counts`) until the vocabulary holds `size` tokens
 * or no pair occurs twice. Same words ⇒ same vocabulary. `size` below MIN_BPE_VOCAB_SIZE is the
 * caller's error to report; here it simply means no merges.
 */
export function buildByteLevelBpeVocab(
  words: readonly string[],
  size = Infinity,
  opts: {prefixSpace?: boolean; counts?: ReadonlyMap<string, number>} = {},
): ByteLevelBpeVocab {
  const tokens: string[] = [...ROBERTA_LEADING_SPECIALS, ...bytesToUnicode()];
  const known = new Set(tokens);
  const merges: Array<[string, string]> = [];
  // prefixSpace false: the words are pre-tokenised pieces that carry their own leading space (or none).
  const spaced = opts.prefixSpace ?? true;
  const distinct = [...new Set(words)].sort();
  // With counts, pairs are counted over the text (as BPE trainers do), so frequent words merge whole first.
  const weights = opts.counts ? distinct.map((word) => opts.counts!.get(word) ?? 1) : undefined;
  let corpus = distinct.map((word) => byteSymbols(spaced ? ` ${word}` : word));
  while (tokens.length + 1 < size) {
    const best = mostFrequentPair(corpus, weights);
    if (best === undefined || best.count < 2) break;
    merges.push(best.pair);
    // Two merges can spell the same token ("ab"+"c", "a"+"bc"); it keeps its first id.
    const merged = best.pair.join('');
    if (!known.has(merged)) {
      known.add(merged);
      tokens.push(merged);
    }
    corpus = corpus.map((symbols) => applyMerge(symbols, best.pair));
  }
  tokens.push(ROBERTA_MASK);
  return {tokens, merges};
}

/**
 * A cased byte-level BPE as RoBERTa's is trained: merges counted over the text's pre-tokenised
 * pieces (`counts`, each with its own leading space or none), so frequent words and names become
 * single tokens. What ptv2's created RoBERTa checkpoints use (over `worldPieces()`).
 */
export function buildCasedBpeVocab(counts: ReadonlyMap<string, number>, size = Infinity): ByteLevelBpeVocab {
  return buildByteLevelBpeVocab([...counts.keys()], size, {prefixSpace: false, counts});
}

/**
 * vocab.json as transformers' RobertaTokenizer.save_vocabulary writes it: Python's
 * `json.dumps(encoder, indent=2, sort_keys=True, ensure_ascii=False)` plus a newline. Built by hand
 * because a JS object would list integer-like keys ("0", "10") first.
 */
export function vocabJsonText(vocab: ByteLevelBpeVocab): string {
  const entries = vocab.tokens.map((token, id) => [token, id] as const).sort(([a], [b]) => compareCodePoints(a, b));
  return `{\n${entries.map(([token, id]) => `  ${JSON.stringify(token)}: ${id}`).join(',\n')}\n}\n`;
}

/** merges.txt as RobertaTokenizer writes it: the version header, then `left right` by priority. */
export function mergesText(vocab: ByteLevelBpeVocab): string {
  return [MERGES_HEADER, ...vocab.merges.map((pair) => pair.join(' '))].map((line) => `${line}\n`).join('');
}
