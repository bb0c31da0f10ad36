/**
 * The task registry: a table from task name to everything ptv2 needs to run it — family, reader,
 * label list, head, scorer, the metric that picks the best epoch, and how predictions are written
 * for the official scorer. Adding a task is adding a row.
 */
import {accuracy, macroF1} from '../metrics/classification.js';
import {multircScores, recordScores} from '../metrics/superglue.js';
import {readSuperGlue, SUPERGLUE_LABELS, type SuperGlueTask} from './superglue.js';
import fs from 'node:fs';
import {spanScores} from '../metrics/span.js';
import {collectTagSet, readConll, writeConllPredictions} from './conll.js';
import {readSrl, writeSrlPredictions} from './srl.js';
import {readSquad, writeNaProbs, writeSquadPredictions, type SquadVersion} from './squad.js';
import {squadV1, squadV2} from '../metrics/squad.js';
import type {ChoiceExample, Example, PairExample, SpanExample, TaggingExample} from './types.js';

export type HeadKind = 'classification' | 'choice' | 'token' | 'span';

/** What a scorer sees of one evaluation: per example, predicted and gold label and P(label). */
export interface Evaluation {
  /** Pair, choice, tagging or span examples, as the task's reader makes them. */
  examples: readonly (PairExample | ChoiceExample | TaggingExample | SpanExample)[];
  /** Tagging tasks: the predicted tag of every word. */
  predTags?: readonly string[][];
  /** Extractive QA: answer text per question id ("" = no answer). */
  answers?: Readonly<Record<string, string>>;
  /** SQuAD 2.0: no-answer probability per question id. */
  naProbs?: Readonly<Record<string, number>>;
  pred: readonly string[];
  gold: readonly string[];
  /** Softmax over the task's labels, per example. */
  probabilities: readonly Float32Array[];
}

export interface TaskDefinition {
  name: string;
  family: 'superglue' | 'ner' | 'srl' | 'qa';
  head: HeadKind;
  /** The label list; empty = the tag set of the training file. */
  labels: readonly string[];
  /** File names inside the task's data directory, as the official release names them. */
  files: {train: string; dev: string; test: string};
  read(file: string): Example[];
  /** Every metric the official scorer reports. */
  score(evaluation: Evaluation): Record<string, number>;
  /** Picks the best epoch. */
  keyMetric: string;
  /** File name of the dev predictions, in the format the official scorer (and `ptv2 score`) reads. */
  predictionFile: string;
  writePredictions(file: string, evaluation: Evaluation): void;
  /** Further files the official scorer reads beside the predictions (SQuAD 2.0's no-answer probabilities). */
  extraOutputs?: readonly {kind: string; file: string; write(file: string, evaluation: Evaluation): void}[];
}

const SUPERGLUE_FILES = {train: 'train.jsonl', dev: 'val.jsonl', test: 'test.jsonl'};

/** SuperGLUE submission label values: strings for RTE/CB, booleans for the yes/no tasks. */
function submissionLabel(task: SuperGlueTask, label: string): string | boolean {
  return SUPERGLUE_LABELS[task][0] === 'false' ? label === 'true' : label;
}

function superGlueTask(
  name: SuperGlueTask,
  keyMetric: string,
  score: TaskDefinition['score'],
  predictionLines: (e: Evaluation) => string[] = (e) =>
    e.examples.map((example, i) => JSON.stringify({idx: example.id, label: submissionLabel(name, e.pred[i])})),
  head: HeadKind = 'classification',
): TaskDefinition {
  return {
    name,
    family: 'superglue',
    head,
    labels: SUPERGLUE_LABELS[name],
    files: SUPERGLUE_FILES,
    read: (file) => readSuperGlue(name, file),
    score,
    keyMetric,
    predictionFile: 'dev_predictions.jsonl',
    writePredictions: (file, e) => fs.writeFileSync(file, predictionLines(e).join('\n') + '\n'),
  };
}

/** NER (CoNLL columns) and SRL (one predicate per line): span micro-F1, seqeval's default chunking. */
function taggingTask(name: string, family: 'ner' | 'srl', files: TaskDefinition['files']): TaskDefinition {
  const srl = family === 'srl';
  // Standard SRL scoring leaves out the predicate itself.
  const exclude = srl ? ['V'] : [];
  const gold = (e: Evaluation) => (e.examples as readonly TaggingExample[]).map((x) => x.tags ?? []);
  return {
    name,
    family,
    head: 'token',
    labels: [],
    files,
    read: srl ? readSrl : (file) => readConll(file),
    score: (e) => {
      const {precision, recall, f1} = spanScores(gold(e), e.predTags!.map((t) => [...t]), {exclude});
      return {precision, recall, f1};
    },
    keyMetric: 'f1',
    predictionFile: 'dev_predictions.txt',
    writePredictions: (file, e) =>
      (srl ? writeSrlPredictions : writeConllPredictions)(file, e.examples as TaggingExample[], e.predTags!.map((t) => [...t])),
  };
}

