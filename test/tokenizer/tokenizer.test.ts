/**
 * The tokenizer layer through its real entry point, loadTokenizer, on checkpoint directories
 * written into a temp dir: a BERT vocab.txt (lower-cased and cased), tokenizer.json files, and a
 * RoBERTa vocab.json + merges.txt with hand-made merges. Expected ids are worked out by hand from
 * the vocabularies below.
 */

import {test, describe} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {UserError} from '../../src/errors.js';
import {
  buildByteLevelBpeTokenizerJson,
  buildWordPieceTokenizerJson,
  loadTokenizer,
  truncateLongestFirst,
} from '../../src/tokenizer/index.js';

// Line index = id.
const BERT_VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', // 0-4
  'the', 'cat', '##s', 'sat', 'hello', // 5-9
  'world', ',', '!', 'cafe', 'café', // 10-14
  '中', '文', 'on', 'mat', 'un', // 15-19
  '##believ', '##able', 'a', '##a', 'Café', // 20-24
];

const ROBERTA_VOCAB: Record<string, number> = {
  '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3, 'l': 4, 'o': 5, 'w': 6, 'e': 7, 'r': 8,
  'lo': 9, 'low': 10, 'er': 11, 'Ġ': 12, 'Ġlow': 13, '<mask>': 14,
};
// `lower` → l o w e r → lo w e r → low e r → low er; with the space, Ġ low er → Ġlow er.
const ROBERTA_MERGES = '#version: 0.2\nl o\nlo w\ne r\nĠ low\n';

