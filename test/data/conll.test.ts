import {after, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  collectTagSet,
  iob1ToIob2,
  readConll,
  readConllPredictions,
  writeConllPredictions,
} from '../../src/data/conll.js';
import type {TaggingExample} from '../../src/data/types.js';
import {UserError} from '../../src/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
after(() => fs.rmSync(dir, {recursive: true, force: true}));
let fileCount = 0;
function fixture(text: string): string {
  const file = path.join(dir, `f${fileCount++}.txt`);
  fs.writeFileSync(file, text);
  return file;
}

/** Asserts a UserError whose message starts with `file:line field` and contains `part`. */
function assertUserError(run: () => unknown, where: string, part: string | RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UserError, String(error));
    assert.ok(error.message.startsWith(where), `"${error.message}" should start with "${where}"`);
    if (typeof part === 'string') assert.ok(error.message.includes(part), error.message);
    else assert.match(error.message, part);
    return true;
  });
}

const CONLL_2003 = [
  '-DOCSTART- -X- -X- O',
  '',
  'EU NNP B-NP B-ORG',
  'rejects VBZ B-VP O',
  'German JJ B-NP B-MISC',
  '',
  'Peter NNP B-NP B-PER',
  'Blackburn NNP I-NP I-PER',
  '',
  '',
].join('\r\n');

describe('readConll', () => {
  test('CoNLL-2003: CRLF, -DOCSTART- skipped, NER tag last, trailing blank lines', () => {
    const examples = readConll(fixture(CONLL_2003));
    assert.deepEqual(examples, [
      {kind: 'tagging', id: 0, words: ['EU', 'rejects', 'German'], tags: ['B-ORG', 'O', 'B-MISC'], line: 3},
      {kind: 'tagging', id: 1, words: ['Peter', 'Blackburn'], tags: ['B-PER', 'I-PER'], line: 7},
    ]);
  });

  test('a -DOCSTART- line between sentences without blank lines still separates them', () => {
    const examples = readConll(fixture('a O\n-DOCSTART- O\nb O\n'));
    assert.deepEqual(examples.map((example) => example.words), [['a'], ['b']]);
  });

  test('tab-separated columns keep spaces inside tokens; Unicode tokens unchanged', () => {
    const examples = readConll(fixture('New York\tNNP\tB-GPE\nZürich\tNNP\tB-GPE\n東京\tNNP\tB-GPE\n😀\tSYM\tO\n'));
    assert.deepEqual(examples[0].words, ['New York', 'Zürich', '東京', '😀']);
    assert.deepEqual(examples[0].tags, ['B-GPE', 'B-GPE', 'B-GPE', 'O']);
  });

  test('column options: tag column by index, unlabelled files', () => {
    const file = fixture('EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n');
    assert.deepEqual(readConll(file, {tagColumn: 1})[0].tags, ['NNP', 'VBZ']);
    assert.deepEqual(readConll(file, {tagColumn: -2})[0].tags, ['B-NP', 'B-VP']);
    assert.equal(readConll(fixture('EU\nrejects\n'), {tagColumn: null})[0].tags, null);
  });

  test('a line with too few columns names the line', () => {
    const file = fixture('EU NNP B-ORG\n\nrejects\n');
    assertUserError(() => readConll(file), `${file}:3 tag:`, 'found 1 column(s)');
    assertUserError(() => readConll(file, {tagColumn: 2}), `${file}:3 tag:`, 'a tag in column 3');
  });

  test('a missing file is a UserError naming it', () => {
    const file = path.join(dir, 'absent.txt');
    assertUserError(() => readConll(file), `${file}: cannot read file`, 'ENOENT');
  });
});

describe('readConll with tagsOptional (test files)', () => {
  test('a token-only file reads with tags null', () => {
    const file = fixture('EU\nrejects\n\nPeter\n');
    assert.deepEqual(readConll(file, {tagsOptional: true}), [
      {kind: 'tagging', id: 0, words: ['EU', 'rejects'], tags: null, line: 1},
      {kind: 'tagging', id: 1, words: ['Peter'], tags: null, line: 4},
    ]);
  });

  test('a tagged file reads its tags as without the option', () => {
    const file = fixture(CONLL_2003);
    assert.deepEqual(readConll(file, {tagsOptional: true}), readConll(file));
  });

  test('token in column 2 of two: the token column is the last, so the file has no tags', () => {
    const file = fixture('1\tEU\n2\trejects\n');
    assert.deepEqual(readConll(file, {tokenColumn: 1, tagsOptional: true})[0], {kind: 'tagging', id: 0, words: ['EU', 'rejects'], tags: null, line: 1});
  });

  test('some lines tagged and others not: the first untagged line, field tag', () => {
    const file = fixture('EU B-ORG\nrejects O\n\nPeter\nBlackburn I-PER\n');
    assertUserError(
      () => readConll(file, {tagsOptional: true}),
      `${file}:4 tag:`,
      'no tag in the last column here, but line 1 has one; a file is either tagged on every line or on none',
    );
  });

  test('an untagged line before the first tagged one names the tagged line', () => {
    const file = fixture('EU\nrejects O\n');
    assertUserError(() => readConll(file, {tagsOptional: true}), `${file}:1 tag:`, 'but line 2 has one');
  });

  test('without tagsOptional a token-only file still fails at its first line', () => {
    const file = fixture('EU\nrejects\n');
    assertUserError(() => readConll(file), `${file}:1 tag:`, 'expected a token in column 1 and a tag in the last column, found 1 column(s)');
  });
});

