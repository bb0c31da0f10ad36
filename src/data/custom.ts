/**
 * Custom classification and sentence-pair classification tasks, read from the user's own files.
 * The task config names the field holding the text, the optional second text, the label and the
 * optional id; each record becomes one PairExample.
 *
 * - csv / tsv: the first row is the header and fields are found by column name. Parsing is
 *   csv-parse's RFC 4180 quoting for both: a field wrapped in double quotes may hold the
 *   delimiter, line breaks and doubled quotes (`"say ""hi"""`). tsv is the same with a tab as the
 *   delimiter, so a tsv field that starts with `"` is a quoted field, and a `"` inside an unquoted
 *   field is an error rather than a literal character (quote the field instead). Values stay
 *   strings: an id `007` is the string "007". Blank lines are skipped.
 * - jsonl: one JSON object per line; `.json` files are read as JSON lines too. Texts must be
 *   strings; labels may be strings, numbers or booleans and become their String() form; ids keep
 *   their JSON type (string or number).
 *
 * Without an id field an example's id is its 0-based record index. Ids are unique within a file
 * because prediction files are keyed by them; `1` and `"1"` count as the same id since they are
 * the same key once written out.
 *
 * References: RFC 4180 (csv); csv.js.org/parse (csv-parse options, info and error codes);
 * jsonlines.org.
 */

import path from 'node:path';
import {CsvError, parse} from 'csv-parse/sync';
import type {z} from 'zod';
import {TEXT_FORMATS, type fieldsSchema} from '../config/schema.js';
import {UserError, type ErrorLocation} from '../errors.js';
import {describeJson, parseJsonl} from './jsonl.js';
import {readText} from './text-file.js';
import type {PairExample} from './types.js';

/** The formats and field names the config schema accepts for a task defined by family. */
export {TEXT_FORMATS};
export type TextFormat = (typeof TEXT_FORMATS)[number];
/** Which field of each record holds what. */
export type TextFields = z.output<typeof fieldsSchema>;

const FORMAT_OF_EXTENSION = new Map<string, TextFormat>([
  ['.csv', 'csv'],
  ['.tsv', 'tsv'],
  ['.jsonl', 'jsonl'],
  ['.json', 'jsonl'],
]);

const FORMAT_SUGGESTION = 'set `format: csv|tsv|jsonl` in the task config';

/**
 * The format named in the config, else the one the file's extension says (.csv, .tsv, .jsonl,
 * .json lines as .jsonl). Unknown extension and no format: UserError naming the file, suggesting
 * `format: csv|tsv|jsonl`.
 */
export function textFormatOf(file: string, format: TextFormat | null): TextFormat {
  if (format !== null) {
    // Guards callers that pass config values through untyped.
    if (!TEXT_FORMATS.includes(format)) {
      throw new UserError(`unknown format ${JSON.stringify(format)}; expected one of ${TEXT_FORMATS.join(', ')}`, {file, field: 'format'}, [
        FORMAT_SUGGESTION,
      ]);
    }
    return format;
  }
  const extension = path.extname(file).toLowerCase();
  const known = FORMAT_OF_EXTENSION.get(extension);
  if (known === undefined) {
    const found = extension === '' ? 'no extension' : `extension "${extension}"`;
    throw new UserError(`cannot tell the format from ${found}; expected .csv, .tsv, .jsonl or .json (JSON lines)`, {file}, [FORMAT_SUGGESTION]);
  }
  return known;
}

/**
 * Reads one split. labels: 'required' (train/dev: a record without its label field is an error
 * naming file, line and the label field) or 'optional' (test: either every record has the label or
 * none does; none → label null on every example; a mix → error at the first line that differs).
 */
export function readTextClassification(
  file: string,
  opts: {format: TextFormat | null; fields: TextFields; labels: 'required' | 'optional'},
): PairExample[] {
  const format = textFormatOf(file, opts.format);
  const text = readText(file);
  const records = format === 'jsonl' ? jsonlRecords(text, file) : delimitedRecords(text, file, format, headerColumns(opts.fields, opts.labels));
  if (records.length === 0) throw new UserError(`no records${format === 'jsonl' ? '' : ' below the header row'}`, {file});
  return toExamples(records, file, opts.fields, opts.labels);
}

/** The label set of labelled examples, sorted: numerically when every label is a number, else by code point. */
export function collectLabels(examples: readonly PairExample[]): string[] {
  const labels = [...new Set(examples.flatMap((example) => (example.label === null ? [] : [example.label])))];
  if (labels.every((label) => DECIMAL.test(label))) {
    // Ties (`1` and `1.0`) fall back to code points so the order never depends on input order.
    return labels.sort((a, b) => Number(a) - Number(b) || compareCodePoints(a, b));
  }
  return labels.sort(compareCodePoints);
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Code point order, as Python's sorted() gives for label lists; JavaScript's default sort compares
 * UTF-16 units, which puts characters beyond U+FFFF before U+E000–U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return (x.done ? 0 : 1) - (y.done ? 0 : 1);
    const difference = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
}