function writeCheckpoint(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

const vocabTxt = (tokens: string[]) => tokens.join('\n') + '\n';

const bertDir = writeCheckpoint({'vocab.txt': vocabTxt(BERT_VOCAB)});
const casedDir = writeCheckpoint({
  'vocab.txt': vocabTxt(BERT_VOCAB),
  'tokenizer_config.json': JSON.stringify({do_lower_case: false}),
});
const robertaDir = writeCheckpoint({'vocab.json': JSON.stringify(ROBERTA_VOCAB), 'merges.txt': ROBERTA_MERGES});

/** Segment lengths without specials, read off the token types of a BERT pair encoding. */
function segmentLengths(tokenTypeIds: number[]): [number, number] {
  const zeros = tokenTypeIds.filter((t) => t === 0).length;
  return [zeros - 2, tokenTypeIds.length - zeros - 1];
}

describe('WordPiece tokenizer from vocab.txt', () => {
  const tokenizer = loadTokenizer(bertDir);
  const cased = loadTokenizer(casedDir);
  const forcedLower = loadTokenizer(casedDir, {lowercase: true});

  const CASES = [
    {name: 'unknown word is [UNK]', tok: tokenizer, input: 'the zebra', expected: ['the', '[UNK]']},
    {name: 'lower-casing strips accents', tok: tokenizer, input: 'Café', expected: ['cafe']},
    {name: 'do_lower_case false keeps case and accents', tok: cased, input: 'Café café', expected: ['Café', 'café']},
    {name: 'do_lower_case false leaves unseen capitals unknown', tok: cased, input: 'The cat', expected: ['[UNK]', 'cat']},
    {name: 'lowercase option overrides tokenizer_config', tok: forcedLower, input: 'Café', expected: ['cafe']},
    {name: 'punctuation is split off', tok: tokenizer, input: 'hello,world!', expected: ['hello', ',', 'world', '!']},
    {name: 'each Chinese character is a token', tok: tokenizer, input: 'the中文', expected: ['the', '中', '文']},
    {name: '## continuation', tok: tokenizer, input: 'cats', expected: ['cat', '##s']},
    {name: 'several continuations', tok: tokenizer, input: 'Unbelievable', expected: ['un', '##believ', '##able']},
    {name: 'a 100-char word is still split', tok: tokenizer, input: 'a'.repeat(100), expected: ['a', ...Array(99).fill('##a')]},
    {name: 'a word over 100 chars is one [UNK]', tok: tokenizer, input: 'a'.repeat(101), expected: ['[UNK]']},
    {name: 'empty text has no tokens', tok: tokenizer, input: '', expected: []},
  ];
  for (const {name, tok, input, expected} of CASES) {
    test(name, () => assert.deepEqual(tok.tokenize(input), expected));
  }

  test('special tokens, their ids and the vocabulary size', () => {
    const {clsToken, sepToken, padToken, unkToken, maskToken, clsId, sepId, padId, unkId, maskId, vocabSize} = tokenizer;
    assert.deepEqual(
      {clsToken, sepToken, padToken, unkToken, maskToken, clsId, sepId, padId, unkId, maskId, vocabSize},
      {
        clsToken: '[CLS]', sepToken: '[SEP]', padToken: '[PAD]', unkToken: '[UNK]', maskToken: '[MASK]',
        clsId: 2, sepId: 3, padId: 0, unkId: 1, maskId: 4, vocabSize: 25,
      },
    );
  });

  test('a single text gets [CLS] A [SEP], all type 0', () => {
    assert.deepEqual(tokenizer.encode('the cat sat', undefined, 128), {
      inputIds: [2, 5, 6, 8, 3],
      tokenTypeIds: [0, 0, 0, 0, 0],
      truncated: false,
    });
  });

  test('a pair gets [CLS] A [SEP] B [SEP] with types 0 then 1', () => {
    assert.deepEqual(tokenizer.encode('the cats', 'hello world', 128), {
      inputIds: [2, 5, 6, 7, 3, 9, 10, 3],
      tokenTypeIds: [0, 0, 0, 0, 0, 1, 1, 1],
      truncated: false,
    });
  });

  test('decode gives the text back with its special tokens', () => {
    const {inputIds} = tokenizer.encode('the cats', 'hello world', 128);
    assert.equal(tokenizer.decode(inputIds), '[CLS] the cats [SEP] hello world [SEP]');
    assert.equal(tokenizer.decode([]), '');
  });
});

describe('longest-first truncation', () => {
  const tokenizer = loadTokenizer(bertDir);
  // 'the cats sat on the mat' = the cat ##s sat on the mat (7 tokens).
  const CASES = [
    {
      name: 'the longer segment is cut until it matches the budget',
      input: {a: 'the cats sat on the mat', b: 'hello world', maxLength: 8},
      expected: {lengths: [3, 2], inputIds: [2, 5, 6, 7, 3, 9, 10, 3], truncated: true},
    },
    {
      name: 'equal segments lose from the second first',
      input: {a: 'the cat sat on', b: 'hello world,!', maxLength: 8},
      expected: {lengths: [3, 2], inputIds: [2, 5, 6, 8, 3, 9, 10, 3], truncated: true},
    },
    {
      name: 'both segments shrink once they are level',
      input: {a: 'the cats sat on the mat', b: 'hello world,!', maxLength: 7},
      expected: {lengths: [2, 2], inputIds: [2, 5, 6, 3, 9, 10, 3], truncated: true},
    },
    {
      name: 'a pair that fits exactly is untouched',
      input: {a: 'the cats', b: 'hello world', maxLength: 8},
      expected: {lengths: [3, 2], inputIds: [2, 5, 6, 7, 3, 9, 10, 3], truncated: false},
    },
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => {
      const encoded = tokenizer.encode(input.a, input.b, input.maxLength);
      assert.deepEqual(segmentLengths(encoded.tokenTypeIds), expected.lengths);
      assert.deepEqual(encoded.inputIds, expected.inputIds);
      assert.equal(encoded.truncated, expected.truncated);
    });
  }

  test('a single text is cut from the end', () => {
    assert.deepEqual(tokenizer.encode('the cats sat on the mat', undefined, 5), {
      inputIds: [2, 5, 6, 7, 3],
      tokenTypeIds: [0, 0, 0, 0, 0],
      truncated: true,
    });
  });

  test('kept lengths follow HF longest_first', () => {
    assert.deepEqual(truncateLongestFirst(7, 2, 5), [3, 2]);
    assert.deepEqual(truncateLongestFirst(5, 5, 7), [4, 3]);
    assert.deepEqual(truncateLongestFirst(1, 9, 4), [1, 3]);
    assert.deepEqual(truncateLongestFirst(2, 2, 10), [2, 2]);
  });

  test('a max length below the special tokens is a user error', () => {
    assert.throws(
      () => tokenizer.encode('the', 'cat', 2),
      (error: unknown) => error instanceof UserError && /max length 2 .* 3 special tokens/.test(error.message),
    );
  });
});

