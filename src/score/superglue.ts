/**
 * Scores SuperGLUE prediction files in the leaderboard's submission layout: one JSON object per
 * line, `{"idx": …, "label": …}` for the single-label tasks and ReCoRD, and MultiRC's nested
 * `{"idx": paragraph, "passage": {"questions": [{"idx": q, "answers": [{"idx": a, "label": 0|1}]}]}}`.
 *
 * Labels are accepted as the release writes them (strings for RTE/CB, booleans for BoolQ/WiC/WSC,
 * 0/1 for COPA); booleans may also come as the strings "true"/"false", as some exporters write them.
 * Every gold example needs exactly one prediction; a prediction for an idx the gold file lacks is
 * an error, since it means the two files are from different splits.
 *
 * Reference: Wang et al. 2019, "SuperGLUE" (super.gluebenchmark.com, submission format).
 */

import fs from 'node:fs';
import {UserError, type ErrorLocation} from '../errors.js';
import {accuracy, macroF1, type ClassLabel} from '../metrics/classification.js';
import {multircScores, recordScores, type MultiRcItem} from '../metrics/superglue.js';
import {readSuperGlue, SUPERGLUE_LABELS, type SuperGlueTask} from '../data/superglue.js';
import type {ChoiceExample, PairExample} from '../data/types.js';
import {decodeUtf8} from '../data/text-file.js';
import {isObject, parseJsonl, type JsonlObject} from '../data/jsonl.js';

export interface ScoreFiles {
  gold: string;
  pred: string;
}

/** Most missing ids an error message lists. */
const LISTED_MISSING = 5;

function readPredLines(file: string): JsonlObject[] {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new UserError(`cannot read predictions: ${(error as Error).message}`, {file});
  }
  return parseJsonl(decodeUtf8(bytes, file), file);
}


function integerField(object: Record<string, unknown>, name: string, where: ErrorLocation): number {
  const value = object[name];
  if (!Number.isInteger(value)) {
    throw new UserError(value === undefined ? 'expected an integer, but the field is missing' : `expected an integer, got ${JSON.stringify(value)}`, where);
  }
  return value as number;
}

function listField(object: Record<string, unknown>, name: string, where: ErrorLocation): Record<string, unknown>[] {
  const value = object[name];
  if (!Array.isArray(value) || !value.every(isObject)) throw new UserError('expected a list of objects', where);
  return value;
}

function fieldPath(parent: string | undefined, name: string): string {
  return parent === undefined ? name : `${parent}.${name}`;
}

/**
 * Predictions keyed by gold id, checked against the gold ids: unknown and repeated ids fail at
 * their line, missing ones fail listing the first few.
 */
class PredictionTable<T> {
  private readonly byId = new Map<string, {value: T; line: number}>();

  constructor(
    private readonly files: ScoreFiles,
    private readonly goldIds: ReadonlySet<string>,
  ) {}

  add(id: string, value: T, where: {line: number; field: string}): void {
    const at = {file: this.files.pred, ...where};
    if (!this.goldIds.has(id)) throw new UserError(`no gold example with idx ${id} in ${this.files.gold}`, at);
    const earlier = this.byId.get(id);
    if (earlier !== undefined) throw new UserError(`idx ${id} is predicted twice (first at line ${earlier.line})`, at);
    this.byId.set(id, {value, line: where.line});
  }

  /** The prediction of every gold id, in the order given. */
  inOrder(ids: readonly string[]): T[] {
    const missing = ids.filter((id) => !this.byId.has(id));
    if (missing.length > 0) {
      const listed = missing.slice(0, LISTED_MISSING).join(', ') + (missing.length > LISTED_MISSING ? ', …' : '');
      throw new UserError(`no prediction for ${missing.length} gold example(s): idx ${listed}`, {file: this.files.pred});
    }
    return ids.map((id) => (this.byId.get(id) as {value: T}).value);
  }
}

function readGold(task: SuperGlueTask, file: string): (PairExample | ChoiceExample)[] {
  const examples = readSuperGlue(task, file).filter((example) => example.kind === 'pair' || example.kind === 'choice');
  if (examples.some((example) => example.label === null)) {
    throw new UserError('the gold file has no labels (a test split?)', {file}, ['score against the validation split, e.g. val.jsonl']);
  }
  return examples;
}

/** Reads a prediction's label as the gold examples spell it, or undefined when it is not one. */
type LabelParser = (value: unknown) => ClassLabel | undefined;

const parseString =
  (allowed: readonly string[]): LabelParser =>
  (value) =>
    typeof value === 'string' && allowed.includes(value) ? value : undefined;

const parseBoolean: LabelParser = (value) => {
  if (typeof value === 'boolean') return String(value);
  return value === 'true' || value === 'false' ? value : undefined;
};

const parseChoice: LabelParser = (value) => (value === 0 || value === 1 ? value : undefined);

interface LabelTask {
  parse: LabelParser;
  /** What the error message says a label must be. */
  expected: string;
  metrics(pred: ClassLabel[], gold: ClassLabel[]): Record<string, number>;
}

function oneOf(labels: readonly string[]): string {
  return `one of ${labels.map((label) => JSON.stringify(label)).join(', ')}`;
}

const accuracyOnly = (pred: ClassLabel[], gold: ClassLabel[]): Record<string, number> => ({accuracy: accuracy(pred, gold)});

