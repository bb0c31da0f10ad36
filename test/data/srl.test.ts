import {after, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {readSrl, readSrlPredictions, writeSrlPredictions} from '../../src/data/srl.js';
import {UserError} from '../../src/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
after(() => fs.rmSync(dir, {recursive: true, force: true}));
let fileCount = 0;
function fixture(text: string): string {
  const file = path.join(dir, `f${fileCount++}.txt`);
  fs.writeFileSync(file, text);
  return file;
}

function assertUserError(run: () => unknown, where: string, part: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UserError, String(error));
    assert.ok(error.message.startsWith(where), `"${error.message}" should start with "${where}"`);
    assert.ok(error.message.includes(part), error.message);
    return true;
  });
}

const GOLD = [
  '1 To express its determination ||| O B-V B-ARG1 I-ARG1',
  '',
  '0 Zürich wächst ||| B-V O',
].join('\r\n');

describe('readSrl', () => {
  test('predicate index, words and tags per line; blank lines and CRLF accepted', () => {
    assert.deepEqual(readSrl(fixture(GOLD)), [
      {
        kind: 'tagging',
        id: 0,
        words: ['To', 'express', 'its', 'determination'],
        tags: ['O', 'B-V', 'B-ARG1', 'I-ARG1'],
        predicateIndex: 1,
        line: 1,
      },
      {kind: 'tagging', id: 1, words: ['Zürich', 'wächst'], tags: ['B-V', 'O'], predicateIndex: 0, line: 3},
    ]);
  });

  test('lines without ||| are unlabelled', () => {
    const [example] = readSrl(fixture('2 the cat sat\n'));
    assert.equal(example.tags, null);
    assert.equal(example.predicateIndex, 2);
  });

  test('a word spelled ||| stays a word', () => {
    const [example] = readSrl(fixture('0 go ||| now ||| B-V O O\n'));
    assert.deepEqual(example.words, ['go', '|||', 'now']);
  });

  const ERRORS = [
    {name: 'tag count differs from word count', text: '0 a b\n1 a b c ||| O B-V\n', line: 2, field: 'tags', part: '2 tags for 3 words'},
    {name: 'predicate index out of range', text: '3 a b c ||| O O O\n', line: 1, field: 'predicate index', part: 'predicate index 3 is outside the 3 words'},
    {name: 'predicate index not a number', text: 'x a b ||| O O\n', line: 1, field: 'predicate index', part: 'found "x"'},
    {name: 'no words', text: '0 ||| B-V\n', line: 1, field: 'words', part: 'no words'},
    {name: 'labelled and unlabelled lines mixed', text: '0 a ||| B-V\n\n0 b\n', line: 3, field: 'tags', part: 'line 1 does'},
  ];
  for (const {name, text, line, field, part} of ERRORS) {
    test(`error: ${name}`, () => {
      const file = fixture(text);
      assertUserError(() => readSrl(file), `${file}:${line} ${field}:`, part);
    });
  }
});

describe('SRL prediction files', () => {
  test('write then read against the gold file', () => {
    const goldFile = fixture(GOLD);
    const examples = readSrl(goldFile);
    const predicted = [['O', 'B-V', 'B-ARG1', 'O'], ['B-V', 'B-ARG1']];
    const predFile = path.join(dir, 'out', 'srl-pred.txt');
    writeSrlPredictions(predFile, examples, predicted);
    assert.equal(
      fs.readFileSync(predFile, 'utf8'),
      '1 To express its determination ||| O B-V B-ARG1 O\n0 Zürich wächst ||| B-V B-ARG1\n',
    );
    assert.deepEqual(readSrlPredictions(goldFile, predFile), {examples, predicted});
  });

  const goldFile = fixture('1 a b ||| O B-V\n0 c d ||| B-V O\n');
  const MISMATCHES = [
    {name: 'different word', pred: '1 a x ||| O B-V\n0 c d ||| B-V O\n', line: 1, part: 'word 2 is "x"'},
    {name: 'different word count', pred: '1 a b ||| O B-V\n0 c ||| B-V\n', line: 2, part: '1 words where'},
    {name: 'different predicate', pred: '0 a b ||| B-V O\n0 c d ||| B-V O\n', line: 1, part: 'predicate index 0 where'},
    {name: 'missing line', pred: '1 a b ||| O B-V\n', line: 1, part: 'the first missing one is'},
    {name: 'extra line', pred: '1 a b ||| O B-V\n0 c d ||| B-V O\n0 e ||| B-V\n', line: 3, part: 'goes beyond the 2 lines'},
    {name: 'no predicted tags', pred: '1 a b\n0 c d\n', line: 1, part: 'no predicted tags'},
  ];
  for (const {name, pred, line, part} of MISMATCHES) {
    test(`mismatch: ${name}`, () => {
      const predFile = fixture(pred);
      assertUserError(() => readSrlPredictions(goldFile, predFile), `${predFile}:${line}`, part);
    });
  }
});
