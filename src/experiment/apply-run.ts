/**
 * `ptv2 predict`: a completed run applied to new examples. The run is rebuilt as it trained —
 * its experiment's stored config planned again to find the job (method, prompt, head, seed), the
 * checkpoint it recorded, the labels and input length stored with it — and its best epoch's
 * trainable state (the `trainable_state` artifact) is loaded into every variable by name. Inputs
 * are read in the task's own format (the task's reader, as for a test file) or as plain JSON
 * lines; predictions are scored records (src/data/scores.ts), as runs write them for dev and test.
 */
import fs from 'node:fs';
import type * as TF from '@tensorflow/tfjs';
import type {Tf} from '../compute/backend.js';
import {parseConfig} from '../config/load.js';
import {planJobs, type Job} from '../config/plan.js';
import {evaluationBatches} from '../data/features.js';
import {describeJson, parseJsonl} from '../data/jsonl.js';
import {taskDefinition, type TaskDefinition} from '../data/registry.js';
import {scoredPredictions, type ScoredPrediction} from '../data/scores.js';
import {readText} from '../data/text-file.js';
import type {Example} from '../data/types.js';
import {UserError} from '../errors.js';
import {loadCheckpoint} from '../model/checkpoint.js';
import type {HeadKind, TaskModel} from '../model/model.js';
import {readSafetensors} from '../model/safetensors.js';
import type {RunRow, Store} from '../store/index.js';
import {loadTokenizer} from '../tokenizer/index.js';
import {promptOptions, variableName} from './job-setup.js';
import {predictSplit} from './predict.js';
import {buildFeatures} from './task-data.js';

export interface PredictRequest {
  runId: number;
  input: string;
  /** The database, for messages. */
  db: string;
  /** The checkpoint directory, when the recorded one does not resolve from here. */
  model?: string;
}

export interface PredictResult {
  run: RunRow;
  head: HeadKind;
  labels: readonly string[];
  /** `task` (the task's reader) or `plain` (JSON lines of text). */
  inputKind: 'task' | 'plain';
  records: ScoredPrediction[];
  /** Inputs cut to the run's input length. */
  truncated: number;
}

/** Keys of the plain input lines; a .jsonl whose first line has only these (and text or question) is plain. */
const PLAIN_KEYS = new Set(['id', 'text', 'text_pair', 'choices', 'question', 'context', 'predicate_index']);

export async function predictWithRun(tf: Tf, store: Store, request: PredictRequest): Promise<PredictResult> {
  const {run, job} = findJob(store, request);
  const task = job.config.tasks.find((t) => t.name === run.task)!;
  const definition = taskDefinition(task);
  const params = run.params as {task?: {labels?: unknown}; model?: {max_length?: unknown}};
  const labels = params.task?.labels;
  const maxLength = params.model?.max_length;
  if (!Array.isArray(labels) || typeof maxLength !== 'number') throw new UserError(`run ${run.id} does not record its labels and input length`, {file: request.db});
  const stateFile = store.artifacts(run.id).find((a) => a.kind === 'trainable_state')?.path;
  if (!stateFile || !fs.existsSync(stateFile)) {
    throw new UserError(`the trained state of run ${run.id} is missing`, {file: stateFile ?? request.db}, ['predict from the machine and directory the run was trained in']);
  }
  const modelDir = request.model ?? run.modelPath ?? job.config.model.path;
  if (!fs.existsSync(modelDir)) throw new UserError(`checkpoint directory of run ${run.id} not found`, {file: modelDir}, ['pass --model DIR: the checkpoint directory the run trained on']);

  const {examples, kind} = readInput(request.input, definition);
  const checkpoint = loadCheckpoint(modelDir);
  const lowercase = job.config.model.lowercase;
  const tokenizer = loadTokenizer(modelDir, lowercase === null ? {} : {lowercase});
  const set = buildFeatures(task, definition, 'test', examples, tokenizer, labels as string[], maxLength, request.input);

  const {EncoderWeights} = await import('../model/encoder.js');
  const {TaskModel} = await import('../model/model.js');
  const weights = new EncoderWeights(checkpoint);
  const model: TaskModel = new TaskModel(weights, {
    prompt: promptOptions(job, job.runSeed, new Map()),
    head: definition.head,
    numLabels: labels.length,
    dropout: job.config.train.dropout,
    usePooler: job.config.model.use_pooler,
    seed: job.runSeed,
  });
  try {
    loadState(tf, model.variables, stateFile);
    const batches = evaluationBatches(set.features, job.config.train.eval_batch_size, tokenizer.padId);
    const evaluation = await predictSplit(tf, definition, labels as string[], model, {examples, set}, batches);
    return {run, head: definition.head, labels: labels as string[], inputKind: kind, records: scoredPredictions(definition.head, evaluation), truncated: set.truncated};
  } finally {
    model.dispose();
    weights.dispose();
  }
}

