/**
 * The tokenizer of a HuggingFace-format checkpoint directory, as ptv2 uses it. Files are looked
 * for in the order transformers' AutoTokenizer prefers them: tokenizer.json (the fast tokenizer,
 * with tokenizer_config.json), else a BERT vocab.txt, else RoBERTa's vocab.json + merges.txt; the
 * last two are turned into the tokenizer.json HF's slow-to-fast conversion would produce.
 * Everything user-fixable (missing or malformed files, absent special tokens) is a UserError
 * naming the file.
 */

import fs from 'node:fs';
import path from 'node:path';
import {readText} from '../data/text-file.js';
import {UserError} from '../errors.js';
import {createPtTokenizer, type PtTokenizer} from './pt-tokenizer.js';
import {
  BERT_SPECIAL_TOKENS,
  ROBERTA_SPECIAL_TOKENS,
  buildByteLevelBpeTokenizerJson,
  buildWordPieceTokenizerJson,
  requireTokens,
  withLowercase,
  type PipelineStep,
} from './tokenizer-json.js';

export {tokenizerFromJson, truncateLongestFirst} from './pt-tokenizer.js';
export type {EncodedInput, PtTokenizer, WordAlignedInput} from './pt-tokenizer.js';
export {buildByteLevelBpeTokenizerJson, buildWordPieceTokenizerJson} from './tokenizer-json.js';

export interface LoadTokenizerOptions {
  /** Forces lower-casing on or off, whatever the checkpoint's files say. */
  lowercase?: boolean;
}

type JsonObject = Record<string, unknown>;

function readJsonObject(file: string): JsonObject {
  const text = readText(file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UserError(`not valid JSON: ${(error as Error).message}`, {file});
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UserError('expected a JSON object', {file});
  }
  return parsed as JsonObject;
}

/** Lines of a text file, without the empty line after a final newline. */
function readLines(file: string): string[] {
  const lines = readText(file).split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** merges.txt: an optional `#version` header, then one `left right` merge per line, by priority. */
function readMerges(file: string): string[] {
  const merges: string[] = [];
  readLines(file).forEach((line, index) => {
    if (line.trim() === '' || (index === 0 && line.startsWith('#version'))) return;
    if (line.split(' ').length !== 2) {
      throw new UserError(`expected two symbols separated by one space, got "${line}"`, {file, line: index + 1});
    }
    merges.push(line);
  });
  return merges;
}

function readVocabJson(file: string): Record<string, number> {
  const vocab = readJsonObject(file);
  const bad = Object.entries(vocab).find(([, id]) => !Number.isInteger(id) || (id as number) < 0);
  if (bad) throw new UserError(`token ids must be non-negative integers, got ${JSON.stringify(bad[1])}`, {file, field: bad[0]});
  return vocab as Record<string, number>;
}

function relowercased(json: JsonObject, lowercase: boolean | undefined): JsonObject {
  if (lowercase === undefined) return json;
  return {...json, normalizer: withLowercase((json.normalizer as PipelineStep | null | undefined) ?? null, lowercase)};
}

interface TokenizerDocument {
  json: JsonObject;
  /** The file errors about this tokenizer should name. */
  file: string;
}

interface TokenizerSource {
  /** Files that must all be in the checkpoint directory. */
  files: string[];
  read(dir: string, config: JsonObject, lowercase: boolean | undefined): TokenizerDocument;
}

/** In order of preference. */
const TOKENIZER_SOURCES: readonly TokenizerSource[] = [
  {
    files: ['tokenizer.json'],
    read(dir, _config, lowercase) {
      const file = path.join(dir, 'tokenizer.json');
      return {json: relowercased(readJsonObject(file), lowercase), file};
    },
  },
  {
    files: ['vocab.txt'],
    read(dir, config, lowercase) {
      const file = path.join(dir, 'vocab.txt');
      const vocab = readLines(file);
      requireTokens(new Map(vocab.map((token, id) => [token, id])), BERT_SPECIAL_TOKENS, file);
      const stripAccents = typeof config.strip_accents === 'boolean' ? config.strip_accents : null;
      const json = buildWordPieceTokenizerJson(vocab, {lowercase: lowercase ?? true, stripAccents}) as JsonObject;
      return {json, file};
    },
  },
  {
    files: ['vocab.json', 'merges.txt'],
    read(dir, _config, lowercase) {
      const file = path.join(dir, 'vocab.json');
      const vocab = readVocabJson(file);
      requireTokens(new Map(Object.entries(vocab)), ROBERTA_SPECIAL_TOKENS, file);
      const merges = readMerges(path.join(dir, 'merges.txt'));
      return {json: relowercased(buildByteLevelBpeTokenizerJson(vocab, merges) as JsonObject, lowercase), file};
    },
  },
];

/** The tokenizer of the checkpoint in `checkpointDir` (see the header for which files it reads). */
export function loadTokenizer(checkpointDir: string, options: LoadTokenizerOptions = {}): PtTokenizer {
  if (!fs.existsSync(checkpointDir)) {
    throw new UserError('checkpoint directory does not exist', {file: checkpointDir});
  }
  const configFile = path.join(checkpointDir, 'tokenizer_config.json');
  const config = fs.existsSync(configFile) ? readJsonObject(configFile) : {};
  const configLowercase = typeof config.do_lower_case === 'boolean' ? config.do_lower_case : undefined;
  const lowercase = options.lowercase ?? configLowercase;

  const source = TOKENIZER_SOURCES.find((s) => s.files.every((f) => fs.existsSync(path.join(checkpointDir, f))));
  if (source === undefined && fs.existsSync(path.join(checkpointDir, 'spm.model'))) {
    throw new UserError('only a SentencePiece spm.model here: ptv2 reads DeBERTa\'s tokenizer from tokenizer.json', {file: path.join(checkpointDir, 'spm.model')}, [
      `write tokenizer.json once with transformers (Python): AutoTokenizer.from_pretrained("${checkpointDir}").save_pretrained("${checkpointDir}")`,
    ]);
  }
  if (source === undefined) {
    const lookedFor = TOKENIZER_SOURCES.map((s) => s.files.join(' + ')).join(', or ');
    throw new UserError(`no tokenizer found: looked for ${lookedFor}`, {file: checkpointDir}, [
      'point at a HuggingFace checkpoint directory that includes its tokenizer files',
    ]);
  }
  const {json, file} = source.read(checkpointDir, config, lowercase);
  return createPtTokenizer(json, config, file);
}
