/**
 * A task's data as runs use it: its splits read and checked (train and dev labelled, a test file
 * possibly not), sub-sampled where the config caps them, tokenised into features with the task's
 * input length; plus the input-length rules and the position check every job must pass. All of it
 * runs before the experiment writes anything to the store.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {Job} from '../config/plan.js';
import type {Ptv2Config, TaskConfig} from '../config/schema.js';
import {UserError, type ErrorLocation} from '../errors.js';
import {buildChoiceFeatures, buildPairFeatures, buildTaggingFeatures, type FeatureSet} from '../data/features.js';
import {buildSpanFeatures} from '../data/qa-features.js';
import {labelsOf, type TaskDefinition} from '../data/registry.js';
import {isLabelled, type ChoiceExample, type Example, type PairExample, type SpanExample, type Split, type TaggingExample} from '../data/types.js';
import {deriveSeed, mulberry32, shuffled} from '../random.js';
import {testSplitNames} from '../data/splits.js';
import type {PtTokenizer} from '../tokenizer/index.js';

/** One split of a task: where it came from, its examples and their features. */
export interface SplitData {
  /** The file as read (data dir joined with the file name). */
  file: string;
  examples: Example[];
  set: FeatureSet;
  /** Whether every example has its gold answer (train and dev must; a test file may not). */
  labelled: boolean;
}

/** A test split with the name its predictions, metrics and report go by. */
export type TestSplit = SplitData & {name: string};

export interface TaskData {
  definition: TaskDefinition;
  /** The task's labels (read from the training file where the task has no fixed list). */
  labels: readonly string[];
  config: TaskConfig;
  train: SplitData;
  dev: SplitData;
  /** The config's test files, each under its split name (`test`, or `test_wsj`, … for several). */
  tests: TestSplit[];
  maxLength: number;
}

/** A task's splits as read and checked, before tokenisation (which needs the checkpoint's tokenizer). */
export interface TaskSplits {
  definition: TaskDefinition;
  config: TaskConfig;
  labels: readonly string[];
  train: Omit<SplitData, 'set'>;
  dev: Omit<SplitData, 'set'>;
  tests: (Omit<SplitData, 'set'> & {name: string})[];
}

/** Where a task's config key was set: `key` is `data`, `train_file`, … of `tasks[index]`. */
export type TaskKeyLocation = (key: string) => ErrorLocation;

/**
 * Reads and checks every split of a task (seeded sub-samples where the config caps them) and its
 * label set. Needs no model, so it runs before any checkpoint is created.
 */
export function readTaskSplits(config: Ptv2Config, t: TaskConfig, definition: TaskDefinition, where?: TaskKeyLocation): TaskSplits {
  const read = (split: Split, file: string, max: number | null): Omit<SplitData, 'set'> & {all: Example[]} => {
    const all = readSplit(definition, t, file, split, where);
    const examples = limit(all, max, deriveSeed(config.seed, `${t.name}/${split}`));
    return {file: path.join(t.data, file), examples, labelled: examples.every(isLabelled), all};
  };
  const {all: allTrain, ...train} = read('train', t.train_file ?? definition.files.train, config.train.max_train_examples);
  const {all: _dev, ...dev} = read('dev', t.dev_file ?? definition.files.dev, config.train.max_eval_examples);
  const tests = testSplitNames(t.test_file).map(({name, file}) => {
    const {all: _test, ...test} = read('test', file, null);
    return {name, ...test};
  });
  // The label (tag) set of the whole training file, so a sub-sample does not lose rare labels.
  return {definition, config: t, labels: labelsOf(definition, allTrain), train, dev, tests};
}

/** A task's read splits tokenised into features with the task's input length. */
export function buildTaskData(splits: TaskSplits, tokenizer: PtTokenizer, maxLength: number): TaskData {
  const {definition, labels, config: t} = splits;
  const withFeatures = (kind: Split, split: Omit<SplitData, 'set'>): SplitData => ({
    ...split,
    set: buildFeatures(t, definition, kind, split.examples, tokenizer, labels, maxLength, split.file),
  });
  return {
    definition,
    labels,
    config: t,
    train: withFeatures('train', splits.train),
    dev: withFeatures('dev', splits.dev),
    tests: splits.tests.map((test) => ({...withFeatures('test', test), name: test.name})),
    maxLength,
  };
}

/** Reads a task's splits (seeded sub-samples where the config caps them) and builds their features. */
export function loadTaskData(config: Ptv2Config, t: TaskConfig, definition: TaskDefinition, tokenizer: PtTokenizer, maxLength: number, where?: TaskKeyLocation): TaskData {
  return buildTaskData(readTaskSplits(config, t, definition, where), tokenizer, maxLength);
}

/**
 * One split's examples, checked. A missing directory or file is reported at the config line that
 * named it (`tasks[i].data`, or `tasks[i].train_file`, … when set) when `where` can tell.
 */