describe('word-aligned encoding', () => {
  const tokenizer = loadTokenizer(bertDir);
  const words = ['The', 'cats', 'sat', 'on', 'the', 'mat'];
  const CASES = [
    {
      name: 'each word points at its first sub-token',
      input: {maxLength: 128, textB: undefined},
      expected: {
        inputIds: [2, 5, 6, 7, 8, 17, 5, 18, 3],
        tokenTypeIds: [0, 0, 0, 0, 0, 0, 0, 0, 0],
        truncated: false,
        wordStarts: [1, 2, 4, 5, 6, 7],
      },
    },
    {
      name: 'a second segment (the SRL predicate) follows with type 1',
      input: {maxLength: 128, textB: 'sat'},
      expected: {
        inputIds: [2, 5, 6, 7, 8, 17, 5, 18, 3, 8, 3],
        tokenTypeIds: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
        truncated: false,
        wordStarts: [1, 2, 4, 5, 6, 7],
      },
    },
    {
      name: 'words that do not fit are dropped from the end and get -1',
      input: {maxLength: 6, textB: undefined},
      expected: {
        inputIds: [2, 5, 6, 7, 8, 3],
        tokenTypeIds: [0, 0, 0, 0, 0, 0],
        truncated: true,
        wordStarts: [1, 2, 4, -1, -1, -1],
      },
    },
    {
      name: 'a split word is dropped whole rather than cut',
      input: {maxLength: 4, textB: undefined},
      expected: {inputIds: [2, 5, 3], tokenTypeIds: [0, 0, 0], truncated: true, wordStarts: [1, -1, -1, -1, -1, -1]},
    },
    {
      name: 'with a second segment the first loses words',
      input: {maxLength: 7, textB: 'sat'},
      expected: {
        inputIds: [2, 5, 6, 7, 3, 8, 3],
        tokenTypeIds: [0, 0, 0, 0, 0, 1, 1],
        truncated: true,
        wordStarts: [1, 2, -1, -1, -1, -1],
      },
    },
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => assert.deepEqual(tokenizer.encodeWords(words, input.maxLength, input.textB), expected));
  }

  test('a word that tokenises to nothing keeps a slot as [UNK]', () => {
    const encoded = tokenizer.encodeWords(['the', '\u0007', 'cat'], 128);
    assert.deepEqual(encoded.inputIds, [2, 5, 1, 6, 3]);
    assert.deepEqual(encoded.wordStarts, [1, 2, 3]);
  });
});

describe('tokenizer.json', () => {
  const json = buildWordPieceTokenizerJson(BERT_VOCAB, {lowercase: true, stripAccents: null});
  // A vocab.txt without special tokens next to it would fail to load: tokenizer.json must win.
  const dir = writeCheckpoint({'tokenizer.json': JSON.stringify(json), 'vocab.txt': 'junk\n'});

  test('is preferred over vocab.txt and encodes pairs', () => {
    assert.deepEqual(loadTokenizer(dir).encode('The cats', 'hello world', 128), {
      inputIds: [2, 5, 6, 7, 3, 9, 10, 3],
      tokenTypeIds: [0, 0, 0, 0, 0, 1, 1, 1],
      truncated: false,
    });
  });

  test('lowercase option turns its lower-casing off', () => {
    assert.deepEqual(loadTokenizer(dir, {lowercase: false}).tokenize('Café The'), ['Café', '[UNK]']);
  });

  test('RobertaProcessing gives every token type 0', () => {
    const roberta = buildByteLevelBpeTokenizerJson(ROBERTA_VOCAB, ['l o', 'lo w', 'e r', 'Ġ low']);
    const withRobertaProcessing = {
      ...roberta,
      post_processor: {type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false},
    };
    const robertaJsonDir = writeCheckpoint({'tokenizer.json': JSON.stringify(withRobertaProcessing)});
    assert.deepEqual(loadTokenizer(robertaJsonDir).encode('low', 'lower', 128), {
      inputIds: [0, 10, 2, 2, 10, 11, 2],
      tokenTypeIds: [0, 0, 0, 0, 0, 0, 0],
      truncated: false,
    });
  });
});

