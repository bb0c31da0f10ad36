/**
 * Tests for the synthetic custom-task files: the committed datasets/custom/ being the generator's
 * output, each format readable as its family expects (csv with RFC 4180 quoting, jsonl, CoNLL-style
 * tsv, SQuAD 2.0 json), labels balanced and following from the text, test splits without labels.
 */

import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {parse} from 'csv-parse/sync';
import {RATING_WORDS, TOOLS, csvField} from '../../src/data/synthetic/custom.js';
import {worldVocabulary} from '../../src/data/synthetic/index.js';
import {COLOURS, COUNTRIES, HOBBIES, ORGANISATIONS, PETS, RIVERS, TOWNS, TRADES} from '../../src/data/synthetic/lexicon.js';
import {BY_PATH, content, FILES, share} from '../helpers/synthetic.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SIZES = [['train', 160], ['dev', 60], ['test', 40]] as const;

const wordIn = (word: string, text: string) => new RegExp(`\\b${word}\\b`, 'i').test(text);

describe('custom files', () => {
  test('one file per data set and split, in the expected formats', () => {
    const custom = FILES.filter((file) => file.path.startsWith('custom/')).map((file) => file.path);
    const expected = [['reviews', 'csv'], ['claims', 'jsonl'], ['parts', 'tsv'], ['faq', 'json']].flatMap(([name, ext]) => SIZES.map(([split]) => `custom/${name}/${split}.${ext}`));
    assert.deepEqual(custom, expected);
  });

  test('the committed datasets/custom/ are what the generator writes', () => {
    for (const file of FILES.filter((f) => f.path.startsWith('custom/'))) {
      const committed = path.join(REPO, 'datasets', ...file.path.split('/'));
      assert.ok(fs.existsSync(committed), `${committed} is missing: run npm run datasets`);
      assert.equal(fs.readFileSync(committed, 'utf8'), file.content, `${file.path} is stale: run npm run datasets`);
    }
  });

  test('the world vocabulary covers the new words', () => {
    const known = new Set(worldVocabulary());
    for (const word of ['splendid', 'shoddy', 'stethoscope', 'trolley', 'aldine']) assert.ok(known.has(word), word);
  });
});

describe('csvField', () => {
  const CASES = [
    {input: 'plain text', expected: 'plain text'},
    {input: 'a, b', expected: '"a, b"'},
    {input: 'called "Pip"', expected: '"called ""Pip"""'},
    {input: 'two\nlines', expected: '"two\nlines"'},
    {input: '', expected: ''},
  ];
  for (const {input, expected} of CASES) test(JSON.stringify(input), () => assert.equal(csvField(input), expected));
});

