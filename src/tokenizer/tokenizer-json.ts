/**
 * In-memory tokenizer.json documents for checkpoints that ship only the files of a "slow"
 * tokenizer, so @huggingface/tokenizers can run them:
 *   - vocab.txt (BERT): the WordPiece pipeline HF's BertTokenizerFast conversion builds
 *     (transformers `convert_slow_tokenizer.BertConverter`);
 *   - vocab.json + merges.txt (RoBERTa): byte-level BPE as in `RobertaConverter`.
 * Also the rewrites applied to any tokenizer.json before it is run: the lower-casing override and
 * RoBERTa's segment template. Pure functions over plain JSON.
 * Reference: the tokenizer.json format, https://huggingface.co/docs/tokenizers/api/
 */

import {UserError} from '../errors.js';

/** One step of a tokenizer.json pipeline (normalizer, post-processor, ...). */
export interface PipelineStep {
  type: string;
  [key: string]: unknown;
}

export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export const ROBERTA_SPECIAL_TOKENS = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'] as const;

/** Throws naming the first of `tokens` that `vocab` lacks; `file` is where the vocabulary came from. */
export function requireTokens(vocab: ReadonlyMap<string, number>, tokens: readonly string[], file?: string): void {
  const missing = tokens.find((token) => !vocab.has(token));
  if (missing !== undefined) {
    throw new UserError(`the vocabulary has no special token ${missing}`, {file}, [
      `add ${missing} to the vocabulary, or use a checkpoint whose tokenizer defines it`,
    ]);
  }
}

function idOf(vocab: ReadonlyMap<string, number>, token: string): number {
  const id = vocab.get(token);
  if (id === undefined) throw new Error(`${token} vanished from a checked vocabulary`);
  return id;
}

function specialAddedTokens(vocab: ReadonlyMap<string, number>, candidates: readonly string[], lstrip: ReadonlySet<string>) {
  return candidates
    .filter((token) => vocab.has(token))
    .map((token) => ({
      id: idOf(vocab, token),
      content: token,
      single_word: false,
      lstrip: lstrip.has(token),
      rstrip: false,
      normalized: false,
      special: true,
    }));
}

const special = (token: string, typeId: number) => ({SpecialToken: {id: token, type_id: typeId}});
const sequence = (id: 'A' | 'B', typeId: number) => ({Sequence: {id, type_id: typeId}});
const specialEntry = (token: string, id: number) => [token, {id: token, ids: [id], tokens: [token]}] as const;

/** `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with token types 0 then 1, as BERT was pre-trained. */
export function bertTemplate(cls: string, clsId: number, sep: string, sepId: number): PipelineStep {
  return {
    type: 'TemplateProcessing',
    single: [special(cls, 0), sequence('A', 0), special(sep, 0)],
    pair: [special(cls, 0), sequence('A', 0), special(sep, 0), sequence('B', 1), special(sep, 1)],
    special_tokens: Object.fromEntries([specialEntry(cls, clsId), specialEntry(sep, sepId)]),
  };
}

/**
 * `<s> A </s>` / `<s> A </s></s> B </s>` with every token type 0: RoBERTa has a single token-type
 * embedding, so the type 1 the library's RobertaProcessing gives the second segment would index
 * past it.
 */
export function robertaTemplate(cls: string, clsId: number, sep: string, sepId: number): PipelineStep {
  return {
    type: 'TemplateProcessing',
    single: [special(cls, 0), sequence('A', 0), special(sep, 0)],
    pair: [special(cls, 0), sequence('A', 0), special(sep, 0), special(sep, 0), sequence('B', 0), special(sep, 0)],
    special_tokens: Object.fromEntries([specialEntry(cls, clsId), specialEntry(sep, sepId)]),
  };
}

export interface WordPieceOptions {
  lowercase: boolean;
  /** null follows HF: accents are stripped exactly when lower-casing. */
  stripAccents: boolean | null;
  handleChineseChars?: boolean;
}

