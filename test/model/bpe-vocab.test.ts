/**
 * Byte-level BPE vocabularies for created RoBERTa checkpoints: GPT-2's byte table, hand-worked
 * merges, HF's file formats, the tokenizer ptv2 loads from them, and `models init --type roberta`
 * plus a `model.init.type: roberta` run through the built CLI.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {worldPieces, worldVocabulary} from '../../src/data/synthetic/index.js';
import {
  buildByteLevelBpeVocab,
  buildCasedBpeVocab,
  byteSymbols,
  bytesToUnicode,
  mergesText,
  unicodeToBytes,
  vocabJsonText,
  MIN_BPE_VOCAB_SIZE,
} from '../../src/model/bpe-vocab.js';
import {loadCheckpoint, randomCheckpoint, writeCheckpoint} from '../../src/model/checkpoint.js';
import {buildByteLevelBpeTokenizerJson, loadTokenizer, tokenizerFromJson} from '../../src/tokenizer/index.js';
import {ptv2, ROOT, tinyExperimentHeader} from '../helpers/cli.js';

const WORDS = worldVocabulary();
const TINY = {modelType: 'roberta' as const, layers: 1, hidden: 8, heads: 2, intermediate: 16, maxPositions: 64, seed: 3};

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-bpe-'));
}

describe('byte-to-unicode table', () => {
  test('all 256 bytes map to distinct symbols and back', () => {
    const table = bytesToUnicode();
    const inverse = unicodeToBytes();
    assert.equal(new Set(table).size, 256);
    for (let b = 0; b < 256; b++) assert.equal(inverse.get(table[b]), b);
  });

  test('GPT-2\'s symbols: printable bytes as themselves, the rest from U+0100 in byte order', () => {
    const table = bytesToUnicode();
    const CASES = [
      {byte: 0x00, symbol: '\u0100'}, // Ā
      {byte: 0x0a, symbol: '\u010a'}, // Ċ, newline
      {byte: 0x20, symbol: '\u0120'}, // Ġ, space
      {byte: 0x21, symbol: '!'},
      {byte: 0x7f, symbol: '\u0121'}, // ġ, the 34th unprintable byte
      {byte: 0xad, symbol: '\u0143'}, // Ń, soft hyphen, the 68th and last
      {byte: 0xe9, symbol: '\u00e9'},
    ];
    for (const {byte, symbol} of CASES) assert.equal(table[byte], symbol, `byte ${byte}`);
  });

  test('multi-byte text round-trips through its UTF-8 symbols', () => {
    const text = 'Saltby — naïve 68 ünï\n';
    const inverse = unicodeToBytes();
    const bytes = Uint8Array.from(byteSymbols(text), (s) => inverse.get(s)!);
    assert.equal(new TextDecoder().decode(bytes), text);
  });
});

describe('buildByteLevelBpeVocab', () => {
  test('hand-worked merges: ties go to the smaller pair, training stops when no pair occurs twice', () => {
    // "Ġab", "Ġabc": (Ġ,a) and (a,b) both occur twice; "a" < "Ġ", so (a,b) first, then (Ġ,ab).
    // (Ġab,c) occurs once: stop. Duplicate words count once.
    const vocab = buildByteLevelBpeVocab(['abc', 'ab', 'ab']);
    assert.deepEqual(vocab.merges, [['a', 'b'], ['\u0120', 'ab']]);
    assert.deepEqual(vocab.tokens.slice(0, 4), ['<s>', '<pad>', '</s>', '<unk>']);
    assert.deepEqual(vocab.tokens.slice(4, 260), bytesToUnicode());
    assert.deepEqual(vocab.tokens.slice(260), ['ab', '\u0120ab', '<mask>']);
  });

  test('cased pieces counted by frequency: pairs weigh as often as their piece occurs, spaces as the piece has them', () => {
    // " ab" ×3, " ac" ×1, "ab" ×1 (no space): (a,b) 4, (Ġ,a) 4; "a" < "Ġ", so (a,b) first; then
    // (Ġ,ab) 3, then (Ġ,a) is left with " ac"'s 1: stop. Unweighted, (Ġ,ab) would occur once.
    const vocab = buildCasedBpeVocab(new Map([[' ab', 3], [' ac', 1], ['ab', 1]]));
    assert.deepEqual(vocab.merges, [['a', 'b'], ['\u0120', 'ab']]);
    assert.deepEqual(buildByteLevelBpeVocab([' ab', ' ac', 'ab'], Infinity, {prefixSpace: false}).merges, [['a', 'b']]);
  });

  test('the world\'s cased BPE spells names and frequent words as one token each', () => {
    const vocab = buildCasedBpeVocab(worldPieces());
    const ids = Object.fromEntries(vocab.tokens.map((token, id) => [token, id]));
    const tokenizer = tokenizerFromJson(buildByteLevelBpeTokenizerJson(ids, vocab.merges.map((pair) => pair.join(' '))));
    assert.deepEqual(tokenizer.tokenize('Wrenfield (Delbrook Gazette) won the Lantern Regatta.'), ['Wrenfield', '\u0120(', 'Delbrook', '\u0120Gazette', ')', '\u0120won', '\u0120the', '\u0120Lantern', '\u0120Regatta', '.']);
  });

  test('the vocabulary size caps the merges, <mask> included', () => {
    const vocab = buildByteLevelBpeVocab(['abc', 'ab'], MIN_BPE_VOCAB_SIZE + 1);
    assert.deepEqual(vocab.merges, [['a', 'b']]);
    assert.equal(vocab.tokens.length, MIN_BPE_VOCAB_SIZE + 1);
    assert.equal(buildByteLevelBpeVocab(WORDS, 300).tokens.length, 300);
    assert.deepEqual(buildByteLevelBpeVocab(WORDS, MIN_BPE_VOCAB_SIZE).merges, []);
  });

  test('world words: deterministic whatever their order, every merge\'s parts and result in vocab.json', () => {
    const vocab = buildByteLevelBpeVocab(WORDS);
    assert.deepEqual(buildByteLevelBpeVocab([...WORDS].reverse()), vocab);
    assert.ok(vocab.merges.length > 100, `${vocab.merges.length} merges`);
    const ids = JSON.parse(vocabJsonText(vocab)) as Record<string, number>;
    assert.equal(Object.keys(ids).length, vocab.tokens.length);
    for (const [left, right] of vocab.merges) {
      for (const token of [left, right, left + right]) assert.ok(token in ids, `${token} of merge ${left} ${right}`);
    }
    assert.deepEqual(vocab.tokens.map((token) => ids[token]), vocab.tokens.map((_, id) => id));
    assert.equal(ids['<mask>'], vocab.tokens.length - 1);
  });
});

describe('vocab.json and merges.txt', () => {
  test('in the formats RobertaTokenizer writes', () => {
    const vocab = buildByteLevelBpeVocab(['abc', 'ab']);
    assert.equal(mergesText(vocab), '#version: 0.2\na b\n\u0120 ab\n');
    const text = vocabJsonText(vocab);
    const lines = text.split('\n');
    // json.dumps(indent=2, sort_keys=True): keys in code-point order, "!" (byte 0x21, id 37) first.
    assert.equal(lines[0], '{');
    assert.equal(lines[1], '  "!": 37,');
    assert.deepEqual(lines.slice(-3), ['  "\u0143": 177', '}', '']);
    const keys = lines.slice(1, -2).map((line) => JSON.parse(`{${line.replace(/,$/, '')}}`) as Record<string, number>).map((o) => Object.keys(o)[0]);
    assert.deepEqual(keys, [...keys].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)! || (a < b ? -1 : a > b ? 1 : 0)));
    assert.ok(text.includes('\n  "0": 52,\n'), 'digit keys are sorted among the others, not first');
  });
});

describe('writeCheckpoint with a byte-level BPE vocabulary', () => {
  const vocab = buildByteLevelBpeVocab(WORDS);

  function written(dir = tempDir()): string {
    const {config, weights} = randomCheckpoint({...TINY, vocabSize: vocab.tokens.length});
    writeCheckpoint(dir, config, weights, vocab);
    return dir;
  }

  test('writes RoBERTa\'s config, vocab.json and merges.txt, and loads back', () => {
    const dir = written();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'merges.txt', 'model.safetensors', 'vocab.json']);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      [config.model_type, config.pad_token_id, config.bos_token_id, config.eos_token_id, config.max_position_embeddings, config.vocab_size],
      ['roberta', 1, 0, 2, TINY.maxPositions + 2, vocab.tokens.length],
    );
    const checkpoint = loadCheckpoint(dir);
    assert.equal(checkpoint.config.positionOffset, 2);
    assert.ok(fs.readFileSync(path.join(dir, 'merges.txt'), 'utf8').startsWith('#version: 0.2\n'));
  });

  test('the loaded tokenizer encodes a world sentence as <s> … </s> and decodes it back', () => {
    const tokenizer = loadTokenizer(written());
    const [firstLine] = fs.readFileSync(path.join(ROOT, 'datasets/superglue/RTE/train.jsonl'), 'utf8').split('\n');
    const sentence = (JSON.parse(firstLine) as {hypothesis: string}).hypothesis;
    const {inputIds, tokenTypeIds} = tokenizer.encode(sentence, undefined, 128);
    assert.deepEqual([tokenizer.clsToken, tokenizer.sepToken, tokenizer.padId, tokenizer.unkId], ['<s>', '</s>', 1, 3]);
    assert.equal(inputIds[0], 0);
    assert.equal(inputIds.at(-1), 2);
    assert.ok(!inputIds.includes(3), 'no <unk>');
    assert.ok(tokenTypeIds.every((t) => t === 0));
    assert.equal(tokenizer.decode(inputIds.slice(1, -1)), sentence);
    // The merges were learned on lower-cased words; they still shorten a lower-case sentence to
    // under half its bytes.
    const lower = 'the fisher has a house in saltby.';
    const lowerIds = tokenizer.encode(lower, undefined, 64).inputIds;
    assert.ok(lowerIds.length - 2 < Buffer.byteLength(lower) / 2, `${lowerIds.length} ids for "${lower}"`);
    assert.ok(inputIds.length - 2 < Buffer.byteLength(sentence), `${inputIds.length} ids for "${sentence}"`);
    assert.equal(tokenizer.decode(lowerIds.slice(1, -1)), lower);
  });

  test('overwriting a BERT checkpoint leaves no vocab.txt to shadow the new vocabulary', () => {
    const dir = tempDir();
    const bert = randomCheckpoint({...TINY, modelType: 'bert', vocabSize: 10});
    writeCheckpoint(dir, bert.config, bert.weights, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    written(dir);
    assert.ok(!fs.existsSync(path.join(dir, 'vocab.txt')));
    assert.equal(loadTokenizer(dir).clsToken, '<s>');
  });
});

describe('RoBERTa through the CLI', () => {
  test('models init --vocab below the byte alphabet is refused', () => {
    const dir = tempDir();
    const r = ptv2(['models', 'init', '--type', 'roberta', '--out', path.join(dir, 'm'), '--vocab', '100'], dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /expected at least 261 tokens for RoBERTa .*got 100/);
    assert.ok(!fs.existsSync(path.join(dir, 'm')));
  });

  test('models init --type roberta, and a run with model.init.type roberta completes a pt2 epoch on RTE', () => {
    const dir = tempDir();
    const cliModel = path.join(dir, 'cli-model');
    const init = ptv2(['models', 'init', '--type', 'roberta', '--out', cliModel, '--layers', '1', '--hidden', '16', '--heads', '2',
      '--intermediate', '32', '--max-positions', '96'], dir);
    assert.equal(init.code, 0, init.stderr + init.stdout);
    assert.equal(loadCheckpoint(cliModel).config.modelType, 'roberta');

    const config = path.join(dir, 'roberta.yaml');
    fs.writeFileSync(config, `${tinyExperimentHeader(dir, 'roberta').replace('init: {', 'init: {type: roberta, ')}methods: [pt2]
prompt: {length: 4}
train: {epochs: 1, batch_size: 8, max_train_examples: 16, max_eval_examples: 8}
tasks:
  - {name: rte, data: ${path.join(ROOT, 'datasets/superglue/RTE')}}
`);
    const run = ptv2(['run', config], dir);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const runModel = path.join(dir, 'model');
    // The same words give the same vocabulary, whichever path wrote it.
    for (const file of ['vocab.json', 'merges.txt']) {
      assert.equal(fs.readFileSync(path.join(runModel, file), 'utf8'), fs.readFileSync(path.join(cliModel, file), 'utf8'), file);
    }
    assert.equal(loadCheckpoint(runModel).config.modelType, 'roberta');
    const sql = new Database(path.join(dir, 'ptv2.db'), {readonly: true});
    const runs = sql.prepare(`SELECT task, method, status, (SELECT max(epoch) FROM metrics m WHERE m.run_id = r.id) AS epochs FROM runs r`).all();
    sql.close();
    assert.deepEqual(runs, [{task: 'rte', method: 'pt2', status: 'completed', epochs: 1}]);
  });
});