describe('byte-level BPE from vocab.json + merges.txt', () => {
  const tokenizer = loadTokenizer(robertaDir);

  test('merges apply in rank order and a space becomes Ġ', () => {
    assert.deepEqual(tokenizer.tokenize('low lower'), ['low', 'Ġlow', 'er']);
  });

  test('special tokens are RoBERTa\'s', () => {
    const {clsToken, sepToken, padToken, unkToken, maskToken, clsId, sepId, padId, unkId, maskId} = tokenizer;
    assert.deepEqual(
      {clsToken, sepToken, padToken, unkToken, maskToken, clsId, sepId, padId, unkId, maskId},
      {clsToken: '<s>', sepToken: '</s>', padToken: '<pad>', unkToken: '<unk>', maskToken: '<mask>', clsId: 0, sepId: 2, padId: 1, unkId: 3, maskId: 14},
    );
  });

  test('single and pair templates are <s> A </s> and <s> A </s></s> B </s>, all type 0', () => {
    assert.deepEqual(tokenizer.encode('low lower', undefined, 128), {
      inputIds: [0, 10, 13, 11, 2],
      tokenTypeIds: [0, 0, 0, 0, 0],
      truncated: false,
    });
    assert.deepEqual(tokenizer.encode('low', 'lower', 128), {
      inputIds: [0, 10, 2, 2, 10, 11, 2],
      tokenTypeIds: [0, 0, 0, 0, 0, 0, 0],
      truncated: false,
    });
  });

  test('words after the first are tokenised with their leading space', () => {
    assert.deepEqual(tokenizer.encodeWords(['low', 'lower'], 128), {
      inputIds: [0, 10, 13, 11, 2],
      tokenTypeIds: [0, 0, 0, 0, 0],
      truncated: false,
      wordStarts: [1, 2],
    });
  });

  test('decode restores the spaces', () => {
    assert.equal(tokenizer.decode([0, 10, 13, 11, 2]), '<s>low lower</s>');
  });
});

describe('load errors', () => {
  const CASES: {name: string; files: Record<string, string>; fileInMessage: string; expected: RegExp}[] = [
    {
      name: 'no tokenizer files names the dir and the files looked for',
      files: {'config.json': '{}'},
      fileInMessage: '',
      expected: /: no tokenizer found: looked for tokenizer\.json, or vocab\.txt, or vocab\.json \+ merges\.txt/,
    },
    {
      name: 'vocab.json without merges.txt is not a tokenizer',
      files: {'vocab.json': JSON.stringify(ROBERTA_VOCAB)},
      fileInMessage: '',
      expected: /no tokenizer found/,
    },
    {
      name: 'a vocab.txt lacking a special token names it',
      files: {'vocab.txt': vocabTxt(BERT_VOCAB.filter((t) => t !== '[MASK]'))},
      fileInMessage: 'vocab.txt',
      expected: /vocab\.txt: the vocabulary has no special token \[MASK\]/,
    },
    {
      name: 'a vocab.json lacking a special token names it',
      files: {'vocab.json': JSON.stringify({...ROBERTA_VOCAB, '<pad>': undefined}), 'merges.txt': ROBERTA_MERGES},
      fileInMessage: 'vocab.json',
      expected: /vocab\.json: the vocabulary has no special token <pad>/,
    },
    {
      name: 'a malformed merge names its line',
      files: {'vocab.json': JSON.stringify(ROBERTA_VOCAB), 'merges.txt': '#version: 0.2\nl o\nlow\n'},
      fileInMessage: 'merges.txt',
      expected: /merges\.txt:3: expected two symbols separated by one space, got "low"/,
    },
    {
      name: 'an unparsable tokenizer.json names the file',
      files: {'tokenizer.json': '{"model": '},
      fileInMessage: 'tokenizer.json',
      expected: /tokenizer\.json: not valid JSON/,
    },
    {
      name: 'a malformed tokenizer_config.json names the file',
      files: {'vocab.txt': vocabTxt(BERT_VOCAB), 'tokenizer_config.json': '[1, 2]'},
      fileInMessage: 'tokenizer_config.json',
      expected: /tokenizer_config\.json: expected a JSON object/,
    },
  ];
  for (const {name, files, fileInMessage, expected} of CASES) {
    test(name, () => {
      const dir = writeCheckpoint(files);
      assert.throws(
        () => loadTokenizer(dir),
        (error: unknown) =>
          error instanceof UserError && error.message.startsWith(path.join(dir, fileInMessage)) && expected.test(error.message),
      );
    });
  }

  test('a missing checkpoint directory is named', () => {
    const missing = path.join(os.tmpdir(), 'ptv2-does-not-exist', 'bert');
    assert.throws(() => loadTokenizer(missing), {name: 'UserError', message: `${missing}: checkpoint directory does not exist`});
  });
});