export function readSplit(definition: TaskDefinition, task: TaskConfig, file: string, split: Split, where?: TaskKeyLocation): Example[] {
  const full = path.join(task.data, file);
  if (!fs.existsSync(full)) {
    const defaults = `default file names for ${task.name}: ${definition.files.train}, ${definition.files.dev}`;
    if (!fs.existsSync(task.data)) {
      throw new UserError(`data directory ${task.data} of task ${task.name} not found`, where?.('data') ?? {file: task.data}, [
        'check the path: it is read relative to the directory ptv2 runs in',
        `it must hold the task's files (${defaults})`,
      ]);
    }
    const key = split === 'test' ? 'test_file' : `${split}_file`;
    const keySet = (split === 'train' && task.train_file) || (split === 'dev' && task.dev_file) || split === 'test';
    throw new UserError(`${split} file ${full} of task ${task.name} not found`, where?.(keySet ? key : 'data') ?? {file: full}, [
      `check tasks[].data and tasks[].${key} (${defaults})`,
    ]);
  }
  const examples = definition.read(full, split);
  if (examples.length === 0) throw new UserError(`no examples in the ${split} file of task ${task.name}`, {file: full});
  if (split !== 'test') {
    const unlabelled = examples.find((example) => !isLabelled(example));
    if (unlabelled) {
      throw new UserError(`this ${split} example has no label; train and dev files need labels (only a test file may come without)`, {file: full, line: unlabelled.line, field: 'label'});
    }
  }
  return examples;
}

/** Token features of one split, with the head's feature builder and the task's settings. */
export function buildFeatures(task: TaskConfig, definition: TaskDefinition, split: Split, examples: Example[], tokenizer: PtTokenizer, labels: readonly string[], maxLength: number, file: string): FeatureSet {
  switch (definition.head) {
    case 'choice':
      return buildChoiceFeatures(examples as ChoiceExample[], tokenizer, maxLength);
    case 'span':
      return buildSpanFeatures(examples as SpanExample[], tokenizer, maxLength, definition.qa!);
    case 'token':
      // Test sets may hold tag types the training file lacks (CoNLL-2005's Brown); they are scored as missed.
      return buildTaggingFeatures(examples as TaggingExample[], tokenizer, labels, maxLength, file, split === 'train' ? 'refuse' : 'count');
    case 'classification':
      return buildPairFeatures(examples as PairExample[], tokenizer, labels, maxLength, file, task.fields?.label);
  }
}

function limit<T>(items: T[], max: number | null, seed: number): T[] {
  if (max === null || items.length <= max) return items;
  return shuffled(items, mulberry32(seed)).slice(0, max);
}

/** Every split of a task under the name it goes by: train, dev, then each test file's. */
export function namedSplits(data: TaskData): [string, SplitData][] {
  return [['train', data.train], ['dev', data.dev], ...data.tests.map((t): [string, SplitData] => [t.name, t])];
}

/** The splits a run predicts (and scores where labelled): all but train. */
export function evaluatedSplits(data: TaskData): [string, SplitData][] {
  return namedSplits(data).slice(1);
}

/** Per split, gold tags of dev/test files that the training file lacks (scored as missed). */
export function unseenTagCounts(data: TaskData): Record<string, Record<string, number>> {
  return Object.fromEntries(evaluatedSplits(data).filter(([, s]) => s.set.unseenTags).map(([name, s]) => [name, s.set.unseenTags!]));
}

/** Over-long inputs cut to fit, per split: stored with every run and shown by `ptv2 report --runs`. */
export function truncationCounts(data: TaskData): Record<string, number> {
  return Object.fromEntries(namedSplits(data).map(([name, s]) => [name, s.set.truncated]));
}

/** What the run read and how, so a stored run says which data and labels it saw. */
export function taskParams(data: TaskData): Record<string, unknown> {
  const unseen = unseenTagCounts(data);
  return {
    family: data.definition.family,
    metric_scale: data.definition.metricScale,
    labels: data.labels,
    files: Object.fromEntries(namedSplits(data).map(([name, s]) => [name, s.file])),
    ...(Object.keys(unseen).length > 0 ? {unseen_tags: unseen} : {}),
    ...(data.definition.qa ? {qa: data.config.qa ?? null} : {}),
  };
}

/** A task's input length and the config key it comes from (for messages). */
export interface InputLength {
  value: number;
  /** `tasks[i].max_length`, `model.max_length`, or the family default's key. */
  field: string;
  /** Set when neither key is written: the family's usual length. */
  familyDefault?: string;
}

/** The task's own max_length, else model.max_length, else the family's usual length (128; 384 for QA). */
export function inputLength(config: Ptv2Config, index: number, definition: TaskDefinition): InputLength {
  const task = config.tasks[index];
  if (task.max_length !== null) return {value: task.max_length, field: `tasks[${index}].max_length`};
  if (config.model.max_length !== null) return {value: config.model.max_length, field: 'model.max_length'};
  return {value: definition.defaultMaxLength, field: 'model.max_length', familyDefault: `the default for ${definition.family}`};
}

/** Every job's input plus its prompt positions must fit the checkpoint's position table. */
export function checkPositions(job: Job, length: InputLength, available: number, file: string): void {
  const prompt = job.config.prompt;
  const usesPrefixPositions = job.method === 'pt' || (job.method !== 'ft' && prompt.shift_positions);
  const promptPositions = usesPrefixPositions ? prompt.length : 0;
  const needed = length.value + promptPositions;
  if (needed > available) {
    const what = length.familyDefault ? `max_length ${length.value} (${length.familyDefault})` : `max_length ${length.value}`;
    throw new UserError(
      `${job.id}: ${what} + prompt length ${promptPositions} needs ${needed} positions but the checkpoint has ${available}`,
      {file, field: length.field},
      [`set ${length.field} to at most ${available - promptPositions}, or lower prompt.length`, 'or set prompt.shift_positions: false'],
    );
  }
}
