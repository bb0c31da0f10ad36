/**
 * The task registry: a table from task name to everything ptv2 needs to run it — family, reader,
 * label list, head, scorer, the metric that picks the best epoch, and how predictions are written
 * for the official scorer. Adding a task is adding a row.
 */
import {accuracy, macroF1} from '../metrics/classification.js';
import {multircScores, recordScores} from '../metrics/superglue.js';
import {readSuperGlue, SUPERGLUE_LABELS, type SuperGlueTask} from './superglue.js';
import type {ChoiceExample, Example, PairExample} from './types.js';

export type HeadKind = 'classification' | 'choice';

/** What a scorer sees of one evaluation: per example, predicted and gold label and P(label). */
export interface Evaluation {
  /** Pair examples, or choice examples for multiple-choice tasks. */
  examples: readonly (PairExample | ChoiceExample)[];
  pred: readonly string[];
  gold: readonly string[];
  /** Softmax over the task's labels, per example. */
  probabilities: readonly Float32Array[];
}

export interface TaskDefinition {
  name: string;
  family: 'superglue';
  head: HeadKind;
  labels: readonly string[];
  /** File names inside the task's data directory, as the official release names them. */
  files: {train: string; dev: string; test: string};
  read(file: string): Example[];
  /** Every metric the official scorer reports. */
  score(evaluation: Evaluation): Record<string, number>;
  /** Picks the best epoch. */
  keyMetric: string;
  /** Lines of the prediction file the official scorer (and `ptv2 score`) reads. */
  predictionLines(evaluation: Evaluation): string[];
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
  predictionLines: TaskDefinition['predictionLines'] = (e) =>
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
    predictionLines,
  };
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
  ].map((t) => [t.name, t]),
);

export function findTask(name: string): TaskDefinition | undefined {
  return TASKS.get(name);
}
