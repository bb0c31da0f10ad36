/**
 * CoNLL column files for NER: one token per line, blank lines between sentences, `-DOCSTART-`
 * lines skipped. Covers CoNLL-2003 (`word POS chunk NER`), OntoNotes 5.0 exports (token first,
 * tag last) and CoNLL04. Columns are tab-separated when a line has a tab (so tokens may hold
 * spaces), otherwise space-separated.
 *
 * Prediction files follow conlleval's convention: the token first and the predicted tag in the
 * LAST column, so the output of any system that keeps the gold tokens can be scored here.
 *
 * References: CoNLL-2003 shared task data format (Tjong Kim Sang & De Meulder, 2003);
 * conlleval.pl (CoNLL-2000) for the prediction file layout.
 */

import fs from 'node:fs';
import path from 'node:path';

import {UserError} from '../errors.js';
import {readText} from './text-file.js';
import type {TaggingExample} from './types.js';

export interface ConllColumns {
  /** Column holding the word, 0-based; 0 by default. */
  tokenColumn?: number;
  /**
   * Column holding the gold tag, 0-based; negative counts from the end (-1, the default, is the
   * last column). null reads an unlabelled file (tags: null).
   */
  tagColumn?: number | null;
  /**
   * Test files: a file whose lines have no tag column (e.g. tokens only) reads as unlabelled
   * (tags: null) instead of failing. A file that tags some lines and not others still fails.
   */
  tagsOptional?: boolean;
}

export interface ConllPredictions {
  /** The gold sentences, as readConll returns them. */
  examples: TaggingExample[];
  /** Predicted tags, one array per gold sentence, aligned word by word. */
  predicted: string[][];
}

const DOCUMENT_START = '-DOCSTART-';

interface Row {
  fields: string[];
  line: number;
}

interface Sentence {
  rows: Row[];
  /** 1-based line of the first token. */
  line: number;
}

/**
 * The lines of a UTF-8 text file (BOM dropped, CRLF accepted). Shared by the line-based readers;
 * an unreadable file is the user's to fix.
 */
export function readLines(file: string): string[] {
  return readText(file).split(/\r?\n/);
}

/** Writes a text file, creating its directory. */
export function writeText(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(file), {recursive: true});
    fs.writeFileSync(file, text, 'utf8');
  } catch (error) {
    throw new UserError(`cannot write file: ${(error as Error).message}`, {file});
  }
}

function splitColumns(line: string): string[] {
  const trimmed = line.replace(/^[ \t]+|[ \t]+$/g, '');
  return trimmed.includes('\t') ? trimmed.split('\t') : trimmed.split(/ +/);
}

function parseSentences(lines: readonly string[]): Sentence[] {
  const sentences: Sentence[] = [];
  let rows: Row[] = [];
  const flush = (): void => {
    if (rows.length > 0) sentences.push({rows, line: rows[0].line});
    rows = [];
  };
  lines.forEach((text, index) => {
    if (/^[ \t]*$/.test(text)) {
      flush();
      return;
    }
    const fields = splitColumns(text);
    if (fields[0] === DOCUMENT_START) {
      flush();
      return;
    }
    rows.push({fields, line: index + 1});
  });
  flush();
  return sentences;
}

function resolveColumn(column: number, count: number): number {
  return column < 0 ? count + column : column;
}

function describeColumn(column: number): string {
  if (column === -1) return 'the last column';
  return column < 0 ? `column ${-column} from the end` : `column ${column + 1}`;
}

function pickToken(file: string, row: Row, tokenColumn: number): string {
  if (tokenColumn >= row.fields.length) {
    throw new UserError(
      `expected a token in column ${tokenColumn + 1}, found ${row.fields.length} column(s)`,
      {file, line: row.line, field: 'token'},
    );
  }
  return row.fields[tokenColumn];
}

function pickTag(file: string, row: Row, tokenColumn: number, tagColumn: number): string {
  const index = resolveColumn(tagColumn, row.fields.length);
  if (index < 0 || index >= row.fields.length || index === tokenColumn) {
    throw new UserError(
      `expected a token in column ${tokenColumn + 1} and a tag in ${describeColumn(tagColumn)}, ` +
        `found ${row.fields.length} column(s)`,
      {file, line: row.line, field: 'tag'},
    );
  }
  return row.fields[index];
}

function hasTag(row: Row, tokenColumn: number, tagColumn: number): boolean {
  const index = resolveColumn(tagColumn, row.fields.length);
  return index >= 0 && index < row.fields.length && index !== tokenColumn;
}

/** Reads a CoNLL NER file; tags are kept as written (IOB1 or IOB2, see iob1ToIob2). */
export function readConll(file: string, opts: ConllColumns = {}): TaggingExample[] {
  const tokenColumn = opts.tokenColumn ?? 0;
  let tagColumn = opts.tagColumn === undefined ? -1 : opts.tagColumn;
  const sentences = parseSentences(readLines(file));
  if (opts.tagsOptional && tagColumn !== null) {
    const column = tagColumn;
    const rows = sentences.flatMap((sentence) => sentence.rows);
    const tagged = rows.filter((row) => hasTag(row, tokenColumn, column));
    if (tagged.length === 0) tagColumn = null;
    else if (tagged.length < rows.length) {
      const untagged = rows.find((row) => !hasTag(row, tokenColumn, column))!;
      throw new UserError(
        `no tag in ${describeColumn(column)} here, but line ${tagged[0].line} has one; a file is either tagged on every line or on none`,
        {file, line: untagged.line, field: 'tag'},
      );
    }
  }
  return sentences.map((sentence, index) => ({
    kind: 'tagging',
    id: index,
    words: sentence.rows.map((row) => pickToken(file, row, tokenColumn)),
    tags:
      tagColumn === null
        ? null
        : sentence.rows.map((row) => pickTag(file, row, tokenColumn, tagColumn)),
    line: sentence.line,
  }));
}