describe('iob1ToIob2', () => {
  const CASES = [
    {name: 'I- opening an entity becomes B-', input: ['I-PER', 'I-PER', 'O'], expected: ['B-PER', 'I-PER', 'O']},
    {name: 'I- after O', input: ['O', 'I-LOC'], expected: ['O', 'B-LOC']},
    {name: 'I- after another type', input: ['I-PER', 'I-ORG'], expected: ['B-PER', 'B-ORG']},
    {name: 'B- between two same-type entities stays', input: ['I-LOC', 'B-LOC', 'I-LOC'], expected: ['B-LOC', 'B-LOC', 'I-LOC']},
    {name: 'IOB2 input is unchanged', input: ['B-PER', 'I-PER', 'O', 'B-LOC'], expected: ['B-PER', 'I-PER', 'O', 'B-LOC']},
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => assert.deepEqual(iob1ToIob2(input), expected));
  }
});

test('collectTagSet: O first, then sorted', () => {
  const examples: TaggingExample[] = [
    {kind: 'tagging', id: 0, words: ['a', 'b'], tags: ['I-PER', 'B-PER']},
    {kind: 'tagging', id: 1, words: ['c'], tags: null},
    {kind: 'tagging', id: 2, words: ['d', 'e'], tags: ['B-LOC', 'O']},
  ];
  assert.deepEqual(collectTagSet(examples), ['O', 'B-LOC', 'B-PER', 'I-PER']);
});

describe('prediction files', () => {
  test('write then read: the predicted tags come back for the gold sentences', () => {
    const goldFile = fixture(CONLL_2003);
    const examples = readConll(goldFile);
    const predicted = [['B-ORG', 'O', 'O'], ['B-PER', 'B-PER']];
    const predFile = path.join(dir, 'out', 'pred.txt');
    writeConllPredictions(predFile, examples, predicted);
    assert.equal(
      fs.readFileSync(predFile, 'utf8'),
      'EU B-ORG B-ORG\nrejects O O\nGerman B-MISC O\n\nPeter B-PER B-PER\nBlackburn I-PER B-PER\n',
    );
    assert.deepEqual(readConllPredictions(goldFile, predFile), {examples, predicted});
  });

  test('unlabelled sentences are written as token and prediction; spaced tokens use tabs', () => {
    const examples: TaggingExample[] = [{kind: 'tagging', id: 0, words: ['New York', 'rocks'], tags: null}];
    const file = path.join(dir, 'unlabelled.txt');
    writeConllPredictions(file, examples, [['B-LOC', 'O']]);
    assert.equal(fs.readFileSync(file, 'utf8'), 'New York\tB-LOC\nrocks\tO\n');
  });

  test('another system’s output keeping all gold columns and -DOCSTART- reads too', () => {
    const goldFile = fixture(CONLL_2003);
    const predFile = fixture(
      CONLL_2003.split('\r\n')
        .map((line) => (line === '' ? line : `${line} ${line.startsWith('Peter') ? 'B-ORG' : 'O'}`))
        .join('\n'),
    );
    assert.deepEqual(readConllPredictions(goldFile, predFile).predicted, [['O', 'O', 'O'], ['B-ORG', 'O']]);
  });

  describe('mismatches name the prediction file line', () => {
    const goldFile = fixture('EU B-ORG\nrejects O\n\nPeter B-PER\n');
    const CASES = [
      {name: 'token differs', pred: 'EU B-ORG\nrefuses O\n\nPeter B-PER\n', line: 2, part: 'token "refuses" does not match "rejects"'},
      {name: 'sentence too short', pred: 'EU B-ORG\n\nrejects O\n', line: 2, part: 'sentence ends after 1 tokens'},
      {name: 'extra token', pred: 'EU B-ORG\nrejects O\nnow O\n\nPeter B-PER\n', line: 3, part: 'extra token "now"'},
      {name: 'extra sentence', pred: 'EU O\nrejects O\n\nPeter O\n\nmore O\n', line: 6, part: 'sentence 3 goes beyond the 2 sentences'},
      {name: 'file ends early', pred: 'EU O\nrejects O\n\n', line: 3, part: `the next gold sentence is at ${goldFile}:4`},
      {name: 'no predicted tag', pred: 'EU\nrejects O\n\nPeter O\n', line: 1, part: 'found 1 column(s)'},
    ];
    for (const {name, pred, line, part} of CASES) {
      test(name, () => {
        const predFile = fixture(pred);
        assertUserError(() => readConllPredictions(goldFile, predFile), `${predFile}:${line}`, part);
      });
    }
  });
});