describe('reviews.csv', () => {
  const rows = (split: string): Record<string, string>[] => parse(content(`custom/reviews/${split}.csv`), {columns: true});

  test('header, row count and ids per split; test has no rating', () => {
    let id = 1;
    for (const [split, size] of SIZES) {
      const text = content(`custom/reviews/${split}.csv`);
      const header = split === 'test' ? ['review_id', 'review'] : ['review_id', 'review', 'rating'];
      assert.equal(text.split('\n')[0], header.join(','));
      const found = rows(split);
      assert.equal(found.length, size, split);
      for (const row of found) {
        assert.deepEqual(Object.keys(row), header);
        assert.equal(row.review_id, `r-${String(id++).padStart(4, '0')}`);
      }
    }
  });

  test('quoted fields with commas and doubled quotes read back to the texts', () => {
    const text = content('custom/reviews/train.csv');
    assert.ok(text.includes('""'), 'no doubled quote');
    const reviews = rows('train').map((row) => row.review);
    assert.ok(reviews.some((review) => review.includes(',') && review.includes('"')), 'no review with both a comma and a quote');
    assert.ok(reviews.some((review) => !/[",]/.test(review)), 'every review needs quoting');
    assert.deepEqual(reviews, BY_PATH.get('custom/reviews/train.csv')!.texts);
  });

  test('ratings balanced and given by the rating words', () => {
    for (const split of ['train', 'dev']) {
      const found = rows(split);
      for (const rating of ['good', 'bad', 'mixed']) {
        const p = share(found.map((row) => row.rating), rating);
        assert.ok(p > 0.3 && p < 0.37, `${split}: ${rating} is ${p}`);
      }
      for (const {review, rating} of found) {
        const good = RATING_WORDS.good.some((word) => wordIn(word, review));
        const bad = RATING_WORDS.bad.some((word) => wordIn(word, review));
        assert.equal(rating, good && bad ? 'mixed' : good ? 'good' : 'bad', review);
        assert.ok(good || bad, review);
      }
    }
  });
});

describe('claims.jsonl', () => {
  const records = (split: string) => content(`custom/claims/${split}.jsonl`).trimEnd().split('\n').map((line) => JSON.parse(line));
  // The values of the world a claim can name; ages are numbers.
  const VALUES = [...TOWNS, ...ORGANISATIONS, ...TRADES.map((t) => t.name), ...PETS, ...COLOURS, ...HOBBIES];
  const valuesIn = (text: string) => VALUES.filter((v) => wordIn(v, text)).concat(text.match(/\b\d+\b/g) ?? []);

  test('keys, uids and sizes; test has no verdict', () => {
    let id = 1;
    for (const [split, size] of SIZES) {
      const found = records(split);
      assert.equal(found.length, size);
      for (const record of found) {
        assert.deepEqual(Object.keys(record), split === 'test' ? ['uid', 'claim', 'evidence'] : ['uid', 'claim', 'evidence', 'verdict']);
        assert.equal(record.uid, `c-${String(id++).padStart(4, '0')}`);
      }
    }
  });

  test('verdicts balanced; supported iff the claim denies nothing and names only evidence values', () => {
    for (const split of ['train', 'dev']) {
      const found = records(split);
      assert.equal(share(found.map((r) => r.verdict), 'supported'), 0.5, split);
      for (const {claim, evidence, verdict} of found) {
        const agrees = !/\bnot\b/.test(claim) && valuesIn(claim).every((value) => wordIn(value, evidence));
        assert.equal(verdict, agrees ? 'supported' : 'refuted', `${claim} | ${evidence}`);
      }
    }
  });
});

describe('parts.tsv', () => {
  const sentences = (split: string) => content(`custom/parts/${split}.tsv`).split('\n\n').filter((block) => block !== '').map((block) => block.split('\n').map((line) => line.split('\t')));
  const PLACES = new Set<string>([...TOWNS, ...RIVERS, ...COUNTRIES.map((c) => c.name)]);
  const TOOL_NAMES = new Set([...TOOLS.values()].flat());

  test('index counts 1..n in every sentence; test has no tag column; ends in a blank line', () => {
    for (const [split, size] of SIZES) {
      assert.match(content(`custom/parts/${split}.tsv`), /[^\n]\n\n$/, split);
      const found = sentences(split);
      assert.equal(found.length, size, split);
      for (const rows of found) {
        rows.forEach((fields, i) => {
          assert.equal(fields.length, split === 'test' ? 2 : 3, fields.join('\t'));
          assert.equal(fields[0], String(i + 1), fields.join('\t'));
          assert.match(fields[1], /^\S+$/);
        });
      }
    }
  });

  test('IOB2 tags of TOOL and PLACE, both types and I- tags present, spans are world tools and places', () => {
    for (const split of ['train', 'dev']) {
      const seen = new Set<string>();
      for (const rows of sentences(split)) {
        const spans: {type: string; words: string[]}[] = [];
        let previous = 'O';
        for (const [, word, tag] of rows) {
          const match = /^([BI])-(TOOL|PLACE)$/.exec(tag);
          if (match === null) assert.equal(tag, 'O', word);
          else if (match[1] === 'B') spans.push({type: match[2], words: [word]});
          else {
            assert.ok(previous.endsWith(`-${match[2]}`), `${tag} after ${previous}`);
            spans.at(-1)!.words.push(word);
          }
          seen.add(tag);
          previous = tag;
        }
        for (const {type, words} of spans) assert.ok((type === 'PLACE' ? PLACES : TOOL_NAMES).has(words.join(' ')), `${type} ${words.join(' ')}`);
      }
      for (const tag of ['B-TOOL', 'I-TOOL', 'B-PLACE', 'I-PLACE', 'O']) assert.ok(seen.has(tag), `${split} has no ${tag}`);
    }
  });
});

describe('faq.json', () => {
  const read = (split: string) => JSON.parse(content(`custom/faq/${split}.json`));
  const questions = (split: string) => read(split).data.flatMap((a: any) => a.paragraphs.flatMap((p: any) => p.qas.map((qa: any) => ({...qa, context: p.context}))));

  test('SQuAD 2.0 layout, question counts, ids; test questions carry no answers', () => {
    let id = 1;
    for (const [split, size] of SIZES) {
      const json = read(split);
      assert.equal(json.version, 'v2.0');
      for (const article of json.data) {
        assert.equal(typeof article.title, 'string');
        for (const paragraph of article.paragraphs) assert.deepEqual(Object.keys(paragraph), ['context', 'qas']);
      }
      const found = questions(split);
      assert.equal(found.length, size);
      for (const qa of found) {
        assert.equal(qa.id, `faq-${String(id++).padStart(4, '0')}`);
        assert.deepEqual(Object.keys(qa), split === 'test' ? ['id', 'question', 'context'] : ['id', 'question', 'answers', 'is_impossible', 'context']);
      }
    }
  });

  test('answer_start slices each answer out of its context; 10-30% unanswerable', () => {
    for (const split of ['train', 'dev']) {
      const found = questions(split);
      for (const {context, question, answers, is_impossible} of found) {
        assert.equal(is_impossible, answers.length === 0, question);
        for (const answer of answers) assert.equal(context.slice(answer.answer_start, answer.answer_start + answer.text.length), answer.text, question);
      }
      const p = share(found.map((qa: any) => qa.is_impossible), true);
      assert.ok(p >= 0.1 && p <= 0.3, `${split}: ${p}`);
    }
  });

  test('contexts about one person: each answerable question names the title person or their town', () => {
    for (const article of read('train').data) {
      const name = article.title.replace(/_\(\d+\)$/, '').replace(/_/g, ' ');
      for (const {context, qas} of article.paragraphs) {
        assert.ok(context.startsWith(name), context);
        for (const qa of qas) if (!qa.is_impossible) assert.ok(qa.question.includes(name) || /runs through|country is/.test(qa.question), qa.question);
      }
    }
  });
});
