/**
 * Scores prediction files of the tasks a config defines by family, in the formats a ptv2 run
 * writes them for those tasks:
 * - classification, pair_classification: one `{"idx": id, "label": label}` object per line, idx
 *   being the gold record's id (its 0-based position when the task names no id field);
 * - tagging: CoNLL lines `token [gold] predicted`, the predicted tag in the last column; the gold
 *   file's own lines with the predicted tag appended (conlleval's convention) read as well;
 * - qa: SQuAD `{id: answer text}` JSON and, for version 2.0, `{id: no-answer probability}`.
 *
 * The gold file is read by the task's own reader (format, fields and columns as the config gives
 * them) and the numbers come from the task definition's score(), the function a run reports with.
 *
 * References: conlleval.pl (CoNLL-2000) for the tagging layout; rajpurkar.github.io/SQuAD-explorer
 * (evaluate-v1.1.py, evaluate-v2.0.py) for the QA files.
 */

import {closestMatch, loadConfig} from '../config/load.js';
import {COLUMNS_DEFAULTS, type TaskConfig} from '../config/schema.js';
import {readConll} from '../data/conll.js';
import {describeJson, parseJsonl} from '../data/jsonl.js';
import {labelsOf, taskDefinition, type Evaluation, type TaskDefinition} from '../data/registry.js';
import {readNaProbs, readSquadPredictions} from '../data/squad.js';
import {readText} from '../data/text-file.js';
import type {Example, PairExample, SpanExample, TaggingExample} from '../data/types.js';
import {formatLocated, isUserError, UserError, type ErrorLocation} from '../errors.js';

export interface FamilyScoreFiles {
  /** Gold file in the task's own format, with labels. */
  gold: string;
  /** Prediction file as a run writes it. */
  pred: string;
  /** QA version 2.0 only: `{id: no-answer probability}`. */
  naProb?: string;
}

/** Most missing ids an error message lists. */
const LISTED_MISSING = 5;

/** The config's entry for a task; a name the config lacks is an error listing the names it has. */
export function configTask(configFile: string, name: string): TaskConfig {
  const {config} = loadConfig(configFile);
  const task = config.tasks.find((entry) => entry.name === name);
  if (task === undefined) {
    const names = config.tasks.map((entry) => entry.name);
    const near = closestMatch(name, names);
    throw new UserError(`no task "${name}" in ${configFile}; its tasks: ${names.join(', ')}`, {field: '--task'}, near === undefined ? [] : [`--task ${near}`]);
  }
  return task;
}

/** Every metric the task's definition reports, for a task defined by family. */
export function scoreFamilyTask(task: TaskConfig, files: FamilyScoreFiles): Record<string, number> {
  const definition = taskDefinition(task);
  if (files.naProb !== undefined && definition.qa?.allowNull !== true) {
    throw new UserError(`no-answer probabilities are only scored for QA tasks of version 2.0, and ${task.name} is ${describeTask(task)}`, {field: '--na-prob'});
  }
  const evaluate = EVALUATIONS.get(definition.head);
  if (evaluate === undefined) throw new Error(`no prediction reader for the ${definition.head} head of ${task.name}`);
  // Read as the dev split: every gold example must carry its label, tags or answers.
  const examples = definition.read(files.gold, 'dev');
  const evaluation = evaluate({definition, task, examples, files});
  try {
    return definition.score(evaluation);
  } catch (error) {
    throw locateMetricError(error, files);
  }
}

function describeTask(task: TaskConfig): string {
  return task.family === 'qa' ? `QA version ${task.version}` : `a ${task.family} task`;
}

// ---------------------------------------------------------------------------------------------
// The Evaluation each head's score() reads, built from the gold examples and the prediction file.

interface EvaluationInput {
  definition: TaskDefinition;
  task: TaskConfig;
  examples: Example[];
  files: FamilyScoreFiles;
}

/** Fields a score() of the other heads never reads. */
const UNUSED = {pred: [], gold: [], probabilities: []};

