/**
 * The task registry: a table from task name to everything ptv2 needs to run it — family, reader,
 * label list, head, metric function and the metric that picks the best epoch. Adding a task is
 * adding a row.
 */
import {accuracy, macroF1} from '../metrics/classification.js';
import {readSuperGlue, SUPERGLUE_LABELS, type SuperGlueTask} from './superglue.js';
import type {Example} from './types.js';

export type HeadKind = 'classification';

export interface TaskDefinition {
  name: string;
  family: 'superglue';
  head: HeadKind;
  labels: readonly string[];
  /** File names inside the task's data directory, as the official release names them. */
  files: {train: string; dev: string; test: string};
  read(file: string): Example[];
  /** Every metric the official scorer reports, from predicted and gold label strings. */
  score(pred: readonly string[], gold: readonly string[]): Record<string, number>;
  /** Picks the best epoch. */
  keyMetric: string;
}

const SUPERGLUE_FILES = {train: 'train.jsonl', dev: 'val.jsonl', test: 'test.jsonl'};

function superGluePairTask(name: SuperGlueTask, score: TaskDefinition['score'], keyMetric: string): TaskDefinition {
  return {
    name,
    family: 'superglue',
    head: 'classification',
    labels: SUPERGLUE_LABELS[name],
    files: SUPERGLUE_FILES,
    read: (file) => readSuperGlue(name, file),
    score,
    keyMetric,
  };
}

const accuracyOnly: TaskDefinition['score'] = (pred, gold) => ({accuracy: accuracy(pred, gold)});

export const TASKS: ReadonlyMap<string, TaskDefinition> = new Map(
  [
    superGluePairTask('boolq', accuracyOnly, 'accuracy'),
    superGluePairTask('cb', (pred, gold) => ({accuracy: accuracy(pred, gold), macro_f1: macroF1(pred, gold, SUPERGLUE_LABELS.cb)}), 'accuracy'),
    superGluePairTask('rte', accuracyOnly, 'accuracy'),
    superGluePairTask('wic', accuracyOnly, 'accuracy'),
    superGluePairTask('wsc', accuracyOnly, 'accuracy'),
  ].map((t) => [t.name, t]),
);

export function findTask(name: string): TaskDefinition | undefined {
  return TASKS.get(name);
}
