/**
 * The task registry: everything ptv2 needs to run a task — family, reader, label list, head,
 * scorer, the metric that picks the best epoch, and how predictions are written for the official
 * scorer.
 *
 * A task is built by its family (classification, pair classification, multiple choice, tagging,
 * extractive QA) from the options a config gives it. The named tasks of the paper (SuperGLUE,
 * CoNLL NER, CoNLL SRL, SQuAD) are rows of one table that call the same family builders with the
 * official release's reader and files; a task the user defines with `family:` in the config goes
 * through the same builders with the reader and fields the user names. Adding a named task is
 * adding a row.
 */
import {COLUMNS_DEFAULTS, QA_DEFAULTS, TAGGING_DEFAULTS, TASK_FAMILIES, type QaConfig, type TaggingConfig, type TaskConfig, type TaskFamily} from '../config/schema.js';
import {accuracy, macroF1} from '../metrics/classification.js';
import {spanScores} from '../metrics/span.js';
import {squadV1, squadV2} from '../metrics/squad.js';
import {multircScores, recordScores} from '../metrics/superglue.js';
import {collectTagSet, readConll, writeConllPredictions, writeText} from './conll.js';
import {collectLabels, readTextClassification} from './custom.js';
import {readSquad, writeNaProbs, writeSquadPredictions, type SquadVersion} from './squad.js';
import {readSrl, writeSrlPredictions} from './srl.js';
import {readSuperGlue, SUPERGLUE_LABELS, type SuperGlueTask} from './superglue.js';
import type {HeadKind} from '../model/model.js';
import {testSplitNames} from './splits.js';
import type {ChoiceExample, Example, PairExample, SpanExample, Split, TaggingExample} from './types.js';


/** What a scorer sees of one evaluation: per example, predicted and gold label and P(label). */
export interface Evaluation {
  /** Pair, choice, tagging or span examples, as the task's reader makes them. */
  examples: readonly (PairExample | ChoiceExample | TaggingExample | SpanExample)[];
  /** The task's label list (for tagging: the tag set), as the head predicts over it. */
  labels: readonly string[];
  /** Tagging tasks: the predicted tag of every word. */
  predTags?: readonly string[][];
  /** Extractive QA: answer text per question id ("" = no answer). */
  answers?: Readonly<Record<string, string>>;
  /** SQuAD 2.0: no-answer probability per question id. */
  naProbs?: Readonly<Record<string, number>>;
  /** Extractive QA: the best span per question id (score, character offsets), null when none. */
  spans?: Readonly<Record<string, {score: number; start: number; end: number} | null>>;
  /** Tagging tasks: the probability of each predicted tag (null for a word truncated away). */
  tagProbabilities?: readonly (readonly (number | null)[])[];
  pred: readonly string[];
  gold: readonly string[];
  /** Softmax over the task's labels, per example. */
  probabilities: readonly Float32Array[];
}

/** Extractive QA settings after defaults: windows (doc stride, query length) and span decoding. */
export interface QaSettings {
  docStride: number;
  maxQueryLength: number;
  nBest: number;
  maxAnswerLength: number;
  /** Answer "" when the null score beats the best span by more than this (SQuAD 2.0 only). */
  nullThreshold: number;
  /** SQuAD 2.0: questions may have no answer, predicted through [CLS]. */
  allowNull: boolean;
}