const EVALUATIONS: ReadonlyMap<TaskDefinition['head'], (input: EvaluationInput) => Evaluation> = new Map([
  ['classification', classificationEvaluation],
  ['token', taggingEvaluation],
  ['span', qaEvaluation],
]);

function classificationEvaluation({definition, examples, files}: EvaluationInput): Evaluation {
  const gold = examples as PairExample[];
  const predicted = readLabelPredictions(gold, files);
  return {
    examples: gold,
    // The gold file's label set: a predicted label outside it is simply wrong.
    labels: labelsOf(definition, gold),
    pred: gold.map((example) => predicted.get(String(example.id))!),
    gold: gold.map((example) => example.label!),
    probabilities: [],
  };
}

function taggingEvaluation({definition, task, examples, files}: EvaluationInput): Evaluation {
  const gold = examples as TaggingExample[];
  const tokenColumn = (task.columns ?? COLUMNS_DEFAULTS).token;
  return {...UNUSED, examples: gold, labels: labelsOf(definition, gold), predTags: readTagPredictions(gold, files, tokenColumn)};
}

function qaEvaluation({examples, files}: EvaluationInput): Evaluation {
  const answers = readSquadPredictions(files.pred);
  const naProbs = files.naProb === undefined ? undefined : readNaProbs(files.naProb);
  return {...UNUSED, examples: examples as SpanExample[], labels: [], answers, naProbs};
}

/**
 * The SQuAD 2.0 metric knows which mapping lacks an id (its field), not which file that mapping
 * came from; the error is re-raised naming the file.
 */
export function locateMetricError(error: unknown, files: FamilyScoreFiles): unknown {
  if (!isUserError(error) || error.location.file !== undefined) return error;
  const file = error.location.field === 'naProbs' ? files.naProb : files.pred;
  const located = formatLocated('', error.location);
  const message = error.message.startsWith(located) ? error.message.slice(located.length) : error.message;
  return new UserError(message, {...error.location, file}, error.suggestions);
}

// ---------------------------------------------------------------------------------------------
// Classification: `{"idx": id, "label": label}` lines, one per gold example.

/** Predicted label by gold id (as a string, the key the reader checks ids for duplicates by). */
function readLabelPredictions(gold: readonly PairExample[], files: FamilyScoreFiles): Map<string, string> {
  const goldIds = new Set(gold.map((example) => String(example.id)));
  const predicted = new Map<string, {label: string; line: number}>();
  for (const {value, line} of parseJsonl(readText(files.pred), files.pred)) {
    const at = (field: string): ErrorLocation => ({file: files.pred, line, field});
    const idx = predictionId(value.idx, at('idx'));
    const label = predictionLabel(value.label, at('label'));
    if (!goldIds.has(String(idx))) throw new UserError(`no gold example with id ${JSON.stringify(idx)} in ${files.gold}`, at('idx'));
    const earlier = predicted.get(String(idx));
    if (earlier !== undefined) throw new UserError(`id ${JSON.stringify(idx)} is predicted twice (first at line ${earlier.line})`, at('idx'));
    predicted.set(String(idx), {label, line});
  }
  const missing = gold.filter((example) => !predicted.has(String(example.id)));
  if (missing.length > 0) {
    const listed = missing.slice(0, LISTED_MISSING).map((example) => JSON.stringify(example.id));
    const more = missing.length > LISTED_MISSING ? ', …' : '';
    throw new UserError(`no prediction for ${missing.length} gold example(s) of ${files.gold}: idx ${listed.join(', ')}${more}`, {file: files.pred});
  }
  return new Map([...predicted].map(([id, {label}]) => [id, label]));
}

function predictionId(value: unknown, where: ErrorLocation): string | number {
  if (typeof value === 'number' || (typeof value === 'string' && value.trim() !== '')) return value;
  const found = value === undefined ? 'nothing (the field is missing)' : describeJson(value);
  throw new UserError(`expected the gold example's id (a string or number), got ${found}`, where);
}