/** One record as read, before its fields are checked: values by field name, and the line it starts on. */
interface SourceRecord {
  values: Readonly<Record<string, unknown>>;
  line: number;
}

function toExamples(records: SourceRecord[], file: string, fields: TextFields, labels: 'required' | 'optional'): PairExample[] {
  const presence = new LabelPresence();
  const idLines = new Map<string, number>();
  return records.map((record, index) => {
    const values = new RecordValues(record, file);
    const id = fields.id === undefined ? index : values.id(fields.id);
    const firstLine = idLines.get(String(id));
    if (firstLine !== undefined) values.fail(fields.id ?? 'id', `duplicate id ${JSON.stringify(id)}; line ${firstLine} has it too`);
    idLines.set(String(id), record.line);

    const textA = values.text(fields.text);
    const textB = fields.text_pair === undefined ? undefined : values.text(fields.text_pair);
    let label: string | null;
    if (labels === 'required') {
      label = values.label(fields.label);
    } else {
      presence.check(values.has(fields.label), values, fields.label);
      label = values.has(fields.label) ? values.label(fields.label) : null;
    }
    return {kind: 'pair', id, textA, ...(textB === undefined ? {} : {textB}), label, line: record.line};
  });
}

/**
 * An unlabelled split leaves the label out of every record: a label missing from only some
 * records is a broken file, not a test split.
 */
class LabelPresence {
  private first?: {labelled: boolean; line: number};

  check(labelled: boolean, at: RecordValues, field: string): void {
    if (this.first === undefined) {
      this.first = {labelled, line: at.line};
    } else if (this.first.labelled !== labelled) {
      const line = this.first.line;
      at.fail(field, labelled ? `has a label, but line ${line} has none (label every record or none)` : `has no label, but line ${line} has one (label every record or none)`);
    }
  }
}

/** Typed access to one record's values; errors name file, line and field, with what was expected and what was found. */
class RecordValues {
  constructor(
    private readonly record: SourceRecord,
    private readonly file: string,
  ) {}

  get line(): number {
    return this.record.line;
  }

  fail(field: string, message: string): never {
    throw new UserError(message, {file: this.file, line: this.record.line, field});
  }

  /** Present and not blank: an empty csv cell or a JSON null counts as no value. */
  has(field: string): boolean {
    return !isBlank(this.get(field));
  }

  text(field: string): string {
    const value = this.get(field);
    return typeof value === 'string' && !isBlank(value) ? value : this.expected(field, 'non-empty text');
  }

  label(field: string): string {
    const value = this.get(field);
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return typeof value === 'string' && !isBlank(value) ? value : this.expected(field, 'a label (string, number or boolean)');
  }

  id(field: string): string | number {
    const value = this.get(field);
    if (typeof value === 'number') return value;
    return typeof value === 'string' && !isBlank(value) ? value : this.expected(field, 'an id (string or number)');
  }

  private get(field: string): unknown {
    // Own properties only: a field named `constructor` must not find Object.prototype's.
    return Object.hasOwn(this.record.values, field) ? this.record.values[field] : undefined;
  }

  private expected(field: string, what: string): never {
    return this.fail(field, `expected ${what}, got ${describeValue(this.get(field))}`);
  }
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === '') return 'an empty value';
  if (typeof value === 'string' && value.trim() === '') return 'only whitespace';
  return describeJson(value);
}

