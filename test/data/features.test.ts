/**
 * Tagging features: each word's first sub-token carries its tag index, the rest -1; a tag the
 * training file lacks is refused in training data and counted (left unlabelled) in dev/test data.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {buildTaggingFeatures} from '../../src/data/features.js';
import type {TaggingExample} from '../../src/data/types.js';
import {buildWordPieceTokenizerJson, tokenizerFromJson} from '../../src/tokenizer/index.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'ivo', 'sal', '##low', 'rows', 'home', '.'];
const tokenizer = tokenizerFromJson(buildWordPieceTokenizerJson(VOCAB, {lowercase: true, stripAccents: null}));
const TAGS = ['O', 'B-PER', 'I-PER'];

function sentence(tags: string[]): TaggingExample {
  return {kind: 'tagging', id: 0, words: ['Ivo', 'Sallow', 'rows', 'home', '.'], tags, line: 7};
}

test('the first sub-token of each word carries its tag; continuation pieces and specials are -1', () => {
  const {features, unseenTags} = buildTaggingFeatures([sentence(['B-PER', 'I-PER', 'O', 'O', 'O'])], tokenizer, TAGS, 32);
  // [CLS] ivo sal ##low rows home . [SEP]
  assert.deepEqual(features[0].tokenLabels, [-1, 1, 2, -1, 0, 0, 0, -1]);
  assert.deepEqual(features[0].wordStarts, [1, 2, 4, 5, 6]);
  assert.equal(unseenTags, undefined);
});

test('an unseen tag: refused with file, line and field in training data; counted and unlabelled in dev/test', () => {
  const example = sentence(['B-PER', 'I-PER', 'O', 'B-LOC', 'O']);
  assert.throws(
    () => buildTaggingFeatures([example], tokenizer, TAGS, 32, 'train.txt'),
    (error: Error) => error.message.startsWith('train.txt:7 tags[3]: unknown tag "B-LOC"'),
  );
  const {features, unseenTags} = buildTaggingFeatures([example, example], tokenizer, TAGS, 32, 'test.txt', 'count');
  assert.deepEqual(unseenTags, {'B-LOC': 2});
  assert.deepEqual(features[0].tokenLabels, [-1, 1, 2, -1, 0, -1, 0, -1]);
});