/** Labels compare as the reader stores them: numbers and booleans as their text. */
function predictionLabel(value: unknown, where: ErrorLocation): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value;
  const found = value === undefined ? 'nothing (the field is missing)' : describeJson(value);
  throw new UserError(`expected a label (string, number or boolean), got ${found}`, where);
}

// ---------------------------------------------------------------------------------------------
// Tagging: the gold tokens sentence by sentence, the predicted tag in the last column.

/**
 * Predicted tags aligned with the gold sentences. Blank and `-DOCSTART-` lines may differ from
 * the gold file's; tokens and sentence lengths may not.
 *
 * readConllPredictions reads gold and prediction tokens from one column, but a run writes its
 * predictions token first whichever column the gold file keeps tokens in; so the prediction file
 * is read on its own and aligned here.
 */
function readTagPredictions(gold: readonly TaggingExample[], files: FamilyScoreFiles, goldTokenColumn: number): string[][] {
  const tokenColumn = predictionTokenColumn(gold, files.pred, goldTokenColumn);
  const sentences = readConll(files.pred, {tokenColumn, tagColumn: -1});
  if (sentences.length > gold.length) {
    throw new UserError(`sentence ${gold.length + 1} goes beyond the ${gold.length} sentences of ${files.gold}`, {file: files.pred, line: sentences[gold.length].line});
  }
  return gold.map((example, index) => {
    const sentence = sentences.at(index);
    if (sentence === undefined) {
      const last = sentences.at(-1);
      const line = last === undefined ? undefined : lastLineOf(last);
      throw new UserError(
        `file ends after ${sentences.length} sentences but ${files.gold} has ${gold.length}; the next gold sentence is at ${files.gold}:${example.line}`,
        {file: files.pred, line},
      );
    }
    return alignSentence(example, sentence, files);
  });
}

/**
 * Token first, as a run writes predictions; the gold file's token column when the first token is
 * found there and not first (gold lines with the predicted tag appended, or gold copied as is).
 */
function predictionTokenColumn(gold: readonly TaggingExample[], pred: string, goldTokenColumn: number): number {
  if (goldTokenColumn === 0 || gold.length === 0) return 0;
  const first = readConll(pred, {tokenColumn: 0, tagColumn: null}).at(0)?.words[0];
  return first === gold[0].words[0] ? 0 : goldTokenColumn;
}

/** A sentence's rows are consecutive lines, so its n-th token is on line `line + n`. */
function lineOfToken(sentence: TaggingExample, position: number): number | undefined {
  return sentence.line === undefined ? undefined : sentence.line + position;
}

function lastLineOf(sentence: TaggingExample): number | undefined {
  return lineOfToken(sentence, sentence.words.length - 1);
}

function alignSentence(example: TaggingExample, sentence: TaggingExample, files: FamilyScoreFiles): string[] {
  const goldAt = `the gold sentence at ${files.gold}:${example.line}`;
  const {words} = sentence;
  if (words.length > example.words.length) {
    const extra = example.words.length;
    throw new UserError(`extra token "${words[extra]}": ${goldAt} has ${example.words.length} tokens`, {
      file: files.pred,
      line: lineOfToken(sentence, extra),
      field: 'token',
    });
  }
  if (words.length < example.words.length) {
    const after = lastLineOf(sentence);
    throw new UserError(`sentence ends after ${words.length} tokens but ${goldAt} has ${example.words.length}`, {
      file: files.pred,
      line: after === undefined ? undefined : after + 1,
    });
  }
  words.forEach((token, position) => {
    const goldToken = example.words[position];
    if (token !== goldToken) {
      throw new UserError(`token "${token}" does not match "${goldToken}" of ${goldAt} (token ${position + 1})`, {
        file: files.pred,
        line: lineOfToken(sentence, position),
        field: 'token',
      });
    }
  });
  // Read with the tag in the last column, so every row has one.
  return sentence.tags!;
}