function jsonlRecords(text: string, file: string): SourceRecord[] {
  const start = /^\s*\[/.exec(text);
  if (start !== null) {
    // A `.json` file is often one JSON array rather than JSON lines; say so instead of "invalid JSON".
    throw new UserError('expected JSON lines (one object per line), but the file starts a JSON array', {file, line: lineAt(text, start[0].length)}, [
      'write one object per line, e.g. jq -c ".[]" FILE',
    ]);
  }
  return parseJsonl(text, file).map(({value, line}) => ({values: value, line}));
}

function lineAt(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Columns the header must have: every configured field, the label only where labels are required. */
function headerColumns(fields: TextFields, labels: 'required' | 'optional'): string[] {
  const columns = [fields.text, fields.text_pair, fields.id, labels === 'required' ? fields.label : undefined];
  return columns.filter((column): column is string => column !== undefined);
}

interface Row {
  cells: string[];
  line: number;
}

function delimitedRecords(text: string, file: string, format: 'csv' | 'tsv', required: string[]): SourceRecord[] {
  const [header, ...rows] = parseRows(text, file, format);
  if (header === undefined) throw new UserError('the file is empty; expected a header row naming the columns', {file});
  checkHeader(header, required, file);
  return rows.map(({cells, line}) => ({line, values: Object.fromEntries(header.cells.map((name, i) => [name, cells[i]]))}));
}

function checkHeader(header: Row, required: string[], file: string): void {
  const available = header.cells.map((name) => JSON.stringify(name)).join(', ');
  for (const column of required) {
    const where = {file, line: header.line, field: column};
    const count = header.cells.filter((name) => name === column).length;
    if (count === 0) {
      // A header cell that differs only in case or surrounding spaces is most likely the one meant.
      const near = header.cells.filter((name) => name.trim().toLowerCase() === column.trim().toLowerCase());
      throw new UserError(
        `no column named ${JSON.stringify(column)} in the header; the columns are ${available}`,
        where,
        near.map((name) => `name the column ${JSON.stringify(name)} in the task's fields`),
      );
    }
    if (count > 1) throw new UserError(`the header names column ${JSON.stringify(column)} ${count} times; which one is meant is unclear`, where);
  }
}

/** All rows, header included, each with the line it starts on; csv-parse errors become UserErrors at the row that failed. */
function parseRows(text: string, file: string, format: 'csv' | 'tsv'): Row[] {
  const lines = new ByteLines(text);
  const starts: number[] = [];
  // csv-parse counts bytes, not characters; `ended` is the byte just past the last row it returned.
  let ended = 0;
  let headerLength = 0;
  let cells: string[][];
  try {
    cells = parse(text, {
      delimiter: format === 'tsv' ? '\t' : ',',
      // Any line end on any line: csv-parse otherwise takes the first line's (a CRLF header over LF rows reads as one row).
      record_delimiter: ['\r\n', '\n', '\r'],
      skip_empty_lines: true,
      on_record: (record: string[], context) => {
        if (starts.length === 0) headerLength = record.length;
        starts.push(lines.rowStartingAt(ended));
        ended = context.bytes;
        return record;
      },
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    throw csvUserError(error, format, {file, line: lines.rowStartingAt(ended)}, headerLength);
  }
  return cells.map((row, i) => ({cells: row, line: starts[i]}));
}

const CSV_PROBLEMS = new Map<string, string>([
  ['CSV_QUOTE_NOT_CLOSED', 'a quoted field that starts in this row is never closed'],
  ['INVALID_OPENING_QUOTE', 'a double quote inside an unquoted field'],
  ['CSV_INVALID_CLOSING_QUOTE', 'characters follow the closing quote of a quoted field'],
  ['CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE', 'characters follow the closing quote of a quoted field'],
]);

function csvUserError(error: CsvError, format: 'csv' | 'tsv', where: ErrorLocation, headerLength: number): UserError {
  const separator = format === 'tsv' ? 'a tab' : 'a comma';
  const quoting = `wrap a field that holds ${separator}, a line break or a double quote in double quotes, doubling the quotes inside: "say ""hi"""`;
  if (error.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH') {
    const got = Array.isArray(error.record) ? `${error.record.length}` : 'a different number';
    return new UserError(`expected ${headerLength} columns as in the header, got ${got}`, where, [quoting]);
  }
  // Other csv-parse messages carry its own line count, which is off for CRLF files: keep only ours.
  const problem = CSV_PROBLEMS.get(error.code) ?? `cannot read the ${format} (${error.code})`;
  return new UserError(problem, where, [quoting]);
}

/**
 * Lines of a text by UTF-8 byte offset, the unit csv-parse reports in. csv-parse's own `lines` is
 * the line a record ends on and counts a CRLF inside a quoted field twice, so the line a row
 * starts on is found from where the previous row ended.
 */
class ByteLines {
  private readonly bytes: Buffer;
  /** Byte offset at which each line starts; line n starts at starts[n - 1]. */
  private readonly starts: number[] = [0];

  constructor(text: string) {
    this.bytes = Buffer.from(text, 'utf8');
    for (let i = this.bytes.indexOf(0x0a); i >= 0; i = this.bytes.indexOf(0x0a, i + 1)) this.starts.push(i + 1);
  }

  /** Line of the row that begins at `offset` or after the blank lines following it (csv-parse skips those). */
  rowStartingAt(offset: number): number {
    let i = offset;
    while (i < this.bytes.length && (this.bytes[i] === 0x0a || this.bytes[i] === 0x0d)) i++;
    return this.lineOf(i);
  }

  private lineOf(offset: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    // The last line start at or before the offset.
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.starts[middle] <= offset) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  }
}