/** The run row and the job of its experiment's config that trained it. */
function findJob(store: Store, request: PredictRequest): {run: RunRow; job: Job} {
  const run = store.run(request.runId);
  if (!run) {
    const ids = store.experiments().flatMap((e) => store.runs(e.id).map((r) => r.id));
    const range = ids.length > 0 ? `runs ${Math.min(...ids)}–${Math.max(...ids)}` : 'no runs';
    throw new UserError(`no run ${request.runId} (the database has ${range})`, {file: request.db}, ['ptv2 report --runs lists the runs of an experiment with their ids']);
  }
  if (run.status !== 'completed') throw new UserError(`run ${run.id} is ${run.status}, not completed: it has no best epoch to predict with`, {file: request.db});
  if (run.stage === 'shared') {
    throw new UserError(`run ${run.id} is mpt2's shared stage, with one head per task`, {file: request.db}, ['predict with one of the experiment\'s mpt2 fine-tuning runs (one per task)']);
  }
  const experiment = store.experiments().find((e) => e.id === run.experimentId)!;
  const {config} = parseConfig(experiment.configText, experiment.configPath ?? `experiment ${experiment.id}'s stored config`);
  const sweepValue = (job: Job) => (job.sweepValue === undefined ? null : JSON.stringify(job.sweepValue));
  const job = planJobs(config).find((j) => j.task === run.task && j.method === run.method && j.stage === run.stage && (j.sweepKey ?? null) === run.sweepKey && sweepValue(j) === run.sweepValue);
  if (!job) throw new UserError(`the stored config of experiment ${experiment.id} no longer plans run ${run.id} (${run.task}/${run.method})`, {file: request.db});
  return {run, job};
}

function loadState(tf: Tf, variables: readonly TF.Variable[], file: string): void {
  const saved = readSafetensors(file).tensors;
  for (const v of variables) {
    const name = variableName(v);
    const tensor = saved.get(name);
    if (!tensor) throw new UserError(`has no tensor ${name}; it was not written for this run's model`, {file});
    if (tensor.shape.join(',') !== v.shape.join(',')) throw new UserError(`${name} has shape [${tensor.shape.join(', ')}], the model's is [${v.shape.join(', ')}]`, {file});
    tf.tidy(() => v.assign(tf.tensor(tensor.data, v.shape)));
  }
}

/** The input file's examples: plain JSON lines when it looks like them (see PLAIN_KEYS), else the task's reader. */
function readInput(file: string, definition: TaskDefinition): {examples: Example[]; kind: 'task' | 'plain'} {
  if (!fs.existsSync(file)) throw new UserError('input file not found', {file});
  if (file.endsWith('.jsonl')) {
    const lines = parseJsonl(readText(file), file);
    const first = lines[0]?.value;
    if (first && ('text' in first || 'question' in first) && Object.keys(first).every((key) => PLAIN_KEYS.has(key))) {
      return {examples: lines.map(({value, line}, index) => plainExample(value, line, index, definition.head, file)), kind: 'plain'};
    }
  }
  const examples = definition.read(file, 'test');
  if (examples.length === 0) throw new UserError('no examples', {file});
  return {examples, kind: 'task'};
}

function plainExample(value: Record<string, unknown>, line: number, index: number, head: HeadKind, file: string): Example {
  const fail = (field: string, message: string): never => {
    throw new UserError(message, {file, line, field});
  };
  const unknown = Object.keys(value).find((key) => !PLAIN_KEYS.has(key));
  if (unknown) fail(unknown, `unknown key; plain input lines have ${[...PLAIN_KEYS].join(', ')}`);
  const string = (key: string, required: boolean): string | undefined => {
    const v = value[key];
    if (v === undefined && !required) return undefined;
    return typeof v === 'string' ? v : fail(key, `expected a string, got ${v === undefined ? 'nothing' : describeJson(v)}`);
  };
  const idValue = value.id;
  if (idValue !== undefined && typeof idValue !== 'string' && typeof idValue !== 'number') fail('id', `expected a string or number, got ${describeJson(idValue)}`);
  const id = (idValue as string | number | undefined) ?? index;
  switch (head) {
    case 'classification':
      return {kind: 'pair', id, textA: string('text', true)!, textB: string('text_pair', false), label: null, line};
    case 'choice': {
      const choices = value.choices;
      if (!Array.isArray(choices) || choices.length < 2 || !choices.every((c) => typeof c === 'string')) fail('choices', 'expected a list of at least two strings (this task is multiple choice)');
      return {kind: 'choice', id, context: string('text', true)!, choices: choices as string[], label: null, line};
    }
    case 'token': {
      const words = string('text', true)!.split(/\s+/).filter((w) => w !== '');
      if (words.length === 0) fail('text', 'has no words');
      const predicate = value.predicate_index;
      if (predicate !== undefined && (!Number.isInteger(predicate) || (predicate as number) < 0 || (predicate as number) >= words.length)) fail('predicate_index', `expected a word index 0–${words.length - 1}`);
      return {kind: 'tagging', id, words, tags: null, line, ...(predicate === undefined ? {} : {predicateIndex: predicate as number})};
    }
    case 'span': {
      const question = string('question', false) ?? string('text', true)!;
      const context = string('context', false) ?? string('text_pair', true)!;
      return {kind: 'span', id: String(id), question, context, answers: [], isImpossible: false, unlabelled: true, line};
    }
  }
}
