/**
 * ptv2's view of a tokenizer: ids, token types and word alignment at a length budget, over a
 * @huggingface/tokenizers `Tokenizer` that does the text work (normalise, pre-tokenise,
 * WordPiece/BPE, the special-token template, decoding). What is written here is what the library
 * lacks: longest-first pair truncation (as HF's `truncation="longest_first"`), word-aligned
 * encoding for NER/SRL (as HF's `is_split_into_words` + `word_ids()`), and naming the model's
 * special tokens.
 */

import {Tokenizer} from '@huggingface/tokenizers';
import {UserError} from '../errors.js';
import {requireTokens, withRobertaTypes, type PipelineStep} from './tokenizer-json.js';

export interface EncodedInput {
  inputIds: number[];
  tokenTypeIds: number[];
  truncated: boolean;
}

export interface WordAlignedInput extends EncodedInput {
  /** For each word, the position (in inputIds) of its first sub-token, or -1 if truncated away. */
  wordStarts: number[];
}

export interface PtTokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly unkId: number;
  readonly maskId: number;
  /** Special tokens of the model (for BERT [CLS]/[SEP]/..., for RoBERTa <s>/</s>/...). */
  readonly clsToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly unkToken: string;
  readonly maskToken: string;
  /** Sub-tokens, no specials. */
  tokenize(text: string): string[];
  /**
   * Single text or pair with the model's template ([CLS] A [SEP] B [SEP], token types 0/1),
   * truncated longest-first so the total incl. specials is <= maxLength.
   */
  encode(textA: string, textB: string | undefined, maxLength: number): EncodedInput;
  /**
   * Pre-split words (NER/SRL): each word tokenised alone, first sub-token recorded; optional
   * second segment (e.g. the SRL predicate); truncation drops words from the end of the first
   * segment.
   */
  encodeWords(words: string[], maxLength: number, textB?: string): WordAlignedInput;
  decode(ids: number[]): string;
}

type SpecialRole = 'cls' | 'sep' | 'pad' | 'unk' | 'mask';
type SpecialTokens = Record<SpecialRole, string>;

const SPECIAL_ROLES: readonly SpecialRole[] = ['cls', 'sep', 'pad', 'unk', 'mask'];

/** Special-token spellings by model family; a tokenizer_config.json `<role>_token` overrides them. */
const SPECIAL_TOKEN_CONVENTIONS = new Map<string, SpecialTokens>([
  ['BERT', {cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', unk: '[UNK]', mask: '[MASK]'}],
  ['RoBERTa', {cls: '<s>', sep: '</s>', pad: '<pad>', unk: '<unk>', mask: '<mask>'}],
]);

/** tokenizer_config.json writes a special token as a string or as an AddedToken object. */
function configuredToken(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as {content?: unknown}).content === 'string') {
    return (value as {content: string}).content;
  }
  return undefined;
}

function resolveSpecialTokens(vocab: ReadonlyMap<string, number>, config: Record<string, unknown>): SpecialTokens {
  const conventions = [...SPECIAL_TOKEN_CONVENTIONS.values()];
  const convention = conventions.find((c) => vocab.has(c.cls) && vocab.has(c.sep)) ?? conventions[0];
  const entries = SPECIAL_ROLES.map((role) => [role, configuredToken(config[`${role}_token`]) ?? convention[role]]);
  return Object.fromEntries(entries) as SpecialTokens;
}

/** Kept lengths of (A, B) after HF's longest_first: one token at a time off the longer, B on ties. */
export function truncateLongestFirst(lengthA: number, lengthB: number, budget: number): [number, number] {
  let [a, b] = [lengthA, lengthB];
  while (a + b > budget) {
    if (a > b) a--;
    else b--;
  }
  return [a, b];
}

/** Stands in for segment A to find where the template puts it; no tokenizer produces it. */
const SEGMENT_MARKER = '\u0000segment-a\u0000';

interface Templated {
  tokens: string[];
  typeIds: number[];
}