export interface TaskDefinition {
  name: string;
  family: TaskFamily | 'multiple_choice';
  head: HeadKind;
  /** The label list; null = the label (or tag) set of the training file. */
  labels: readonly string[] | null;
  /** File names inside the task's data directory: the official release's, or the config's. */
  files: {train: string; dev: string};
  /** Reads one split; test files may come without labels. */
  read(file: string, split: Split): Example[];
  /** Every metric the scorer reports (that the key metric may be chosen from). */
  metrics: readonly string[];
  score(evaluation: Evaluation): Record<string, number>;
  /** Picks the best epoch. */
  keyMetric: string;
  /** What 100% is in this task's metrics: 1 for fractions, 100 where the official scorer prints percentages (SQuAD). */
  metricScale: 1 | 100;
  /** Prediction files are `<split>_predictions<extension>`, in the official scorer's format. */
  predictionExtension: string;
  writePredictions(file: string, evaluation: Evaluation): void;
  /** Further files the official scorer reads beside the predictions (SQuAD 2.0's no-answer probabilities). */
  extraOutputs?: readonly {kind: string; extension: string; write(file: string, evaluation: Evaluation): void}[];
  /** Input length when neither the task nor the model config sets max_length. */
  defaultMaxLength: number;
  /** Extractive QA only. */
  qa?: QaSettings;
}

/** Classification and tagging inputs mostly fit in 128 sub-tokens; SQuAD windows are 384 (BERT's max_seq_length). */
const DEFAULT_MAX_LENGTH = 128;
const QA_MAX_LENGTH = 384;

// ---------------------------------------------------------------------------------------------
// Family builders. Each takes what differs between the tasks of one family.

interface ClassificationSpec {
  name: string;
  family: 'classification' | 'pair_classification';
  labels: readonly string[] | null;
  files: TaskDefinition['files'];
  read: TaskDefinition['read'];
  /** Default: accuracy and macro-F1 over the label list. */
  score?: TaskDefinition['score'];
  metrics?: readonly string[];
  keyMetric?: string;
  /** Default: one `{"idx": id, "label": label}` line per example, the SuperGLUE submission layout. */
  predictionLines?: (e: Evaluation) => string[];
}

const classificationScores: TaskDefinition['score'] = (e) => ({accuracy: accuracy(e.pred, e.gold), macro_f1: macroF1(e.pred, e.gold, e.labels)});

function writeLines(file: string, lines: readonly string[]): void {
  writeText(file, lines.join('\n') + '\n');
}

function classificationTask(spec: ClassificationSpec): TaskDefinition {
  const predictionLines = spec.predictionLines ?? ((e: Evaluation) => e.examples.map((x, i) => JSON.stringify({idx: x.id, label: e.pred[i]})));
  return {
    name: spec.name,
    family: spec.family,
    head: 'classification',
    labels: spec.labels,
    files: spec.files,
    read: spec.read,
    metrics: spec.metrics ?? ['accuracy', 'macro_f1'],
    score: spec.score ?? classificationScores,
    keyMetric: spec.keyMetric ?? 'accuracy',
    metricScale: 1,
    defaultMaxLength: DEFAULT_MAX_LENGTH,
    predictionExtension: '.jsonl',
    writePredictions: (file, e) => writeLines(file, predictionLines(e)),
  };
}

/** Span micro-F1 over the tagging options (seqeval's default chunking unless strict). */
function taggingTask(
  name: string,
  files: TaskDefinition['files'],
  read: TaskDefinition['read'],
  options: TaggingConfig,
  write: typeof writeConllPredictions = writeConllPredictions,
): TaskDefinition {
  const gold = (e: Evaluation) => (e.examples as readonly TaggingExample[]).map((x) => x.tags ?? []);
  const scoring = {mode: options.mode, scheme: options.scheme, exclude: options.exclude ?? []};
  return {
    name,
    family: 'tagging',
    head: 'token',
    labels: null,
    files,
    read,
    metrics: ['precision', 'recall', 'f1'],
    score: (e) => {
      const {precision, recall, f1} = spanScores(gold(e), e.predTags!.map((t) => [...t]), scoring);
      return {precision, recall, f1};
    },
    keyMetric: 'f1',
    metricScale: 1,
    defaultMaxLength: DEFAULT_MAX_LENGTH,
    predictionExtension: '.txt',
    writePredictions: (file, e) => write(file, e.examples as TaggingExample[], e.predTags!.map((t) => [...t])),
  };
}

const SQUAD_METRICS: Record<SquadVersion, readonly string[]> = {
  '1.1': ['exact_match', 'f1'],
  '2.0': ['exact', 'f1', 'best_exact', 'best_f1'],
};

