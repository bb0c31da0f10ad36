/**
 * Writes the synthetic SuperGLUE data in the release layout: `superglue/<Task>/{train,val,test}.jsonl`,
 * one JSON object per line, test files without labels. Sizes at scale 1 follow the rough proportions of
 * the real sets (CB and COPA smaller, MultiRC and ReCoRD counted in passages).
 */

import {SUPERGLUE_DIRS, SUPERGLUE_TASKS, parseSuperGlue, type SuperGlueTask} from '../superglue.js';
import type {Draw} from './draw.js';
import {makeBoolQ, makeCb, makeMultiRc, makeRecord, makeRte, type JsonRecord} from './superglue-facts.js';
import {makeCopa, makeWic, makeWsc} from './superglue-sense.js';
import {scaled, type SyntheticFile} from './files.js';
import type {World} from './world.js';

interface TaskPlan {
  make: (world: World, draw: Draw, count: number) => JsonRecord[];
  sizes: {train: number; val: number; test: number};
  /** Removes every label from a record, as the release's test files have none. */
  unlabel: (record: JsonRecord) => JsonRecord;
}

const dropLabel = ({label: _label, ...rest}: JsonRecord): JsonRecord => rest;

const TASK_PLANS: ReadonlyMap<SuperGlueTask, TaskPlan> = new Map<SuperGlueTask, TaskPlan>([
  ['rte', {make: makeRte, sizes: {train: 400, val: 100, test: 50}, unlabel: dropLabel}],
  ['cb', {make: makeCb, sizes: {train: 250, val: 100, test: 50}, unlabel: dropLabel}],
  ['boolq', {make: makeBoolQ, sizes: {train: 400, val: 100, test: 50}, unlabel: dropLabel}],
  ['copa', {make: makeCopa, sizes: {train: 300, val: 100, test: 50}, unlabel: dropLabel}],
  ['wic', {make: makeWic, sizes: {train: 400, val: 100, test: 50}, unlabel: dropLabel}],
  ['wsc', {make: makeWsc, sizes: {train: 400, val: 100, test: 50}, unlabel: dropLabel}],
  ['multirc', {make: makeMultiRc, sizes: {train: 150, val: 100, test: 50}, unlabel: unlabelMultiRc}],
  ['record', {make: makeRecord, sizes: {train: 150, val: 100, test: 50}, unlabel: unlabelRecord}],
]);

function unlabelMultiRc(record: JsonRecord): JsonRecord {
  const passage = record.passage as {text: string; questions: {answers: JsonRecord[]}[]};
  const questions = passage.questions.map((question) => ({...question, answers: question.answers.map(dropLabel)}));
  return {...record, passage: {...passage, questions}};
}

function unlabelRecord(record: JsonRecord): JsonRecord {
  const qas = (record.qas as JsonRecord[]).map(({answers: _answers, ...qa}) => qa);
  return {...record, qas};
}

export function superGlueFiles(world: World, draw: Draw, scale: number): SyntheticFile[] {
  const files: SyntheticFile[] = [];
  for (const task of SUPERGLUE_TASKS) {
    const plan = TASK_PLANS.get(task);
    if (plan === undefined) throw new Error(`no synthetic plan for ${task}`);
    for (const split of ['train', 'val', 'test'] as const) {
      const path = `superglue/${SUPERGLUE_DIRS[task]}/${split}.jsonl`;
      const count = scaled(plan.sizes[split], scale);
      const records = plan.make(world, draw.fork(path), count);
      const lines = (split === 'test' ? records.map(plan.unlabel) : records).map((record) => JSON.stringify(record));
      const content = `${lines.join('\n')}\n`;
      files.push({path, content, texts: modelTexts(task, content, path)});
    }
  }
  return files;
}

/** The strings a model sees, as the readers build them. */
function modelTexts(task: SuperGlueTask, content: string, path: string): string[] {
  return parseSuperGlue(task, content, path).flatMap((example) => {
    if (example.kind === 'pair') return [example.textA, example.textB ?? ''];
    if (example.kind === 'choice') return [example.context, ...example.choices];
    return [];
  });
}
