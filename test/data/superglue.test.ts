/**
 * Tests for the SuperGLUE readers: the Examples each task's lines become (input templates included),
 * unlabelled test files, CRLF/Unicode/blank lines, and errors that name file, line and field.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {UserError} from '../../src/errors.js';
import {SUPERGLUE_DIRS, SUPERGLUE_LABELS, SUPERGLUE_TASKS, parseSuperGlue, readSuperGlue, type SuperGlueTask} from '../../src/data/superglue.js';
import type {Example} from '../../src/data/types.js';

const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));

function writeJsonl(name: string, lines: (object | string)[], eol = '\n'): string {
  const file = path.join(DIR, name);
  fs.writeFileSync(file, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join(eol));
  return file;
}

// ReCoRD passage with an astral character first, so UTF-16 and code-point offsets differ by one.
// Code points: 🙂0 ␠1 "Mara Voss"2–10 ␠met␠ "Tobin"16–20 ␠in␠ "Delbrook"25–32 .33 ⏎34
// "@highlight"35–44 ⏎45 "Voss"46–49 ␠visits␠ "Delbrook"58–65
const RECORD_TEXT = '🙂 Mara Voss met Tobin in Delbrook.\n@highlight\nVoss visits Delbrook';
const RECORD_SHOWN = '🙂 Mara Voss met Tobin in Delbrook.\n- Voss visits Delbrook';
const RECORD_ENTITIES = [{start: 58, end: 65}, {start: 2, end: 10}, {start: 16, end: 20}, {start: 25, end: 32}, {start: 46, end: 49}];

const CASES: {name: string; task: SuperGlueTask; lines: (object | string)[]; eol?: string; expected: Example[]}[] = [
  {
    name: 'RTE with CRLF, Unicode and a blank trailing line',
    task: 'rte',
    eol: '\r\n',
    lines: [
      {premise: 'Zoë Ärkell lives in Delbrook.', hypothesis: 'Zoë Ärkell lives in Delbrook.', label: 'entailment', idx: 0},
      {premise: 'Tobin is a baker — in Quillmere.', hypothesis: 'Tobin is a tailor.', label: 'not_entailment', idx: 1},
      '',
    ],
    expected: [
      {kind: 'pair', id: 0, textA: 'Zoë Ärkell lives in Delbrook.', textB: 'Zoë Ärkell lives in Delbrook.', label: 'entailment', line: 1},
      {kind: 'pair', id: 1, textA: 'Tobin is a baker — in Quillmere.', textB: 'Tobin is a tailor.', label: 'not_entailment', line: 2},
    ],
  },
  {
    name: 'CB, all three labels, blank line in between',
    task: 'cb',
    lines: [
      {premise: 'Ivo knows that Mara keeps a goat.', hypothesis: 'Mara keeps a goat.', label: 'entailment', idx: 0},
      '   ',
      {premise: 'Ivo knows that Mara keeps a goat.', hypothesis: 'Mara does not keep a goat.', label: 'contradiction', idx: 1},
      {premise: 'Ivo knows that Mara keeps a goat.', hypothesis: 'Mara is a baker.', label: 'neutral', idx: 2},
    ],
    expected: [
      {kind: 'pair', id: 0, textA: 'Ivo knows that Mara keeps a goat.', textB: 'Mara keeps a goat.', label: 'entailment', line: 1},
      {kind: 'pair', id: 1, textA: 'Ivo knows that Mara keeps a goat.', textB: 'Mara does not keep a goat.', label: 'contradiction', line: 3},
      {kind: 'pair', id: 2, textA: 'Ivo knows that Mara keeps a goat.', textB: 'Mara is a baker.', label: 'neutral', line: 4},
    ],
  },
  {
    name: 'BoolQ: (question, passage), boolean labels',
    task: 'boolq',
    lines: [
      {question: 'does mara live in delbrook', passage: 'Mara lives in Delbrook.', idx: 0, label: true},
      {question: 'is tobin a tailor', passage: 'Tobin is a baker.', idx: 1, label: false},
    ],
    expected: [
      {kind: 'pair', id: 0, textA: 'does mara live in delbrook', textB: 'Mara lives in Delbrook.', label: 'true', line: 1},
      {kind: 'pair', id: 1, textA: 'is tobin a tailor', textB: 'Tobin is a baker.', label: 'false', line: 2},
    ],
  },
  {
    name: 'BoolQ test file without labels',
    task: 'boolq',
    lines: [{question: 'does mara live in delbrook', passage: 'Mara lives in Delbrook.', idx: 0}, ''],
    expected: [{kind: 'pair', id: 0, textA: 'does mara live in delbrook', textB: 'Mara lives in Delbrook.', label: null, line: 1}],
  },
  {
    name: 'COPA: "because" for causes, "so" for effects',
    task: 'copa',
    lines: [
      {premise: 'The oven broke.', choice1: 'Mara baked bread.', choice2: 'Mara bought bread.', question: 'effect', idx: 0, label: 1},
      {premise: 'Tobin got wet.', choice1: 'It rained.', choice2: 'The sun shone.', question: 'cause', idx: 1, label: 0},
    ],
    expected: [
      {kind: 'choice', id: 0, context: 'The oven broke. so', choices: ['Mara baked bread.', 'Mara bought bread.'], label: 1, line: 1},
      {kind: 'choice', id: 1, context: 'Tobin got wet. because', choices: ['It rained.', 'The sun shone.'], label: 0, line: 2},
    ],
  },
  {
    name: 'COPA test file without labels',
    task: 'copa',
    lines: [{premise: 'The oven broke.', choice1: 'Mara baked bread.', choice2: 'Mara bought bread.', question: 'effect', idx: 0}],
    expected: [{kind: 'choice', id: 0, context: 'The oven broke. so', choices: ['Mara baked bread.', 'Mara bought bread.'], label: null, line: 1}],
  },
  {
    name: 'MultiRC: one pair per answer option, grouped by question',
    task: 'multirc',
    lines: [{
      idx: 3,
      version: 1.1,
      passage: {
        text: 'Mara bakes. Tobin rows.',
        questions: [
          {question: 'Who bakes?', idx: 10, answers: [{text: 'Mara', idx: 40, label: 1}, {text: 'Tobin', idx: 41, label: 0}]},
          {question: 'What does Tobin do?', idx: 11, answers: [{text: 'He rows', idx: 42, label: 1}]},
        ],
      },
    }],
    expected: [
      {kind: 'pair', id: '3-10-40', textA: 'Mara bakes. Tobin rows.', textB: 'Who bakes? Mara', label: 'true', group: '3-10', meta: {idx: {paragraph: 3, question: 10, answer: 40}}, line: 1},
      {kind: 'pair', id: '3-10-41', textA: 'Mara bakes. Tobin rows.', textB: 'Who bakes? Tobin', label: 'false', group: '3-10', meta: {idx: {paragraph: 3, question: 10, answer: 41}}, line: 1},
      {kind: 'pair', id: '3-11-42', textA: 'Mara bakes. Tobin rows.', textB: 'What does Tobin do? He rows', label: 'true', group: '3-11', meta: {idx: {paragraph: 3, question: 11, answer: 42}}, line: 1},
    ],
  },
  {
    name: 'ReCoRD: one candidate per distinct entity, code-point offsets, @highlight bullets',
    task: 'record',
    lines: [{
      source: 'Delbrook Gazette',
      idx: 0,
      passage: {text: RECORD_TEXT, entities: RECORD_ENTITIES},
      qas: [{query: 'Tobin met @placeholder in Delbrook.', idx: 7, answers: [{start: 2, end: 10, text: 'Mara Voss'}]}],
    }],
    expected: ['Mara Voss', 'Tobin', 'Delbrook', 'Voss'].map((entity, k) => ({
      kind: 'pair' as const,
      id: `7-${k}`,
      textA: RECORD_SHOWN,
      textB: `Tobin met ${entity} in Delbrook.`,
      label: String(entity === 'Mara Voss'),
      group: '7',
      meta: {entity, answers: ['Mara Voss']},
      line: 1,
    })),
  },
  {
    name: 'ReCoRD test file: no answers, no labels',
    task: 'record',
    lines: [{idx: 0, passage: {text: 'Ivo met Wren.', entities: [{start: 0, end: 2}, {start: 8, end: 11}]}, qas: [{query: '@placeholder met Wren.', idx: 2}]}],
    expected: [
      {kind: 'pair', id: '2-0', textA: 'Ivo met Wren.', textB: 'Ivo met Wren.', label: null, group: '2', meta: {entity: 'Ivo', answers: []}, line: 1},
      {kind: 'pair', id: '2-1', textA: 'Ivo met Wren.', textB: 'Wren met Wren.', label: null, group: '2', meta: {entity: 'Wren', answers: []}, line: 1},
    ],
  },
  {
    name: 'WiC: the word leads each sentence',
    task: 'wic',
    lines: [{word: 'bank', sentence1: 'Zoë sat on the bank.', sentence2: 'The bank lent Zoë money.', idx: 0, label: false, start1: 15, start2: 4, end1: 19, end2: 8, version: 1.1}],
    expected: [{kind: 'pair', id: 0, textA: 'bank: Zoë sat on the bank.', textB: 'bank: The bank lent Zoë money.', label: 'false', line: 1}],
  },
  {
    name: 'WSC: (pronoun: text, candidate)',
    task: 'wsc',
    lines: [{text: 'Mara thanked Tobin because he had fixed the fence.', target: {span2_index: 4, span1_index: 2, span1_text: 'Tobin', span2_text: 'he'}, idx: 5, label: true}],
    expected: [{kind: 'pair', id: 5, textA: 'he: Mara thanked Tobin because he had fixed the fence.', textB: 'Tobin', label: 'true', line: 1}],
  },
];

describe('readSuperGlue', () => {
  for (const {name, task, lines, eol, expected} of CASES) {
    test(name, () => {
      const file = writeJsonl(`${task}-${name.length}.jsonl`, lines, eol);
      assert.deepEqual(readSuperGlue(task, file), expected);
    });
  }
});

test('task tables cover the eight tasks', () => {
  assert.deepEqual([...SUPERGLUE_TASKS].sort(), ['boolq', 'cb', 'copa', 'multirc', 'record', 'rte', 'wic', 'wsc']);
  assert.deepEqual(SUPERGLUE_TASKS.map((task) => SUPERGLUE_DIRS[task]), ['BoolQ', 'CB', 'COPA', 'MultiRC', 'ReCoRD', 'RTE', 'WiC', 'WSC']);
  assert.deepEqual(SUPERGLUE_LABELS.cb, ['entailment', 'contradiction', 'neutral']);
  assert.deepEqual(SUPERGLUE_LABELS.record, ['false', 'true']);
});

const RTE_OK = {premise: 'p', hypothesis: 'h', label: 'entailment', idx: 0};

const ERRORS: {name: string; task: SuperGlueTask; text: string; message: string; suggestions?: string[]}[] = [
  {name: 'invalid JSON', task: 'rte', text: `${JSON.stringify(RTE_OK)}\n{"premise": "p",`, message: 'val.jsonl:2: invalid JSON'},
  {name: 'a line that is not an object', task: 'rte', text: '[1, 2]', message: 'val.jsonl:1: expected a JSON object, got a list'},
  {
    name: 'missing field on line 7',
    task: 'rte',
    text: [...Array.from({length: 6}, (_, idx) => JSON.stringify({...RTE_OK, idx})), JSON.stringify({premise: 'p', label: 'entailment', idx: 6})].join('\n'),
    message: 'val.jsonl:7 hypothesis: expected a string, but the field is missing',
  },
  {name: 'mistyped field', task: 'cb', text: JSON.stringify({...RTE_OK, hypothesis: 3}), message: 'val.jsonl:1 hypothesis: expected a string, got number 3'},
  {name: 'mistyped idx', task: 'cb', text: JSON.stringify({...RTE_OK, idx: '0'}), message: 'val.jsonl:1 idx: expected an integer, got string "0"'},
  {
    name: 'unknown RTE label lists the allowed ones',
    task: 'rte',
    text: JSON.stringify({...RTE_OK, label: 'maybe'}),
    message: 'val.jsonl:1 label: unknown value "maybe"; expected one of entailment, not_entailment',
    suggestions: ['entailment', 'not_entailment'],
  },
  {name: 'BoolQ label as a string', task: 'boolq', text: JSON.stringify({question: 'q', passage: 'p', idx: 0, label: 'true'}), message: 'val.jsonl:1 label: expected true or false, got string "true"'},
  {name: 'COPA label out of range', task: 'copa', text: JSON.stringify({premise: 'p', choice1: 'a', choice2: 'b', question: 'effect', idx: 0, label: 2}), message: 'val.jsonl:1 label: unknown value 2; expected one of 0, 1'},
  {name: 'COPA question', task: 'copa', text: JSON.stringify({premise: 'p', choice1: 'a', choice2: 'b', question: 'reason', idx: 0, label: 0}), message: 'val.jsonl:1 question: unknown value "reason"; expected one of cause, effect'},
  {
    name: 'a label missing from one line of a labelled file',
    task: 'rte',
    text: `${JSON.stringify(RTE_OK)}\r\n${JSON.stringify({premise: 'p', hypothesis: 'h', idx: 1})}`,
    message: 'val.jsonl:2 label: missing, but line 1 has one',
  },
  {
    name: 'MultiRC nested field path',
    task: 'multirc',
    text: JSON.stringify({idx: 0, passage: {text: 't', questions: [{question: 'q', idx: 0, answers: [{text: 'a', idx: 0, label: 1}, {text: 5, idx: 1, label: 0}]}]}}),
    message: 'val.jsonl:1 passage.questions[0].answers[1].text: expected a string, got number 5',
  },
  {
    name: 'MultiRC answer label',
    task: 'multirc',
    text: JSON.stringify({idx: 0, passage: {text: 't', questions: [{question: 'q', idx: 0, answers: [{text: 'a', idx: 0, label: true}]}]}}),
    message: 'val.jsonl:1 passage.questions[0].answers[0].label: unknown value true; expected one of 0, 1',
  },
  {
    name: 'ReCoRD entity beyond the passage',
    task: 'record',
    text: JSON.stringify({idx: 0, passage: {text: 'Ivo met Wren.', entities: [{start: 0, end: 2}, {start: 8, end: 13}]}, qas: []}),
    message: 'val.jsonl:1 passage.entities[1]: offsets 8..13 fall outside the passage (13 characters)',
  },
  {
    name: 'ReCoRD answer beyond the passage',
    task: 'record',
    text: JSON.stringify({idx: 0, passage: {text: 'Ivo met Wren.', entities: [{start: 0, end: 2}]}, qas: [{query: 'q', idx: 0, answers: [{start: -1, end: 2, text: 'Ivo'}]}]}),
    message: 'val.jsonl:1 qas[0].answers[0]: offsets -1..2 fall outside the passage (13 characters)',
  },
  {
    name: 'WiC offsets beyond the sentence',
    task: 'wic',
    text: JSON.stringify({word: 'bank', sentence1: 'the bank', sentence2: 'a bank', start1: 4, end1: 8, start2: 2, end2: 7, idx: 0, label: true}),
    message: 'val.jsonl:1 start2: offsets 2..7 fall outside sentence2 (6 characters)',
  },
  {
    name: 'WSC span index beyond the words',
    task: 'wsc',
    text: JSON.stringify({text: 'Mara thanked Tobin because he', target: {span1_index: 0, span1_text: 'Mara', span2_index: 9, span2_text: 'he'}, idx: 0, label: false}),
    message: "val.jsonl:1 target.span2_index: word 9 is beyond the text's 5 words",
  },
];

describe('errors name file, line and field', () => {
  for (const {name, task, text, message, suggestions} of ERRORS) {
    test(name, () => {
      assert.throws(() => parseSuperGlue(task, text, 'val.jsonl'), (error: unknown) => {
        assert.ok(error instanceof UserError);
        assert.ok(error.message.startsWith(message), error.message);
        if (suggestions) assert.deepEqual(error.suggestions, suggestions);
        return true;
      });
    });
  }

  test('a missing file', () => {
    const file = path.join(DIR, 'absent', 'train.jsonl');
    assert.throws(() => readSuperGlue('rte', file), (error: unknown) => error instanceof UserError && error.message.startsWith(`${file}: cannot read RTE data`));
  });
});

describe('a repeated idx: one rule for run and score', () => {
  const CASES: {task: SuperGlueTask; lines: object[]; expected: RegExp}[] = [
    {task: 'rte', lines: [RTE_OK, {...RTE_OK, idx: 1}, {...RTE_OK, idx: 0}], expected: /:3 idx: duplicate idx 0; line 1 has it too$/},
    {
      task: 'multirc',
      lines: [{idx: 4, passage: {text: 't', questions: [{idx: 0, question: 'q', answers: [{idx: 0, text: 'a', label: 1}, {idx: 0, text: 'b', label: 0}]}]}}],
      expected: /:1 idx \(paragraph, question and answer idx\): duplicate idx 4-0-0; line 1 has it too$/,
    },
  ];
  for (const {task, lines, expected} of CASES) {
    test(`${task}: the reader refuses it at its line, so a run never trains on it`, () => {
      const file = writeJsonl(`dup-${task}.jsonl`, lines.map((l) => JSON.stringify(l)), '\n');
      assert.throws(() => readSuperGlue(task, file), (error: unknown) => error instanceof UserError && expected.test(error.message));
    });
  }
});
