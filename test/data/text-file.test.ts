/**
 * Reading users' files as UTF-8: the validator against hand-made byte sequences (RFC 3629's
 * boundaries), and invalid bytes reported as file:line by every reader that takes text
 * (a csv task file, a SuperGLUE jsonl, a config) instead of decoded as U+FFFD.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {firstInvalidUtf8, readText} from '../../src/data/text-file.js';
import {readTextClassification} from '../../src/data/custom.js';
import {readSuperGlue} from '../../src/data/superglue.js';
import {loadConfig} from '../../src/config/load.js';

const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-utf8-'));

describe('firstInvalidUtf8', () => {
  const CASES: {name: string; bytes: number[]; expected: number}[] = [
    {name: 'ASCII', bytes: [0x61, 0x0a, 0x62], expected: 3},
    {name: 'two-, three- and four-byte characters (é, €, 🙂)', bytes: [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x99, 0x82], expected: 9},
    {name: 'a Latin-1 é after "ab"', bytes: [0x61, 0x62, 0xe9, 0x0a], expected: 2},
    {name: 'a continuation byte with no lead', bytes: [0x80], expected: 0},
    {name: 'an overlong two-byte form of "/"', bytes: [0xc0, 0xaf], expected: 0},
    {name: 'an overlong three-byte form', bytes: [0xe0, 0x80, 0xaf], expected: 0},
    {name: 'a UTF-16 surrogate (U+D800) encoded', bytes: [0xed, 0xa0, 0x80], expected: 0},
    {name: 'above U+10FFFF', bytes: [0xf4, 0x90, 0x80, 0x80], expected: 0},
    {name: 'a sequence cut short at the end', bytes: [0x61, 0xe2, 0x82], expected: 1},
  ];
  for (const {name, bytes, expected} of CASES) test(name, () => assert.equal(firstInvalidUtf8(Uint8Array.from(bytes)), expected));

  test('agrees with the strict decoder on every two-byte sequence', () => {
    const decoder = new TextDecoder('utf-8', {fatal: true});
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const bytes = Uint8Array.from([a, b]);
        let valid = true;
        try {
          decoder.decode(bytes);
        } catch {
          valid = false;
        }
        assert.equal(firstInvalidUtf8(bytes) === 2, valid, `${a.toString(16)} ${b.toString(16)}`);
      }
    }
  });
});

describe('invalid UTF-8 in an input file is an error at its line', () => {
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  const write = (name: string, bytes: Buffer) => {
    const file = path.join(DIR, name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  const expected = (file: string, line: number, byte: string) => ({
    message:
    new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: not valid UTF-8: byte 0x${byte} at offset \\d+ cannot start or continue a character$`),
  });

  test('readText: a Latin-1 file names the line of the first bad byte; a UTF-8 one with a BOM reads', () => {
    const file = write('plain.txt', latin1('one\ntwo\ncafé\n'));
    assert.throws(() => readText(file), expected(file, 3, 'E9'));
    assert.equal(readText(write('ok.txt', Buffer.from('\uFEFFcafé\n', 'utf8'))), 'café\n');
  });

  test('a csv task file, a SuperGLUE jsonl and a config all refuse it', () => {
    const csv = write('reviews.csv', latin1('id,text,label\n1,fine,pos\n2,naïve,neg\n'));
    assert.throws(() => readTextClassification(csv, {format: null, fields: {id: 'id', text: 'text', label: 'label'}, labels: 'required'}), expected(csv, 3, 'EF'));
    const jsonl = write('val.jsonl', latin1('{"idx": 0, "premise": "a", "hypothesis": "b", "label": "entailment"}\n{"idx": 1, "premise": "Zoë", "hypothesis": "b", "label": "entailment"}\n'));
    assert.throws(() => readSuperGlue('rte', jsonl), expected(jsonl, 2, 'EB'));
    const config = write('x.yaml', latin1('name: x\n# café\n'));
    assert.throws(() => loadConfig(config), expected(config, 2, 'E9'));
  });
});