const BOOLEAN_TASK: LabelTask = {parse: parseBoolean, expected: 'true or false', metrics: accuracyOnly};

const LABEL_TASKS = new Map<SuperGlueTask, LabelTask>([
  ['boolq', BOOLEAN_TASK],
  ['wic', BOOLEAN_TASK],
  ['wsc', BOOLEAN_TASK],
  ['rte', {parse: parseString(SUPERGLUE_LABELS.rte), expected: oneOf(SUPERGLUE_LABELS.rte), metrics: accuracyOnly}],
  [
    'cb',
    {
      parse: parseString(SUPERGLUE_LABELS.cb),
      expected: oneOf(SUPERGLUE_LABELS.cb),
      metrics: (pred, gold) => ({accuracy: accuracy(pred, gold), macro_f1: macroF1(pred, gold, SUPERGLUE_LABELS.cb)}),
    },
  ],
  ['copa', {parse: parseChoice, expected: '0 or 1', metrics: accuracyOnly}],
]);

/** The tasks scored from `{"idx", "label"}` lines: BoolQ, CB, COPA, RTE, WiC, WSC. */
export const LABEL_TASK_NAMES: readonly SuperGlueTask[] = [...LABEL_TASKS.keys()];

export function scoreLabelTask(task: SuperGlueTask, files: ScoreFiles): Record<string, number> {
  const spec = LABEL_TASKS.get(task);
  if (spec === undefined) throw new Error(`${task} is not scored from {idx, label} lines`);
  const gold = readGold(task, files.gold);
  const ids = gold.map((example) => String(example.id));
  const table = new PredictionTable<ClassLabel>(files, new Set(ids));
  for (const {value, line} of readPredLines(files.pred)) {
    const idx = integerField(value, 'idx', {file: files.pred, line, field: 'idx'});
    const label = spec.parse(value.label);
    if (label === undefined) {
      throw new UserError(`expected ${spec.expected}, got ${JSON.stringify(value.label) ?? 'nothing'}`, {file: files.pred, line, field: 'label'});
    }
    table.add(String(idx), label, {line, field: 'idx'});
  }
  return spec.metrics(table.inOrder(ids), gold.map((example) => example.label as ClassLabel));
}

/** MultiRC: F1a over answer options and EM over questions, from the nested submission layout. */
export function scoreMultiRc(files: ScoreFiles): Record<string, number> {
  const gold = readGold('multirc', files.gold);
  const ids = gold.map((example) => String(example.id));
  const table = new PredictionTable<0 | 1>(files, new Set(ids));
  for (const {value, line} of readPredLines(files.pred)) {
    const at = (field: string): ErrorLocation => ({file: files.pred, line, field});
    const paragraph = integerField(value, 'idx', at('idx'));
    const passage = value.passage;
    if (!isObject(passage)) throw new UserError('expected an object', at('passage'));
    listField(passage, 'questions', at('passage.questions')).forEach((question, q) => {
      const questionPath = `passage.questions[${q}]`;
      const questionIdx = integerField(question, 'idx', at(fieldPath(questionPath, 'idx')));
      listField(question, 'answers', at(fieldPath(questionPath, 'answers'))).forEach((answer, a) => {
        const answerPath = `${questionPath}.answers[${a}]`;
        const answerIdx = integerField(answer, 'idx', at(fieldPath(answerPath, 'idx')));
        const label = answer.label === true ? 1 : answer.label === false ? 0 : answer.label;
        if (label !== 0 && label !== 1) {
          throw new UserError(`expected 0 or 1, got ${JSON.stringify(answer.label) ?? 'nothing'}`, at(fieldPath(answerPath, 'label')));
        }
        table.add(`${paragraph}-${questionIdx}-${answerIdx}`, label, {line, field: fieldPath(answerPath, 'idx')});
      });
    });
  }
  const preds = table.inOrder(ids);
  const items: MultiRcItem[] = gold.map((example, i) => ({
    group: (example.kind === 'pair' ? example.group : undefined) ?? ids[i],
    pred: preds[i],
    gold: example.label === 'true' ? 1 : 0,
  }));
  return multircScores(items);
}

/** ReCoRD: exact match and token F1 of the predicted answer text, best over the gold answers. */
export function scoreRecord(files: ScoreFiles): Record<string, number> {
  const gold = readGold('record', files.gold);
  // The reader yields one example per candidate entity; each carries its query's gold answers.
  const answersByQuery = new Map<string, string[]>();
  for (const example of gold) {
    if (example.kind !== 'pair' || example.group === undefined) continue;
    if (!answersByQuery.has(example.group)) answersByQuery.set(example.group, (example.meta?.answers as string[] | undefined) ?? []);
  }
  const queries = [...answersByQuery.keys()];
  const table = new PredictionTable<string>(files, new Set(queries));
  for (const {value, line} of readPredLines(files.pred)) {
    const idx = integerField(value, 'idx', {file: files.pred, line, field: 'idx'});
    if (typeof value.label !== 'string') {
      throw new UserError(`expected the answer text, got ${JSON.stringify(value.label) ?? 'nothing'}`, {file: files.pred, line, field: 'label'});
    }
    table.add(String(idx), value.label, {line, field: 'idx'});
  }
  const preds = table.inOrder(queries);
  return recordScores(queries.map((query, i) => ({query, predText: preds[i], goldTexts: answersByQuery.get(query) ?? []})));
}
