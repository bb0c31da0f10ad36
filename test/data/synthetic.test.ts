/**
 * Tests for the synthetic data sets: determinism, the committed files being the generator's output,
 * SuperGLUE files readable by the readers with balanced labels that follow the text, and the NER,
 * SQuAD and SRL files being well-formed in their formats.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {SUPERGLUE_DIRS, SUPERGLUE_LABELS, SUPERGLUE_TASKS, readSuperGlue, type SuperGlueTask} from '../../src/data/superglue.js';
import type {Example, PairExample} from '../../src/data/types.js';
import {generateDatasets, syntheticFiles, worldVocabulary} from '../../src/data/synthetic/index.js';
import {COLOURS, HOBBIES, ORGANISATIONS, PETS, TOWNS, TRADES} from '../../src/data/synthetic/lexicon.js';
import {preTokenize} from '../../src/data/synthetic/vocabulary.js';
import {content, FILES, share} from '../helpers/synthetic.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const OUT = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
const WRITTEN = generateDatasets(OUT);

describe('determinism', () => {
  test('the same seed writes byte-identical files, another seed different ones', () => {
    const [a, b, c] = [11, 11, 12].map((seed) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
      const {files} = generateDatasets(dir, {seed, scale: 0.2});
      return new Map(files.map((file) => [path.relative(dir, file), fs.readFileSync(file)]));
    });
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${name} differs between two runs`);
    for (const [name, bytes] of a) assert.ok(!bytes.equals(c.get(name)!), `${name} is the same for seeds 11 and 12`);
  });

  test('scale changes the number of examples, not the layout', () => {
    const small = syntheticFiles(42, 0.1);
    assert.deepEqual(small.map((f) => f.path), FILES.map((f) => f.path));
    const lines = (text: string) => text.trim().split('\n').length;
    assert.equal(lines(small.find((f) => f.path === 'superglue/RTE/train.jsonl')!.content), 40);
    assert.equal(lines(content('superglue/RTE/train.jsonl')), 400);
  });

  test('the committed datasets/ are what the generator writes', () => {
    for (const file of FILES) {
      const committed = path.join(REPO, 'datasets', ...file.path.split('/'));
      assert.ok(fs.existsSync(committed), `${committed} is missing: run scripts/make-datasets.ts`);
      assert.equal(fs.readFileSync(committed, 'utf8'), file.content, `${file.path} is stale: run scripts/make-datasets.ts`);
    }
  });

  test('the files stay small', () => {
    const bytes = FILES.reduce((sum, file) => sum + Buffer.byteLength(file.content), 0);
    assert.ok(bytes < 3_000_000, `${bytes} bytes`);
    assert.equal(WRITTEN.files.length, FILES.length);
  });
});

describe('SuperGLUE', () => {
  const read = (task: SuperGlueTask, split: string): Example[] => readSuperGlue(task, path.join(OUT, 'superglue', SUPERGLUE_DIRS[task], `${split}.jsonl`));
  const labels = (examples: Example[]) => examples.map((example) => (example.kind === 'pair' || example.kind === 'choice' ? example.label : undefined));

  for (const task of SUPERGLUE_TASKS) {
    test(`${SUPERGLUE_DIRS[task]}: every split reads back; train and val labelled, test not`, () => {
      for (const split of ['train', 'val', 'test']) {
        const found = labels(read(task, split));
        assert.ok(found.length > 0, `${split} is empty`);
        if (split === 'test') assert.ok(found.every((label) => label === null), 'test has labels');
        else assert.ok(found.every((label) => label !== null), `${split} lacks labels`);
      }
    });
  }

  const BINARY: {task: SuperGlueTask; label: string | number}[] = [
    {task: 'rte', label: 'entailment'},
    {task: 'boolq', label: 'true'},
    {task: 'wic', label: 'true'},
    {task: 'wsc', label: 'true'},
    {task: 'copa', label: 0},
  ];
  for (const {task, label} of BINARY) {
    test(`${SUPERGLUE_DIRS[task]}: classes balanced in train and val`, () => {
      for (const split of ['train', 'val']) {
        const p = share(labels(read(task, split)), label);
        assert.ok(p >= 0.45 && p <= 0.55, `${split}: ${label} is ${p}`);
      }
    });
  }

  test('CB: skewed like the real one, neutral rare but present', () => {
    const found = labels(read('cb', 'train'));
    const [entailment, contradiction, neutral] = SUPERGLUE_LABELS.cb.map((label) => share(found, label));
    assert.ok(entailment > 0.35 && contradiction > 0.35, `${entailment} ${contradiction}`);
    assert.ok(neutral > 0.05 && neutral < 0.2, `${neutral}`);
  });

  test('MultiRC: 30-60% of answer options are right, every question has a right one', () => {
    const examples = read('multirc', 'train') as PairExample[];
    const p = share(examples.map((e) => e.label), 'true');
    assert.ok(p > 0.3 && p < 0.6, `${p}`);
    const groups = new Map<string, string[]>();
    for (const e of examples) groups.set(e.group!, [...(groups.get(e.group!) ?? []), e.label!]);
    for (const [group, found] of groups) assert.ok(found.includes('true') && found.includes('false'), group);
  });

  test('ReCoRD: every query has exactly one right candidate among several', () => {
    const examples = read('record', 'val') as PairExample[];
    const groups = new Map<string, string[]>();
    for (const e of examples) groups.set(e.group!, [...(groups.get(e.group!) ?? []), e.label!]);
    for (const [group, found] of groups) {
      assert.equal(found.filter((label) => label === 'true').length, 1, group);
      assert.ok(found.length >= 5, group);
    }
  });

  // A rule that reads the answer off the text must score far above chance: the labels are learnable.
  const VALUES = [...TOWNS, ...ORGANISATIONS, ...TRADES.map((t) => t.name), ...PETS, ...COLOURS, ...HOBBIES];
  const valuesIn = (text: string) => VALUES.filter((v) => new RegExp(`\\b${v}\\b`, 'i').test(text)).concat(text.match(/\b\d+\b/g) ?? []);
  const LEARNABLE: {task: SuperGlueTask; positive: string; rule: (e: PairExample) => boolean}[] = [
    // entailment iff the hypothesis denies nothing and every value it names is in the premise
    {task: 'rte', positive: 'entailment', rule: (e) => !/\bnot\b/.test(e.textB!) && valuesIn(e.textB!).every((v) => e.textA.toLowerCase().includes(v.toLowerCase()))},
    // true iff every value the question names is in the passage
    {task: 'boolq', positive: 'true', rule: (e) => valuesIn(e.textA).every((v) => e.textB!.toLowerCase().includes(v.toLowerCase()))},
  ];
  for (const {task, positive, rule} of LEARNABLE) {
    test(`${SUPERGLUE_DIRS[task]}: a reading rule beats chance`, () => {
      const examples = read(task, 'val') as PairExample[];
      const right = examples.filter((e) => rule(e) === (e.label === positive)).length;
      assert.ok(right / examples.length > 0.9, `${right}/${examples.length}`);
    });
  }

  test('WiC offsets mark the word in both sentences', () => {
    for (const line of content('superglue/WiC/train.jsonl').trim().split('\n')) {
      const r = JSON.parse(line);
      assert.equal(r.sentence1.slice(r.start1, r.end1), r.word);
      assert.equal(r.sentence2.slice(r.start2, r.end2), r.word);
    }
  });

  test('WSC spans name the words at their indices', () => {
    for (const line of content('superglue/WSC/val.jsonl').trim().split('\n')) {
      const {text, target} = JSON.parse(line);
      const words = text.split(' ');
      assert.equal(words[target.span1_index], target.span1_text);
      assert.equal(words[target.span2_index], target.span2_text);
    }
  });
});

describe('NER', () => {
  const SCHEMES = [
    {dir: 'conll03', columns: 4, separator: ' ', types: ['PER', 'LOC', 'ORG', 'MISC']},
    {dir: 'ontonotes', columns: 2, separator: '\t', types: ['PERSON', 'GPE', 'LOC', 'ORG', 'NORP', 'EVENT', 'DATE', 'CARDINAL', 'MONEY']},
    {dir: 'conll04', columns: 4, separator: ' ', types: ['Peop', 'Loc', 'Org', 'Other']},
  ];
  for (const {dir, columns, separator, types} of SCHEMES) {
    test(`${dir}: one token and one IOB2 tag per line, every type used`, () => {
      for (const split of ['train', 'dev', 'test']) {
        const text = content(`ner/${dir}/${split}.txt`);
        assert.equal(text.startsWith('-DOCSTART- -X- -X- O\n\n'), dir === 'conll03');
        const seen = new Set<string>();
        let previous = 'O';
        for (const line of text.split('\n')) {
          if (line === '' || line.startsWith('-DOCSTART-')) {
            previous = 'O';
            continue;
          }
          const fields = line.split(separator);
          assert.equal(fields.length, columns, line);
          const tag = fields[columns - 1];
          const match = /^([BI])-(.+)$/.exec(tag);
          if (match === null) {
            assert.equal(tag, 'O', line);
          } else {
            assert.ok(types.includes(match[2]), line);
            if (match[1] === 'I') assert.ok(previous.endsWith(`-${match[2]}`), `${line} after ${previous}`);
            seen.add(match[2]);
          }
          previous = tag;
        }
        if (split === 'train') assert.deepEqual([...seen].sort(), [...types].sort());
      }
    });
  }
});

describe('SQuAD', () => {
  for (const [dir, version] of [['squad', '1.1'], ['squad_v2', 'v2.0']]) {
    test(`${dir}: answer_start points at the answer, ids unique`, () => {
      const ids = new Set<string>();
      let impossible = 0;
      let questions = 0;
      for (const split of ['train', 'dev']) {
        const json = JSON.parse(content(`qa/${dir}/${split}.json`));
        assert.equal(json.version, version);
        for (const article of json.data) {
          assert.equal(typeof article.title, 'string');
          for (const {context, qas} of article.paragraphs) {
            for (const qa of qas) {
              questions++;
              assert.ok(!ids.has(qa.id), qa.id);
              ids.add(qa.id);
              for (const answer of [...qa.answers, ...(qa.plausible_answers ?? [])]) {
                assert.equal(context.slice(answer.answer_start, answer.answer_start + answer.text.length), answer.text, qa.question);
              }
              if (version === '1.1') {
                assert.ok(qa.answers.length > 0 && !('is_impossible' in qa));
              } else {
                assert.equal(qa.is_impossible, qa.answers.length === 0);
                if (qa.is_impossible) impossible++;
              }
            }
          }
        }
      }
      if (version === 'v2.0') assert.ok(impossible / questions > 0.2 && impossible / questions < 0.5, `${impossible}/${questions}`);
    });
  }
});

describe('SRL', () => {
  const FILES_SRL = ['conll05/train', 'conll05/dev', 'conll05/test_wsj', 'conll05/test_brown', 'conll12/train', 'conll12/dev', 'conll12/test'];
  for (const name of FILES_SRL) {
    test(`${name}: as many tags as words, the predicate tagged B-V`, () => {
      for (const line of content(`srl/${name}.txt`).trim().split('\n')) {
        const [left, right] = line.split(' ||| ');
        const [index, ...words] = left.split(' ');
        const tags = right.split(' ');
        assert.equal(tags.length, words.length, line);
        assert.equal(tags[Number(index)], 'B-V', line);
        assert.equal(tags.filter((tag) => tag === 'B-V').length, 1, line);
        tags.forEach((tag, i) => {
          if (tag.startsWith('I-')) assert.ok(tags[i - 1].slice(2) === tag.slice(2), line);
        });
      }
    });
  }
});

describe('worldVocabulary', () => {
  const vocabulary = worldVocabulary();

  test('sorted, distinct, lower-case', () => {
    assert.deepEqual(vocabulary, [...new Set(vocabulary)].sort());
    assert.ok(vocabulary.every((word) => word === word.toLowerCase() && !/\s/.test(word)));
  });

  test('covers every word the generated text shows', () => {
    const known = new Set(vocabulary);
    for (const file of FILES) {
      for (const text of file.texts) for (const word of preTokenize(text)) assert.ok(known.has(word), `${word} from ${file.path}`);
    }
    for (const word of ['delbrook', 'because', 'so', '.', ',', 'ulric', '-']) assert.ok(known.has(word), word);
  });

  test('the same seed gives the same vocabulary', () => {
    assert.deepEqual(worldVocabulary(), vocabulary);
  });
});

describe('preTokenize', () => {
  const CASES = [
    {input: "Mara's Café, 34!", expected: ['mara', "'", 's', 'cafe', ',', '34', '!']},
    {input: '  @placeholder\tlives\nin  Port-Aldine. ', expected: ['@', 'placeholder', 'lives', 'in', 'port', '-', 'aldine', '.']},
    {input: '$5 ~ «quoted»', expected: ['$', '5', '~', '«', 'quoted', '»']},
  ];
  for (const {input, expected} of CASES) test(JSON.stringify(input), () => assert.deepEqual(preTokenize(input), expected));
});
