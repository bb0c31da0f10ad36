import {test} from 'node:test';
import assert from 'node:assert/strict';
import type {Evaluation} from '../../src/data/registry.js';
import {formatPredictions, scoredPredictions} from '../../src/data/scores.js';
import type {HeadKind} from '../../src/model/model.js';

const CASES: {name: string; head: HeadKind; evaluation: Partial<Evaluation>; records: unknown[]; csv: string}[] = [
  {
    name: 'classification: a probability per label, quoted where CSV needs it',
    head: 'classification',
    evaluation: {examples: [{kind: 'pair', id: 7, textA: 'a', label: null}], labels: ['yes', 'no, never'], pred: ['no, never'], probabilities: [Float32Array.from([0.25, 0.75])]},
    records: [{id: 7, label: 'no, never', probabilities: {yes: 0.25, 'no, never': 0.75}}],
    csv: 'id,label,p_yes,"p_no, never"\n7,"no, never",0.25,0.75\n',
  },
  {
    name: 'multiple choice: the chosen index and a probability per choice',
    head: 'choice',
    evaluation: {examples: [{kind: 'choice', id: 0, context: 'c', choices: ['x', 'y'], label: null}], labels: ['0', '1'], pred: ['1'], probabilities: [Float32Array.from([0.125, 0.875])]},
    records: [{id: 0, label: 1, probabilities: [0.125, 0.875]}],
    csv: 'id,label,p_0,p_1\n0,1,0.125,0.875\n',
  },
  {
    name: 'tagging: words, tags and each tag\'s probability (null when truncated away)',
    head: 'token',
    evaluation: {examples: [{kind: 'tagging', id: 's1', words: ['Ada', 'sailed', 'far'], tags: null}], predTags: [['B-PER', 'O', 'O']], tagProbabilities: [[0.5, 0.9, null]]},
    records: [{id: 's1', words: ['Ada', 'sailed', 'far'], tags: ['B-PER', 'O', 'O'], probabilities: [0.5, 0.9, null]}],
    csv: 'id,words,tags\ns1,Ada sailed far,B-PER O O\n',
  },
  {
    name: 'QA: the span with its score and offsets; no answer under SQuAD 2.0 is null with its probability',
    head: 'span',
    evaluation: {
      examples: [{kind: 'span', id: 'q1', question: '?', context: 'The "Lark" sails.', answers: [], isImpossible: false}, {kind: 'span', id: 'q2', question: '?', context: 'x', answers: [], isImpossible: false}],
      answers: {q1: '"Lark"', q2: ''},
      spans: {q1: {score: 7.5, start: 4, end: 10}, q2: {score: 1, start: 0, end: 1}},
      naProbs: {q1: 0.25, q2: 0.75},
    },
    records: [{id: 'q1', answer: '"Lark"', score: 7.5, start: 4, end: 10, na_prob: 0.25}, {id: 'q2', answer: null, score: 1, start: null, end: null, na_prob: 0.75}],
    csv: 'id,answer,score,start,end,na_prob\nq1,"""Lark""",7.5,4,10,0.25\nq2,,1,,,0.75\n',
  },
];

for (const {name, head, evaluation, records, csv} of CASES) {
  test(name, () => {
    const full = {examples: [], labels: [], pred: [], gold: [], probabilities: [], ...evaluation} as Evaluation;
    const scored = scoredPredictions(head, full);
    assert.deepEqual(scored, records);
    assert.equal(formatPredictions(scored, head, full.labels, 'csv'), csv);
    assert.equal(formatPredictions(scored, head, full.labels, 'jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  });
}