/** SQuAD-format extractive QA, scored as evaluate-v1.1.py / evaluate-v2.0.py do. */
function qaTask(name: string, version: SquadVersion, files: TaskDefinition['files'], options: QaConfig): TaskDefinition {
  const examples = (e: Evaluation) => e.examples as readonly SpanExample[];
  const allowNull = version === '2.0';
  return {
    name,
    family: 'qa',
    head: 'span',
    labels: [],
    files,
    read: (file, split) => readSquad(file, version, {answers: split === 'test' ? 'optional' : 'required'}),
    metrics: SQUAD_METRICS[version],
    score: (e) => (allowNull ? squadV2(examples(e), e.answers!, e.naProbs) : squadV1(examples(e), e.answers!)),
    keyMetric: 'f1',
    metricScale: 100,
    defaultMaxLength: QA_MAX_LENGTH,
    predictionExtension: '.json',
    writePredictions: (file, e) => writeSquadPredictions(file, e.answers!),
    extraOutputs: allowNull ? [{kind: 'na_probs', extension: '.json', write: (file, e) => writeNaProbs(file, e.naProbs!)}] : [],
    qa: {
      docStride: options.doc_stride,
      maxQueryLength: options.max_query_length,
      nBest: options.n_best,
      maxAnswerLength: options.max_answer_length,
      nullThreshold: options.null_threshold,
      allowNull,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The named tasks of the paper.

const SUPERGLUE_FILES = {train: 'train.jsonl', dev: 'val.jsonl'};
const CONLL_FILES = {train: 'train.txt', dev: 'dev.txt'};

/** SuperGLUE submission label values: strings for RTE/CB, booleans for the yes/no tasks. */
function submissionLabel(task: SuperGlueTask, label: string): string | boolean {
  return SUPERGLUE_LABELS[task][0] === 'false' ? label === 'true' : label;
}

function superGlueTask(name: SuperGlueTask, spec: Partial<ClassificationSpec> = {}): TaskDefinition {
  return classificationTask({
    name,
    family: 'pair_classification',
    labels: SUPERGLUE_LABELS[name],
    files: SUPERGLUE_FILES,
    read: (file) => readSuperGlue(name, file),
    metrics: ['accuracy'],
    score: (e) => ({accuracy: accuracy(e.pred, e.gold)}),
    predictionLines: (e) => e.examples.map((x, i) => JSON.stringify({idx: x.id, label: submissionLabel(name, e.pred[i])})),
    ...spec,
  });
}

/** COPA: (premise + " because"/" so", choice) scored per choice, softmax over the two; labels are choice indices. */
function copaTask(): TaskDefinition {
  return {
    ...superGlueTask('copa', {predictionLines: (e) => e.examples.map((x, i) => JSON.stringify({idx: x.id, label: Number(e.pred[i])}))}),
    family: 'multiple_choice',
    head: 'choice',
  };
}

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

const multircItems = (e: Evaluation) =>
  (e.examples as readonly PairExample[]).map((x, i) => ({group: x.group!, pred: e.pred[i] === 'true' ? (1 as const) : (0 as const), gold: e.gold[i] === 'true' ? (1 as const) : (0 as const)}));

const readNer: TaskDefinition['read'] = (file, split) => readConll(file, {tagsOptional: split === 'test'});

/** Options a named task takes from its config entry (everything else is the release's). */
interface NamedOptions {
  tagging: TaggingConfig;
  qa: QaConfig;
}

type NamedTask = (options: NamedOptions) => TaskDefinition;

/** Standard SRL scoring leaves out the predicate itself, which the input gives away. */
const srlOptions = (tagging: TaggingConfig): TaggingConfig => ({...tagging, exclude: tagging.exclude ?? ['V']});

export const NAMED_TASKS: ReadonlyMap<string, NamedTask> = new Map<string, NamedTask>([
  ['boolq', () => superGlueTask('boolq')],
  ['cb', () => superGlueTask('cb', {metrics: ['accuracy', 'macro_f1'], score: classificationScores})],
  ['copa', copaTask],
  ['multirc', () => superGlueTask('multirc', {metrics: ['f1a', 'em'], keyMetric: 'f1a', score: (e) => multircScores(multircItems(e)), predictionLines: multircLines})],
  [
    'record',
    () =>
      superGlueTask('record', {
        metrics: ['em', 'f1'],
        keyMetric: 'f1',
        score: (e) => recordScores(recordAnswers(e)),
        predictionLines: (e) => recordAnswers(e).map((a) => JSON.stringify({idx: Number(a.query), label: a.predText})),
      }),
  ],
  ['rte', () => superGlueTask('rte')],
  ['wic', () => superGlueTask('wic')],
  ['wsc', () => superGlueTask('wsc')],
  ['conll03', (o) => taggingTask('conll03', CONLL_FILES, readNer, o.tagging)],
  ['ontonotes', (o) => taggingTask('ontonotes', CONLL_FILES, readNer, o.tagging)],
  ['conll04', (o) => taggingTask('conll04', CONLL_FILES, readNer, o.tagging)],
  ['conll05', (o) => taggingTask('conll05', CONLL_FILES, readSrl, srlOptions(o.tagging), writeSrlPredictions)],
  ['conll12', (o) => taggingTask('conll12', CONLL_FILES, readSrl, srlOptions(o.tagging), writeSrlPredictions)],
  ['squad', (o) => qaTask('squad', '1.1', {train: 'train.json', dev: 'dev.json'}, o.qa)],
  ['squad_v2', (o) => qaTask('squad_v2', '2.0', {train: 'train.json', dev: 'dev.json'}, o.qa)],
]);

// ---------------------------------------------------------------------------------------------
// Tasks the user defines by family.

type CustomBuilder = (task: TaskConfig, files: TaskDefinition['files']) => TaskDefinition;

const CUSTOM_FAMILIES: ReadonlyMap<TaskFamily, CustomBuilder> = new Map<TaskFamily, CustomBuilder>([
  ['classification', (task, files) => customClassification(task, files, 'classification')],
  ['pair_classification', (task, files) => customClassification(task, files, 'pair_classification')],
  [
    'tagging',
    (task, files) =>
      taggingTask(task.name, files, (file, split) => readConll(file, {...columnsOf(task), tagsOptional: split === 'test'}), task.tagging ?? TAGGING_DEFAULTS),
  ],
  ['qa', (task, files) => qaTask(task.name, task.version ?? '1.1', files, task.qa ?? QA_DEFAULTS)],
]);

function columnsOf(task: TaskConfig): {tokenColumn: number; tagColumn: number} {
  const columns = task.columns ?? COLUMNS_DEFAULTS;
  return {tokenColumn: columns.token, tagColumn: columns.tag};
}

function customClassification(task: TaskConfig, files: TaskDefinition['files'], family: 'classification' | 'pair_classification'): TaskDefinition {
  const fields = task.fields!;
  return classificationTask({
    name: task.name,
    family,
    labels: null,
    files,
    read: (file, split) => readTextClassification(file, {format: task.format, fields, labels: split === 'test' ? 'optional' : 'required'}),
  });
}

/** The definition a config's task entry asks for: a named task with its options, or a task built by family. */
export function taskDefinition(task: TaskConfig): TaskDefinition {
  let definition: TaskDefinition;
  if (task.family) {
    definition = CUSTOM_FAMILIES.get(task.family)!(task, {train: task.train_file!, dev: task.dev_file!});
  } else {
    const named = NAMED_TASKS.get(task.name);
    if (!named) throw new Error(`unknown task "${task.name}" (the config schema should have refused it)`);
    definition = named({tagging: task.tagging ?? TAGGING_DEFAULTS, qa: task.qa ?? QA_DEFAULTS});
  }
  return task.metric ? {...definition, keyMetric: task.metric} : definition;
}

/** The labels a run predicts over: the task's list, or the set read from the training examples. */
export function labelsOf(definition: TaskDefinition, trainExamples: readonly Example[]): readonly string[] {
  if (definition.labels !== null) return definition.labels;
  return definition.head === 'token' ? collectTagSet(trainExamples as TaggingExample[]) : collectLabels(trainExamples as PairExample[]);
}

// ---------------------------------------------------------------------------------------------
// Config checks that need the registry (the schema checks each key on its own).

export interface TaskProblem {
  /** Key path inside the task entry. */
  path: (string | number)[];
  message: string;
}

/** Keys that only a task defined by family can have, and the families each belongs to. */
const FAMILY_KEYS: readonly {key: 'format' | 'fields' | 'columns' | 'version'; families: readonly TaskFamily[]}[] = [
  {key: 'format', families: ['classification', 'pair_classification']},
  {key: 'fields', families: ['classification', 'pair_classification']},
  {key: 'columns', families: ['tagging']},
  {key: 'version', families: ['qa']},
];

/** Everything wrong with one task entry that depends on which task or family it is. */
export function taskProblems(task: TaskConfig): TaskProblem[] {
  const problems: TaskProblem[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({path, message});
  const named = NAMED_TASKS.has(task.name);
  if (task.family === undefined) {
    if (!named) {
      add(['name'], `unknown task "${task.name}"; named tasks: ${[...NAMED_TASKS.keys()].join(', ')}; or define your own with family: ${TASK_FAMILIES.join(' | ')}`);
      return problems;
    }
    for (const {key} of FAMILY_KEYS) {
      if (task[key] !== undefined && task[key] !== null) add([key], `"${key}" is for tasks defined with family:, and ${task.name} is a named task`);
    }
  } else {
    if (named) add(['name'], `"${task.name}" is one of ptv2's named tasks; remove family: to use it, or give your task another name`);
    for (const key of ['train_file', 'dev_file'] as const) {
      if (task[key] === null) add([key], `missing required key "${key}" (a task defined by family has no release file names)`);
    }
    for (const {key, families} of FAMILY_KEYS) {
      if (task[key] !== undefined && task[key] !== null && !families.includes(task.family)) add([key], `"${key}" is for family ${families.join(' or ')}, not ${task.family}`);
    }
    if (task.family === 'classification' || task.family === 'pair_classification') {
      if (!task.fields) add(['fields'], 'missing required key "fields" (name the text and label fields, e.g. {text: sentence, label: label})');
      else if (task.family === 'pair_classification' && !task.fields.text_pair) add(['fields', 'text_pair'], 'missing required key "text_pair" (the field of the second text)');
      else if (task.family === 'classification' && task.fields.text_pair) add(['fields', 'text_pair'], 'a single-text task has no text_pair; use family: pair_classification');
    }
    if (task.family === 'qa' && task.version === undefined) add(['version'], 'missing required key "version" ("1.1", or "2.0" when some questions have no answer)');
  }
  const testNames = testSplitNames(task.test_file).map((t) => t.name);
  testNames.forEach((name, i) => {
    if (testNames.indexOf(name) < i) add(['test_file', i], `two test files would both be the split "${name}"; give them different file names`);
  });
  // A custom task with problems may not be buildable; a named task always is.
  if (task.family !== undefined && problems.length > 0) return problems;
  const definition = taskDefinition(task);
  if (task.tagging && definition.family !== 'tagging') add(['tagging'], `"tagging" options are for tagging tasks, and ${task.name} is ${definition.family}`);
  if (task.qa && definition.family !== 'qa') add(['qa'], `"qa" options are for extractive QA tasks, and ${task.name} is ${definition.family}`);
  if (task.metric !== null && !definition.metrics.includes(task.metric)) {
    add(['metric'], `${task.name} reports ${definition.metrics.join(', ')}; "${task.metric}" is not one of them`);
  }
  return problems;
}
