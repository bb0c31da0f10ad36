/**
 * Tests for custom classification tasks read from csv, tsv and jsonl: the Examples records become
 * (quoted fields, multi-line records and the lines they start on, CRLF, BOM, Unicode), labels that
 * may be absent from a test split, format detection, label ordering, and errors that name file,
 * line and field.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {UserError} from '../../src/errors.js';
import {collectLabels, readTextClassification, textFormatOf, type TextFields, type TextFormat} from '../../src/data/custom.js';
import type {PairExample} from '../../src/data/types.js';

const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-custom-'));

function write(name: string, content: string): string {
  const file = path.join(DIR, name);
  fs.writeFileSync(file, content);
  return file;
}

function jsonl(lines: (object | string)[]): string {
  return lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n');
}

interface Read {
  format?: TextFormat | null;
  fields: TextFields;
  labels?: 'required' | 'optional';
}

function read(file: string, {format = null, fields, labels = 'required'}: Read): PairExample[] {
  return readTextClassification(file, {format, fields, labels});
}

const SENTENCE: TextFields = {text: 'sentence', label: 'label'};
const PAIR_WITH_ID: TextFields = {text: 'premise', text_pair: 'hypothesis', label: 'label', id: 'id'};

const CASES: {name: string; file: string; content: string; read: Read; expected: PairExample[]}[] = [
  {
    name: 'csv: quoted commas, line breaks and doubled quotes; a blank line; the line each record starts on',
    file: 'quoted.csv',
    content: 'id,sentence,label\na1,"Mara, the baker, sings",pos\na2,"two\nlines ""quoted""",neg\n\na3,plain,pos\n',
    read: {fields: {...SENTENCE, id: 'id'}},
    expected: [
      {kind: 'pair', id: 'a1', textA: 'Mara, the baker, sings', label: 'pos', line: 2},
      {kind: 'pair', id: 'a2', textA: 'two\nlines "quoted"', label: 'neg', line: 3},
      {kind: 'pair', id: 'a3', textA: 'plain', label: 'pos', line: 6},
    ],
  },
  {
    name: 'csv: CRLF with a BOM; CRLF inside a quoted field counts as one line break; ids are record indices',
    file: 'crlf.csv',
    content: '\uFEFFsentence,label\r\n"x\r\ny",pos\r\n\r\nz,neg',
    read: {fields: SENTENCE},
    expected: [
      {kind: 'pair', id: 0, textA: 'x\r\ny', label: 'pos', line: 2},
      {kind: 'pair', id: 1, textA: 'z', label: 'neg', line: 5},
    ],
  },
  {
    name: 'csv: mixed line ends (a CRLF header over LF rows, a lone CR) read as one row per line',
    file: 'mixed.csv',
    content: 'id,sentence,label\r\na1,one,pos\na2,two,neg\r\na3,three,pos\ra4,four,neg\n',
    read: {fields: {...SENTENCE, id: 'id'}},
    expected: [
      {kind: 'pair', id: 'a1', textA: 'one', label: 'pos', line: 2},
      {kind: 'pair', id: 'a2', textA: 'two', label: 'neg', line: 3},
      {kind: 'pair', id: 'a3', textA: 'three', label: 'pos', line: 4},
      {kind: 'pair', id: 'a4', textA: 'four', label: 'neg', line: 4},
    ],
  },
  {
    // 20 emoji are 80 UTF-8 bytes but 40 UTF-16 units: mixing the two units would misplace later lines.
    name: 'csv: Unicode text and pairs; lines stay right after multi-byte characters; ids stay strings',
    file: 'unicode.csv',
    content: `id,premise,hypothesis,label\n007,${'🙂'.repeat(20)},"Zoë\nÄrkell",ünï\n008,東京 — Delbrook,"a ""b""",ünï\n9,x,y,ß\n`,
    read: {fields: PAIR_WITH_ID},
    expected: [
      {kind: 'pair', id: '007', textA: '🙂'.repeat(20), textB: 'Zoë\nÄrkell', label: 'ünï', line: 2},
      {kind: 'pair', id: '008', textA: '東京 — Delbrook', textB: 'a "b"', label: 'ünï', line: 4},
      {kind: 'pair', id: '9', textA: 'x', textB: 'y', label: 'ß', line: 5},
    ],
  },
  {
    name: 'tsv: tab delimiter, commas literal, a quoted field holding a tab and a line break',
    file: 'pairs.tsv',
    content: 'premise\thypothesis\tlabel\na, b\t"c\td\ne"\t1\nf\tg\t0\n',
    read: {fields: {text: 'premise', text_pair: 'hypothesis', label: 'label'}},
    expected: [
      {kind: 'pair', id: 0, textA: 'a, b', textB: 'c\td\ne', label: '1', line: 2},
      {kind: 'pair', id: 1, textA: 'f', textB: 'g', label: '0', line: 4},
    ],
  },
  {
    name: 'tsv named by the config for a .txt file; columns in any order, extra columns ignored',
    file: 'named.txt',
    content: 'label\textra\tsentence\npos\tignored\thello\n',
    read: {format: 'tsv', fields: SENTENCE},
    expected: [{kind: 'pair', id: 0, textA: 'hello', label: 'pos', line: 2}],
  },
  {
    name: 'jsonl: string, number and boolean labels; ids keep their JSON type; blank lines skipped',
    file: 'mixed.jsonl',
    content: jsonl([
      {id: 3, premise: 'p1', hypothesis: 'h1', label: 'yes'},
      '',
      {id: 'b', premise: 'p2', hypothesis: 'h2', label: 2},
      {id: 4.5, premise: 'Zoë 🙂', hypothesis: 'h3', label: true, other: [1]},
      {id: 'd', premise: 'p4', hypothesis: 'h4', label: false},
    ]),
    read: {fields: PAIR_WITH_ID},
    expected: [
      {kind: 'pair', id: 3, textA: 'p1', textB: 'h1', label: 'yes', line: 1},
      {kind: 'pair', id: 'b', textA: 'p2', textB: 'h2', label: '2', line: 3},
      {kind: 'pair', id: 4.5, textA: 'Zoë 🙂', textB: 'h3', label: 'true', line: 4},
      {kind: 'pair', id: 'd', textA: 'p4', textB: 'h4', label: 'false', line: 5},
    ],
  },
  {
    name: '.json read as JSON lines, CRLF and BOM; no id field gives record indices',
    file: 'lines.json',
    content: '\uFEFF{"t": "a", "y": 0}\r\n\r\n{"t": "b", "y": 1}\r\n',
    read: {fields: {text: 't', label: 'y'}},
    expected: [
      {kind: 'pair', id: 0, textA: 'a', label: '0', line: 1},
      {kind: 'pair', id: 1, textA: 'b', label: '1', line: 3},
    ],
  },
  {
    name: 'optional labels, all present: kept',
    file: 'test-labelled.jsonl',
    content: jsonl([{s: 'a', l: 'x'}, {s: 'b', l: 'y'}]),
    read: {fields: {text: 's', label: 'l'}, labels: 'optional'},
    expected: [
      {kind: 'pair', id: 0, textA: 'a', label: 'x', line: 1},
      {kind: 'pair', id: 1, textA: 'b', label: 'y', line: 2},
    ],
  },
  {
    name: 'optional labels, jsonl without the label field: null labels',
    file: 'test.jsonl',
    content: jsonl([{s: 'a'}, {s: 'b', l: null}]),
    read: {fields: {text: 's', label: 'l'}, labels: 'optional'},
    expected: [
      {kind: 'pair', id: 0, textA: 'a', label: null, line: 1},
      {kind: 'pair', id: 1, textA: 'b', label: null, line: 2},
    ],
  },
  {
    name: 'optional labels, csv without the label column: null labels',
    file: 'test-nocolumn.csv',
    content: 'idx,sentence\n10,a\n11,b\n',
    read: {fields: {...SENTENCE, id: 'idx'}, labels: 'optional'},
    expected: [
      {kind: 'pair', id: '10', textA: 'a', label: null, line: 2},
      {kind: 'pair', id: '11', textA: 'b', label: null, line: 3},
    ],
  },
  {
    name: 'optional labels, csv with an empty label column: null labels',
    file: 'test-empty.csv',
    content: 'sentence,label\na,\nb,\n',
    read: {fields: SENTENCE, labels: 'optional'},
    expected: [
      {kind: 'pair', id: 0, textA: 'a', label: null, line: 2},
      {kind: 'pair', id: 1, textA: 'b', label: null, line: 3},
    ],
  },
];

describe('readTextClassification', () => {
  for (const c of CASES) {
    test(c.name, () => {
      assert.deepEqual(read(write(c.file, c.content), c.read), c.expected);
    });
  }
});

const ERRORS: {name: string; file: string; content: string; read: Read; line?: number; field?: string; includes: string[]}[] = [
  {
    name: 'csv: configured column missing from the header lists the columns',
    file: 'no-column.csv',
    content: 'Sentence,label\na,pos\n',
    read: {fields: SENTENCE},
    line: 1,
    field: 'sentence',
    includes: ['no column named "sentence"', '"Sentence", "label"'],
  },
  {
    name: 'csv: label column missing where labels are required',
    file: 'no-label-column.csv',
    content: 'sentence\na\n',
    read: {fields: SENTENCE},
    line: 1,
    field: 'label',
    includes: ['no column named "label"'],
  },
  {
    name: 'csv: text_pair column missing even where labels are optional',
    file: 'no-pair.csv',
    content: 'sentence\na\n',
    read: {fields: {...SENTENCE, text_pair: 'other'}, labels: 'optional'},
    line: 1,
    field: 'other',
    includes: ['no column named "other"'],
  },
  {
    name: 'csv: a configured column named twice in the header',
    file: 'twice.csv',
    content: 'sentence,label,sentence\na,pos,b\n',
    read: {fields: SENTENCE},
    line: 1,
    field: 'sentence',
    includes: ['2 times'],
  },
  {
    name: 'csv: too few columns in a row after a multi-line record',
    file: 'short-row.csv',
    content: 'sentence,label\n"a\nb",pos\nc\n',
    read: {fields: SENTENCE},
    line: 4,
    includes: ['expected 2 columns as in the header, got 1'],
  },
  {
    name: 'csv: too many columns (an unquoted comma), CRLF',
    file: 'long-row.csv',
    content: 'sentence,label\r\n"x\r\ny",pos\r\nMara, the baker,pos\r\n',
    read: {fields: SENTENCE},
    line: 4,
    includes: ['expected 2 columns as in the header, got 3'],
  },
  {
    name: 'csv: a quote never closed names the row where it opens',
    file: 'unclosed.csv',
    content: 'sentence,label\na,pos\n"b,neg\nc,pos\n',
    read: {fields: SENTENCE},
    line: 3,
    includes: ['never closed'],
  },
  {
    name: 'tsv: a quote inside an unquoted field',
    file: 'quote.tsv',
    content: 'sentence\tlabel\na\tpos\nHe said "hi"\tneg\n',
    read: {fields: SENTENCE},
    line: 3,
    includes: ['double quote inside an unquoted field'],
  },
  {
    name: 'csv: text after a closing quote',
    file: 'closing.csv',
    content: 'sentence,label\n"a"b,pos\n',
    read: {fields: SENTENCE},
    line: 2,
    includes: ['closing quote'],
  },
  {
    name: 'csv: empty text value',
    file: 'empty-text.csv',
    content: 'sentence,label\na,pos\n,neg\n',
    read: {fields: SENTENCE},
    line: 3,
    field: 'sentence',
    includes: ['expected non-empty text, got an empty value'],
  },
  {
    name: 'csv: whitespace-only second text',
    file: 'blank-pair.csv',
    content: 'premise,hypothesis,label,id\na,  ,pos,1\n',
    read: {fields: PAIR_WITH_ID},
    line: 2,
    field: 'hypothesis',
    includes: ['got only whitespace'],
  },
  {
    name: 'csv: empty label value in a labelled split',
    file: 'empty-label.csv',
    content: 'sentence,label\na,pos\nb,\n',
    read: {fields: SENTENCE},
    line: 3,
    field: 'label',
    includes: ['expected a label', 'got an empty value'],
  },
  {
    name: 'csv: empty id value',
    file: 'empty-id.csv',
    content: 'id,sentence,label\n,a,pos\n',
    read: {fields: {...SENTENCE, id: 'id'}},
    line: 2,
    field: 'id',
    includes: ['expected an id', 'got an empty value'],
  },
  {
    name: 'csv: duplicate id names the second occurrence and the first',
    file: 'dup.csv',
    content: 'id,sentence,label\n7,a,pos\n8,"b\nc",neg\n7,d,pos\n',
    read: {fields: {...SENTENCE, id: 'id'}},
    line: 5,
    field: 'id',
    includes: ['duplicate id "7"', 'line 2'],
  },
  {
    name: 'jsonl: duplicate id, number and string of the same value',
    file: 'dup.jsonl',
    content: jsonl([{n: 1, s: 'a', l: 'x'}, {n: '1', s: 'b', l: 'x'}]),
    read: {fields: {text: 's', label: 'l', id: 'n'}},
    line: 2,
    field: 'n',
    includes: ['duplicate id "1"', 'line 1'],
  },
  {
    name: 'jsonl: text that is a number',
    file: 'number-text.jsonl',
    content: jsonl([{s: 'a', l: 'x'}, {s: 5, l: 'x'}]),
    read: {fields: {text: 's', label: 'l'}},
    line: 2,
    field: 's',
    includes: ['expected non-empty text, got number 5'],
  },
  {
    name: 'jsonl: text field missing',
    file: 'no-text.jsonl',
    content: jsonl([{t: 'a', l: 'x'}]),
    read: {fields: {text: 's', label: 'l'}},
    line: 1,
    field: 's',
    includes: ['the field is missing'],
  },
  {
    name: 'jsonl: label that is a list',
    file: 'list-label.jsonl',
    content: jsonl([{s: 'a', l: ['x']}]),
    read: {fields: {text: 's', label: 'l'}},
    line: 1,
    field: 'l',
    includes: ['expected a label (string, number or boolean), got a list'],
  },
  {
    name: 'jsonl: label missing in a labelled split',
    file: 'no-label.jsonl',
    content: jsonl([{s: 'a', l: 'x'}, '', {s: 'b'}]),
    read: {fields: {text: 's', label: 'l'}},
    line: 3,
    field: 'l',
    includes: ['expected a label', 'the field is missing'],
  },
  {
    name: 'jsonl: a field named like an Object.prototype member is still missing',
    file: 'proto.jsonl',
    content: jsonl([{s: 'a'}]),
    read: {fields: {text: 's', label: 'constructor'}},
    line: 1,
    field: 'constructor',
    includes: ['the field is missing'],
  },
  {
    name: 'jsonl: id that is a boolean',
    file: 'bool-id.jsonl',
    content: jsonl([{i: true, s: 'a', l: 'x'}]),
    read: {fields: {text: 's', label: 'l', id: 'i'}},
    line: 1,
    field: 'i',
    includes: ['expected an id (string or number), got boolean true'],
  },
  {
    name: 'optional labels, jsonl: a record without the label after labelled ones',
    file: 'mix.jsonl',
    content: jsonl([{s: 'a', l: 'x'}, {s: 'b', l: 'y'}, {s: 'c'}]),
    read: {fields: {text: 's', label: 'l'}, labels: 'optional'},
    line: 3,
    field: 'l',
    includes: ['has no label, but line 1 has one'],
  },
  {
    name: 'optional labels, csv: a labelled row after unlabelled ones',
    file: 'mix.csv',
    content: 'sentence,label\na,\nb,\nc,pos\n',
    read: {fields: SENTENCE, labels: 'optional'},
    line: 4,
    field: 'label',
    includes: ['has a label, but line 2 has none'],
  },
  {
    name: 'jsonl: invalid JSON',
    file: 'broken.jsonl',
    content: '{"s": "a", "l": "x"}\n{"s": \n',
    read: {fields: {text: 's', label: 'l'}},
    line: 2,
    includes: ['invalid JSON'],
  },
  {
    name: '.json holding a JSON array rather than JSON lines',
    file: 'array.json',
    content: '\n[\n  {"s": "a", "l": "x"}\n]\n',
    read: {fields: {text: 's', label: 'l'}},
    line: 2,
    includes: ['JSON lines', 'JSON array'],
  },
  {name: 'empty csv', file: 'empty.csv', content: '', read: {fields: SENTENCE}, includes: ['empty']},
  {name: 'csv with only a header', file: 'header-only.csv', content: 'sentence,label\r\n', read: {fields: SENTENCE}, includes: ['no records']},
  {name: 'jsonl with only blank lines', file: 'blank.jsonl', content: '\n  \n', read: {fields: SENTENCE}, includes: ['no records']},
];

describe('readTextClassification errors', () => {
  for (const c of ERRORS) {
    test(c.name, () => {
      const file = write(c.file, c.content);
      const where = `${file}${c.line === undefined ? '' : `:${c.line}`}${c.field === undefined ? '' : ` ${c.field}`}: `;
      assert.throws(
        () => read(file, c.read),
        (error: unknown) => {
          assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
          assert.ok(error.message.startsWith(where), `${JSON.stringify(error.message)} should start with ${JSON.stringify(where)}`);
          for (const part of c.includes) assert.ok(error.message.includes(part), `${JSON.stringify(error.message)} should include ${JSON.stringify(part)}`);
          return true;
        },
      );
    });
  }

  test('a missing file is a UserError naming it', () => {
    const file = path.join(DIR, 'absent.csv');
    assert.throws(() => read(file, {fields: SENTENCE}), (error: unknown) => error instanceof UserError && error.message.startsWith(`${file}: cannot read`));
  });

  test('csv-parse errors carry the quoting advice for their delimiter', () => {
    const file = write('advice.tsv', 'sentence\tlabel\na\tb\tc\n');
    assert.throws(
      () => read(file, {fields: SENTENCE}),
      (error: unknown) => error instanceof UserError && error.suggestions.length === 1 && error.suggestions[0].includes('a tab'),
    );
  });

  test('a header cell differing only in case is suggested', () => {
    const file = write('case.csv', 'Sentence,label\na,pos\n');
    assert.throws(
      () => read(file, {fields: SENTENCE}),
      (error: unknown) => error instanceof UserError && error.suggestions.some((s) => s.includes('"Sentence"')),
    );
  });
});

describe('textFormatOf', () => {
  const FORMATS: {file: string; format: TextFormat | null; expected: TextFormat}[] = [
    {file: 'data/train.csv', format: null, expected: 'csv'},
    {file: 'data/train.TSV', format: null, expected: 'tsv'},
    {file: 'train.jsonl', format: null, expected: 'jsonl'},
    {file: 'train.json', format: null, expected: 'jsonl'},
    {file: 'train.txt', format: 'tsv', expected: 'tsv'},
    {file: 'train.csv', format: 'jsonl', expected: 'jsonl'},
  ];
  for (const c of FORMATS) {
    test(`${c.file} with format ${String(c.format)} → ${c.expected}`, () => {
      assert.equal(textFormatOf(c.file, c.format), c.expected);
    });
  }

  for (const file of ['data/train.txt', 'data/train']) {
    test(`${file} without a format names the file and suggests one`, () => {
      assert.throws(
        () => textFormatOf(file, null),
        (error: unknown) =>
          error instanceof UserError && error.message.startsWith(`${file}: `) && error.suggestions.some((s) => s.includes('format: csv|tsv|jsonl')),
      );
    });
  }

  test('an unknown configured format is refused', () => {
    assert.throws(() => textFormatOf('a.csv', 'xlsx' as TextFormat), (error: unknown) => error instanceof UserError && error.message.includes('"xlsx"'));
  });
});

describe('collectLabels', () => {
  const LABELS: {name: string; labels: (string | null)[]; expected: string[]}[] = [
    {name: 'numbers sort numerically', labels: ['10', '9', '2'], expected: ['2', '9', '10']},
    {name: 'negative and decimal numbers', labels: ['0.5', '-1', '-10', '3e1'], expected: ['-10', '-1', '0.5', '3e1']},
    {name: 'equal numbers written differently tie-break by code point', labels: ['1.0', '1'], expected: ['1', '1.0']},
    {name: 'words sort by code point, upper case first', labels: ['neg', 'pos', 'Neg'], expected: ['Neg', 'neg', 'pos']},
    {name: 'one non-number makes the order code point', labels: ['10', '9', 'x'], expected: ['10', '9', 'x']},
    {name: 'hex is not a number here', labels: ['0x10', '9'], expected: ['0x10', '9']},
    // U+FF5E is one UTF-16 unit 0xFF5E; U+1F600 starts with 0xD83D: code-unit order would swap them.
    {name: 'code points, not UTF-16 units', labels: ['😀', '～'], expected: ['～', '😀']},
    {name: 'duplicates and unlabelled examples dropped', labels: ['b', null, 'a', 'b'], expected: ['a', 'b']},
    {name: 'no labels at all', labels: [null], expected: []},
  ];
  for (const c of LABELS) {
    test(c.name, () => {
      const examples: PairExample[] = c.labels.map((label, id) => ({kind: 'pair', id, textA: 't', label}));
      assert.deepEqual(collectLabels(examples), c.expected);
    });
  }
});
