/**
 * Scores a prediction file against a gold file, both in the task's official format, with ptv2's
 * metric code — so a model trained elsewhere and a ptv2 run are measured by the same numbers.
 *
 * A table maps each task name to its scorer:
 * - SuperGLUE (boolq, cb, copa, rte, wic, wsc, multirc, record): leaderboard jsonl, see ./superglue.ts.
 * - NER (conll03, ontonotes, conll04): CoNLL column files, predicted tag in the last column;
 *   precision / recall / F1 over entities, seqeval's default mode.
 * - SRL (conll05, conll12): `<predicate> words ||| tags` lines; span F1 leaving out the predicate `V`.
 * - SQuAD 1.1 (squad) and 2.0 (squad_v2): `{id: answer text}` JSON, optionally no-answer
 *   probabilities for 2.0; every key of evaluate-v1.1.py / evaluate-v2.0.py.
 *
 * With a config, the task is the config's entry of that name: a task defined by family is scored
 * by ./custom.ts, a named task as above with its entry's tagging options.
 *
 * References: seqeval (github.com/chakki-works/seqeval); rajpurkar.github.io/SQuAD-explorer.
 */

import {UserError} from '../errors.js';
import {readConllPredictions} from '../data/conll.js';
import {taskDefinition, type TaskDefinition} from '../data/registry.js';
import {readSrlPredictions} from '../data/srl.js';
import {readNaProbs, readSquad, readSquadPredictions} from '../data/squad.js';
import type {TaggingExample} from '../data/types.js';
import {spanScores, type SpanScoreOptions} from '../metrics/span.js';
import {squadV1, squadV2} from '../metrics/squad.js';
import {configTask, locateMetricError, scoreFamilyTask} from './custom.js';
import {LABEL_TASK_NAMES, scoreLabelTask, scoreMultiRc, scoreRecord} from './superglue.js';

export interface ScoreRequest {
  task: string;
  /** Gold file in the task's release format, with labels. */
  gold: string;
  /** Prediction file in the task's submission format. */
  pred: string;
  /** SQuAD 2.0 only: `{id: no-answer probability}`, for the best_* thresholds. */
  naProb?: string;
  /** Experiment config whose task entry of this name is scored (its family, fields, options). */
  config?: string;
}

/** definition: the named task as a config's entry builds it, for the options that change scoring. */
type Scorer = (request: ScoreRequest, definition?: TaskDefinition) => Record<string, number>;

function taggingScorer(
  read: (gold: string, pred: string) => {examples: TaggingExample[]; predicted: string[][]},
  opts: SpanScoreOptions,
): Scorer {
  return ({gold, pred}, definition) => {
    const {examples, predicted} = read(gold, pred);
    const goldTags = examples.map((example) => {
      if (example.tags === null) throw new UserError('the gold file has no tags', {file: gold, line: example.line});
      return example.tags;
    });
    // The config entry's tagging options (mode, scheme, exclude) live in its definition's score().
    if (definition !== undefined) return definition.score({examples, predTags: predicted, labels: [], pred: [], gold: [], probabilities: []});
    const {precision, recall, f1} = spanScores(goldTags, predicted, opts);
    return {precision, recall, f1};
  };
}

const scoreNer = taggingScorer((gold, pred) => readConllPredictions(gold, pred), {});
// The predicate is given in the input, so predicting its own `V` span earns nothing.
const scoreSrl = taggingScorer(readSrlPredictions, {exclude: ['V']});

const scoreSquadV1: Scorer = ({gold, pred}) => squadV1(readSquad(gold, '1.1'), readSquadPredictions(pred));

const scoreSquadV2: Scorer = ({gold, pred, naProb}) => {
  const dataset = readSquad(gold, '2.0');
  const preds = readSquadPredictions(pred);
  const naProbs = naProb === undefined ? undefined : readNaProbs(naProb);
  try {
    return squadV2(dataset, preds, naProbs);
  } catch (error) {
    // The metric knows which mapping lacks an id (field), not which file it came from.
    throw locateMetricError(error, {gold, pred, naProb});
  }
};

export const SCORERS: ReadonlyMap<string, Scorer> = new Map<string, Scorer>([
  ...LABEL_TASK_NAMES.map((task): [string, Scorer] => [task, (request) => scoreLabelTask(task, request)]),
  ['multirc', scoreMultiRc],
  ['record', scoreRecord],
  ['conll03', scoreNer],
  ['ontonotes', scoreNer],
  ['conll04', scoreNer],
  ['conll05', scoreSrl],
  ['conll12', scoreSrl],
  ['squad', scoreSquadV1],
  ['squad_v2', scoreSquadV2],
]);

/** Every metric the task's official scorer reports, by name. */
export function scoreFiles(request: ScoreRequest): Record<string, number> {
  if (request.config === undefined) return scoreNamedTask(request);
  const task = configTask(request.config, request.task);
  return task.family === undefined ? scoreNamedTask(request, taskDefinition(task)) : scoreFamilyTask(task, request);
}

function scoreNamedTask(request: ScoreRequest, definition?: TaskDefinition): Record<string, number> {
  const scorer = SCORERS.get(request.task);
  if (scorer === undefined) {
    const known = [...SCORERS.keys()].sort();
    throw new UserError(`unknown task "${request.task}"; known tasks: ${known.join(', ')}`, {field: '--task'});
  }
  if (request.naProb !== undefined && request.task !== 'squad_v2') {
    throw new UserError('no-answer probabilities are only scored for squad_v2', {field: '--na-prob'});
  }
  return scorer(request, definition);
}