function entityType(tag: string): string | null {
  const dash = tag.indexOf('-');
  return dash < 0 ? null : tag.slice(dash + 1);
}

/**
 * IOB1 (CoNLL-2003 as released: `I-` opens an entity, `B-` only separates two adjacent entities
 * of one type) to IOB2 (every entity opens with `B-`).
 */
export function iob1ToIob2(tags: readonly string[]): string[] {
  return tags.map((tag, index) => {
    if (!tag.startsWith('I-')) return tag;
    const previous = index === 0 ? 'O' : tags[index - 1];
    const continues = previous !== 'O' && entityType(previous) === entityType(tag);
    return continues ? tag : `B-${tag.slice(2)}`;
  });
}

/**
 * The label list of a tagging task: 'O' first (always present, so the outside tag keeps index 0
 * whatever the data), then the other tags sorted.
 */
export function collectTagSet(examples: readonly TaggingExample[]): string[] {
  const tags = new Set<string>();
  for (const example of examples) for (const tag of example.tags ?? []) tags.add(tag);
  tags.delete('O');
  return ['O', ...[...tags].sort()];
}

function checkAligned(examples: readonly TaggingExample[], predicted: readonly string[][]): void {
  if (predicted.length !== examples.length) {
    throw new Error(`${predicted.length} predicted sequences for ${examples.length} examples`);
  }
  examples.forEach((example, index) => {
    if (predicted[index].length !== example.words.length) {
      throw new Error(
        `example ${example.id}: ${predicted[index].length} predicted tags for ` +
          `${example.words.length} words`,
      );
    }
  });
}

/**
 * Writes `token [gold] predicted` per line, blank line between sentences (conlleval's input).
 * Tab-separated when a token holds a space, so the file reads back unchanged.
 */
export function writeConllPredictions(
  file: string,
  examples: readonly TaggingExample[],
  predictedTags: readonly string[][],
): void {
  checkAligned(examples, predictedTags);
  const separator = examples.some((example) => example.words.some((word) => / /.test(word)))
    ? '\t'
    : ' ';
  const blocks = examples.map((example, index) =>
    example.words
      .map((word, position) => {
        const gold = example.tags === null ? [] : [example.tags[position]];
        return [word, ...gold, predictedTags[index][position]].join(separator);
      })
      .join('\n'),
  );
  writeText(file, blocks.map((block) => `${block}\n`).join('\n'));
}

/**
 * Reads the predicted tags (last column) of a file that repeats the gold file's tokens sentence
 * by sentence. Blank and `-DOCSTART-` lines may differ; tokens and sentence lengths may not.
 */
export function readConllPredictions(
  goldFile: string,
  predFile: string,
  opts: ConllColumns = {},
): ConllPredictions {
  const examples = readConll(goldFile, opts);
  const tokenColumn = opts.tokenColumn ?? 0;
  const predLines = readLines(predFile);
  const predSentences = parseSentences(predLines);
  const lastLine = predLines.length - (predLines.at(-1) === '' ? 1 : 0);

  if (predSentences.length > examples.length) {
    throw new UserError(
      `sentence ${examples.length + 1} goes beyond the ${examples.length} sentences of ${goldFile}`,
      {file: predFile, line: predSentences[examples.length].line},
    );
  }
  const predicted = examples.map((example, index) => {
    const sentence = predSentences.at(index);
    if (sentence === undefined) {
      throw new UserError(
        `file ends after ${predSentences.length} sentences but ${goldFile} has ` +
          `${examples.length}; the next gold sentence is at ${goldFile}:${example.line}`,
        {file: predFile, line: lastLine},
      );
    }
    return alignSentence(example, sentence, {goldFile, predFile, tokenColumn});
  });
  return {examples, predicted};
}

function alignSentence(
  example: TaggingExample,
  sentence: Sentence,
  where: {goldFile: string; predFile: string; tokenColumn: number},
): string[] {
  const {goldFile, predFile, tokenColumn} = where;
  const goldAt = `the gold sentence at ${goldFile}:${example.line}`;
  const {rows} = sentence;
  if (rows.length > example.words.length) {
    const extra = rows[example.words.length];
    throw new UserError(
      `extra token "${extra.fields[tokenColumn] ?? extra.fields[0]}": ${goldAt} has ` +
        `${example.words.length} tokens`,
      {file: predFile, line: extra.line, field: 'token'},
    );
  }
  if (rows.length < example.words.length) {
    throw new UserError(
      `sentence ends after ${rows.length} tokens but ${goldAt} has ${example.words.length}`,
      {file: predFile, line: rows[rows.length - 1].line + 1},
    );
  }
  return rows.map((row, position) => {
    const token = pickToken(predFile, row, tokenColumn);
    const goldToken = example.words[position];
    if (token !== goldToken) {
      throw new UserError(
        `token "${token}" does not match "${goldToken}" of ${goldAt} (token ${position + 1})`,
        {file: predFile, line: row.line, field: 'token'},
      );
    }
    return pickTag(predFile, row, tokenColumn, -1);
  });
}