/** SQuAD 1.1 and 2.0: span extraction scored by evaluate-v1.1.py / evaluate-v2.0.py. */
function squadTask(name: string, version: SquadVersion): TaskDefinition {
  const examples = (e: Evaluation) => e.examples as readonly SpanExample[];
  return {
    name,
    family: 'qa',
    head: 'span',
    labels: [],
    files: {train: 'train.json', dev: 'dev.json', test: 'test.json'},
    read: (file) => readSquad(file, version),
    score: (e) => (version === '1.1' ? squadV1(examples(e), e.answers!) : squadV2(examples(e), e.answers!, e.naProbs)),
    keyMetric: 'f1',
    predictionFile: 'dev_predictions.json',
    writePredictions: (file, e) => writeSquadPredictions(file, e.answers!),
    extraOutputs: version === '1.1' ? [] : [{kind: 'dev_na_probs', file: 'dev_na_probs.json', write: (file, e) => writeNaProbs(file, e.naProbs!)}],
  };
}

const CONLL_FILES = {train: 'train.txt', dev: 'dev.txt', test: 'test.txt'};

/** The tag set of a tagging task's training examples. */
export function tagSet(examples: readonly Example[]): string[] {
  return collectTagSet(examples as TaggingExample[]);
}

const accuracyOnly: TaskDefinition['score'] = (e) => ({accuracy: accuracy(e.pred, e.gold)});

/** ReCoRD: per query, the candidate entity the model finds most likely to be the answer. */
function recordAnswers(e: Evaluation): {query: string; predText: string; goldTexts: string[]}[] {
  const best = new Map<string, {p: number; entity: string; answers: string[]}>();
  (e.examples as readonly PairExample[]).forEach((example, i) => {
    const p = e.probabilities[i][1];
    const query = example.group!;
    const current = best.get(query);
    if (!current || p > current.p) best.set(query, {p, entity: example.meta!.entity as string, answers: example.meta!.answers as string[]});
  });
  return [...best].map(([query, b]) => ({query, predText: b.entity, goldTexts: b.answers}));
}

/** MultiRC's leaderboard layout: one line per paragraph, questions and answers nested. */
function multircLines(e: Evaluation): string[] {
  const paragraphs = new Map<number, Map<number, {idx: number; label: number}[]>>();
  (e.examples as readonly PairExample[]).forEach((example, i) => {
    const {paragraph, question, answer} = example.meta!.idx as {paragraph: number; question: number; answer: number};
    const questions = paragraphs.get(paragraph) ?? new Map<number, {idx: number; label: number}[]>();
    paragraphs.set(paragraph, questions);
    const answers = questions.get(question) ?? [];
    questions.set(question, answers);
    answers.push({idx: answer, label: e.pred[i] === 'true' ? 1 : 0});
  });
  return [...paragraphs].map(([idx, questions]) =>
    JSON.stringify({idx, passage: {questions: [...questions].map(([q, answers]) => ({idx: q, answers}))}}),
  );
}

export const TASKS: ReadonlyMap<string, TaskDefinition> = new Map(
  [
    superGlueTask('boolq', 'accuracy', accuracyOnly),
    // COPA: (premise + " because"/" so", choice) scored per choice, softmax over the two; labels are choice indices.
    superGlueTask(
      'copa',
      'accuracy',
      accuracyOnly,
      (e) => e.examples.map((example, i) => JSON.stringify({idx: example.id, label: Number(e.pred[i])})),
      'choice',
    ),
    superGlueTask('cb', 'accuracy', (e) => ({accuracy: accuracy(e.pred, e.gold), macro_f1: macroF1(e.pred, e.gold, SUPERGLUE_LABELS.cb)})),
    superGlueTask('rte', 'accuracy', accuracyOnly),
    superGlueTask('wic', 'accuracy', accuracyOnly),
    superGlueTask('wsc', 'accuracy', accuracyOnly),
    superGlueTask(
      'multirc',
      'f1a',
      (e) =>
        multircScores(
          (e.examples as readonly PairExample[]).map((example, i) => ({group: example.group!, pred: e.pred[i] === 'true' ? 1 : 0, gold: e.gold[i] === 'true' ? 1 : 0})),
        ),
      multircLines,
    ),
    superGlueTask('record', 'f1', (e) => recordScores(recordAnswers(e)), (e) =>
      recordAnswers(e).map((a) => JSON.stringify({idx: Number(a.query), label: a.predText})),
    ),
    taggingTask('conll03', 'ner', CONLL_FILES),
    taggingTask('ontonotes', 'ner', CONLL_FILES),
    taggingTask('conll04', 'ner', CONLL_FILES),
    taggingTask('conll05', 'srl', {train: 'train.txt', dev: 'dev.txt', test: 'test_wsj.txt'}),
    taggingTask('conll12', 'srl', CONLL_FILES),
    squadTask('squad', '1.1'),
    squadTask('squad_v2', '2.0'),
  ].map((t) => [t.name, t]),
);

export function findTask(name: string): TaskDefinition | undefined {
  return TASKS.get(name);
}