/** tokenizer.json for a BERT vocab.txt (one token per line, the line index is the id). */
export function buildWordPieceTokenizerJson(vocab: string[], opts: WordPieceOptions): object {
  const ids = new Map(vocab.map((token, id) => [token, id]));
  requireTokens(ids, ['[UNK]', '[CLS]', '[SEP]']);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialAddedTokens(ids, BERT_SPECIAL_TOKENS, new Set()),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: opts.handleChineseChars ?? true,
      strip_accents: opts.stripAccents,
      lowercase: opts.lowercase,
    },
    pre_tokenizer: {type: 'BertPreTokenizer'},
    post_processor: bertTemplate('[CLS]', idOf(ids, '[CLS]'), '[SEP]', idOf(ids, '[SEP]')),
    decoder: {type: 'WordPiece', prefix: '##', cleanup: true},
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(ids),
    },
  };
}

/**
 * tokenizer.json for RoBERTa's vocab.json + merges.txt (merges as `left right` lines, header
 * already removed). `<unk>` is kept as the model's unknown token so a piece missing from a
 * reduced vocabulary shows up instead of vanishing.
 */
export function buildByteLevelBpeTokenizerJson(vocab: Record<string, number>, merges: string[]): object {
  const ids = new Map(Object.entries(vocab));
  requireTokens(ids, ['<s>', '</s>']);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    // RoBERTa's <mask> swallows the space before it, so `a <mask>` predicts the word with its space.
    added_tokens: specialAddedTokens(ids, ROBERTA_SPECIAL_TOKENS, new Set(['<mask>'])),
    normalizer: null,
    pre_tokenizer: {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true},
    post_processor: robertaTemplate('<s>', idOf(ids, '<s>'), '</s>', idOf(ids, '</s>')),
    decoder: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true},
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: ids.has('<unk>') ? '<unk>' : null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

const LOWERCASE: PipelineStep = {type: 'Lowercase'};

function lowercases(step: PipelineStep): boolean {
  return step.type === 'Lowercase' || (step.type === 'BertNormalizer' && step.lowercase === true);
}

/** How each normalizer type is switched to lower-casing or not; other types get a Lowercase after them. */
const LOWERCASE_REWRITES = new Map<string, (step: PipelineStep, lowercase: boolean) => PipelineStep | null>([
  ['BertNormalizer', (step, lowercase) => ({...step, lowercase})],
  ['Lowercase', (step, lowercase) => (lowercase ? step : null)],
  [
    'Sequence',
    (step, lowercase) => {
      const steps = (step.normalizers as PipelineStep[]) ?? [];
      if (lowercase) return steps.some(lowercases) ? step : {...step, normalizers: [...steps, LOWERCASE]};
      return {...step, normalizers: steps.map((s) => withLowercase(s, false)).filter((s) => s !== null)};
    },
  ],
]);

/** The normalizer with lower-casing forced on or off, leaving everything else it does alone. */
export function withLowercase(normalizer: PipelineStep | null, lowercase: boolean): PipelineStep | null {
  if (normalizer === null) return lowercase ? LOWERCASE : null;
  const rewrite = LOWERCASE_REWRITES.get(normalizer.type);
  if (rewrite) return rewrite(normalizer, lowercase);
  return lowercase ? {type: 'Sequence', normalizers: [normalizer, LOWERCASE]} : normalizer;
}

/**
 * RobertaProcessing (also inside a Sequence) replaced by its all-type-0 template (see
 * `robertaTemplate`); other post-processors unchanged.
 */
export function withRobertaTypes(postProcessor: PipelineStep | null): PipelineStep | null {
  if (postProcessor?.type === 'Sequence') {
    const steps = (postProcessor.processors as PipelineStep[]) ?? [];
    return {...postProcessor, processors: steps.map(withRobertaTypes)};
  }
  if (postProcessor?.type !== 'RobertaProcessing') return postProcessor;
  const [cls, clsId] = postProcessor.cls as [string, number];
  const [sep, sepId] = postProcessor.sep as [string, number];
  return robertaTemplate(cls, clsId, sep, sepId);
}