class LibraryTokenizer implements PtTokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly unkId: number;
  readonly maskId: number;
  readonly clsToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly unkToken: string;
  readonly maskToken: string;
  private readonly specialsSingle: number;
  private readonly specialsPair: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    specials: SpecialTokens,
    vocab: ReadonlyMap<string, number>,
  ) {
    let maxId = -1;
    for (const id of vocab.values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const idOf = (token: string) => vocab.get(token) as number;
    [this.clsToken, this.sepToken, this.padToken, this.unkToken, this.maskToken] = [
      specials.cls, specials.sep, specials.pad, specials.unk, specials.mask,
    ];
    [this.clsId, this.sepId, this.padId, this.unkId, this.maskId] = [
      idOf(specials.cls), idOf(specials.sep), idOf(specials.pad), idOf(specials.unk), idOf(specials.mask),
    ];
    this.specialsSingle = this.template([], undefined).tokens.length;
    this.specialsPair = this.template([], []).tokens.length;
  }

  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(text, {add_special_tokens: false});
  }

  encode(textA: string, textB: string | undefined, maxLength: number): EncodedInput {
    const a = this.tokenize(textA);
    const b = textB === undefined ? undefined : this.tokenize(textB);
    const budget = this.contentBudget(maxLength, b !== undefined);
    const [keepA, keepB] = truncateLongestFirst(a.length, b?.length ?? 0, budget);
    const truncated = keepA < a.length || keepB < (b?.length ?? 0);
    return {...this.toIds(this.template(a.slice(0, keepA), b?.slice(0, keepB))), truncated};
  }

  encodeWords(words: string[], maxLength: number, textB?: string): WordAlignedInput {
    // Words after the first carry the space that separated them in running text, so byte-level
    // BPE sees `Ġword` as in pre-training (BERT's pre-tokenizer drops the space). A word that
    // tokenises to nothing (a stray control character) becomes unknown so its label keeps a slot.
    const pieces = words.map((word, i) => {
      const tokens = this.tokenize(i === 0 ? word : ` ${word}`);
      return tokens.length > 0 ? tokens : [this.unkToken];
    });
    let b = textB === undefined ? undefined : this.tokenize(textB);
    const budget = this.contentBudget(maxLength, b !== undefined);
    let truncated = false;
    if (b !== undefined && b.length > budget) {
      b = b.slice(0, budget);
      truncated = true;
    }
    let room = budget - (b?.length ?? 0);
    let kept = 0;
    while (kept < pieces.length && pieces[kept].length <= room) room -= pieces[kept++].length;
    truncated ||= kept < pieces.length;

    let position = this.template([SEGMENT_MARKER], b).tokens.indexOf(SEGMENT_MARKER);
    const wordStarts = pieces.map((wordPieces, i) => {
      if (i >= kept) return -1;
      const start = position;
      position += wordPieces.length;
      return start;
    });
    const encoded = this.toIds(this.template(pieces.slice(0, kept).flat(), b));
    return {...encoded, truncated, wordStarts};
  }

  decode(ids: number[]): string {
    return ids.length === 0 ? '' : this.tokenizer.decode(ids);
  }

  private contentBudget(maxLength: number, pair: boolean): number {
    const specials = pair ? this.specialsPair : this.specialsSingle;
    if (maxLength < specials) {
      throw new UserError(`max length ${maxLength} is shorter than the ${specials} special tokens the model adds`, {}, [
        `raise the max length to at least ${specials + 1}`,
      ]);
    }
    return maxLength - specials;
  }

  /** The library's post-processor applied to already-truncated segments. */
  private template(a: string[], b: string[] | undefined): Templated {
    const postProcessor = this.tokenizer.post_processor;
    if (postProcessor === null) {
      // HF's default without a post-processor: segments concatenated, B typed 1.
      const bTokens = b ?? [];
      return {tokens: [...a, ...bTokens], typeIds: [...a.map(() => 0), ...bTokens.map(() => 1)]};
    }
    const out = postProcessor(a, b ?? null, true);
    // A bare ByteLevel post-processor hands the pair back unjoined.
    const tokens = out.tokens_pair ? [...out.tokens, ...out.tokens_pair] : out.tokens;
    return {tokens, typeIds: out.token_type_ids ?? tokens.map(() => 0)};
  }

  private toIds({tokens, typeIds}: Templated): Omit<EncodedInput, 'truncated'> {
    return {inputIds: tokens.map((token) => this.tokenizer.token_to_id(token) ?? this.unkId), tokenTypeIds: typeIds};
  }
}

/**
 * A PtTokenizer over a tokenizer.json document (and its tokenizer_config.json); `source` names the
 * file the document came from, for error messages.
 */
export function createPtTokenizer(json: object, config: Record<string, unknown> = {}, source?: string): PtTokenizer {
  const document: Record<string, unknown> = {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    added_tokens: [],
    ...json,
  };
  document.post_processor = withRobertaTypes(document.post_processor as PipelineStep | null);
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(document, config);
  } catch (error) {
    throw new UserError(`cannot build the tokenizer: ${(error as Error).message}`, {file: source});
  }
  const vocab = tokenizer.get_vocab(true);
  const specials = resolveSpecialTokens(vocab, config);
  requireTokens(vocab, SPECIAL_ROLES.map((role) => specials[role]), source);
  return new LibraryTokenizer(tokenizer, specials, vocab);
}

/** A PtTokenizer over an in-memory tokenizer.json (and optional tokenizer_config.json contents). */
export function tokenizerFromJson(json: object, config?: object): PtTokenizer {
  return createPtTokenizer(json, (config ?? {}) as Record<string, unknown>);
}
