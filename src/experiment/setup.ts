/**
 * How an experiment gets ready to train, in three phases, cheapest and most likely to fail first:
 *
 *   1. checkInputs: the config's plan, every task's files (every split, read and checked, each
 *      missing path reported at the config line that set it), the database (ptv2's, writable,
 *      and for --resume an experiment to continue), the checkpoint's positions. Seconds at most,
 *      and nothing is written.
 *   2. ensureCheckpoint: creates the checkpoint a config asks for when it does not exist yet
 *      (random, or MLM-pretrained: minutes), written aside and renamed into place.
 *   3. openExperiment: loads the checkpoint and tokenizer, tokenises the data, opens the store
 *      and writes the experiment row.
 *
 * The progress display shows each phase as a task; Experiment.prepare runs all three.
 */
import fs from 'node:fs';
import {initBackend, resolveBackendChoice, type BackendInfo, type Tf} from '../compute/backend.js';
import {checkStepFits, likelyTfBackend} from '../compute/memory.js';
import {withoutUndefined, type LoadedConfig} from '../config/load.js';
import {planJobs, type Job} from '../config/plan.js';
import type {Ptv2Config, TaskConfig} from '../config/schema.js';
import {taskDefinition, type TaskDefinition} from '../data/registry.js';
import {UserError} from '../errors.js';
import {writeDirectoryAtomically} from '../model/atomic-dir.js';
import {buildCasedBpeVocab} from '../model/bpe-vocab.js';
import {loadCheckpoint, normaliseConfig, randomCheckpoint, randomConfig, writeCheckpoint, type Checkpoint} from '../model/checkpoint.js';
import {buildUnigramVocab} from '../model/unigram-vocab.js';
import {buildWordPieceVocab} from '../model/vocab.js';
import {Store} from '../store/index.js';
import {secondsSilent} from '../store/liveness.js';
import {loadTokenizer} from '../tokenizer/index.js';
import type {TrainEvent} from '../train/trainer.js';
import {Experiment} from './experiment.js';
import {checkPooler, loadPromptTables} from './job-setup.js';
import {prepareVerbalizers, promptInitIds} from './verbalizer-setup.js';
import {buildTaskData, checkPositions, inputLength, readTaskSplits, type InputLength, type TaskSplits} from './task-data.js';

export interface PrepareOptions {
  /** --backend flag, else PTV2_BACKEND, else the config. */
  backend?: string;
  /** --db flag, else the config's database. */
  database?: string;
  /** --resume: continue the latest experiment of this name, skipping its completed runs. */
  resume?: boolean;
  /** --force (with --resume): take over an experiment that still looks alive. */
  force?: boolean;
  /** Aborted ⇒ pretraining and training stop between two steps (Ctrl-C). */
  signal?: AbortSignal;
}

/** What phase 1 found: everything checked, nothing written. */
export interface CheckedInputs {
  loaded: LoadedConfig;
  opts: PrepareOptions;
  backend: BackendInfo;
  tf: Tf;
  jobs: Job[];
  definitions: Map<string, TaskDefinition>;
  lengths: Map<string, InputLength>;
  splits: Map<string, TaskSplits>;
  database: string;
  /** Loaded in phase 1 when it exists already. */
  checkpoint?: Checkpoint;
}

/** Phase 1: config plan, data files, database and positions; writes nothing. */
export async function checkInputs(loaded: LoadedConfig, opts: PrepareOptions = {}): Promise<CheckedInputs> {
  const config = loaded.config;
  const database = opts.database ?? config.database;
  const jobs = planJobs(config);
  const definitions = new Map(config.tasks.map((t) => [t.name, taskDefinition(t)]));
  const lengths = new Map(config.tasks.map((t, i) => [t.name, inputLength(config, i, definitions.get(t.name)!)]));

  // Every task's every split, read and checked; a missing path is reported where the config set it.
  const taskConfig = (t: TaskConfig) => ({...config, train: {...config.train, ...withoutUndefined(t.train)}});
  const splits = new Map(
    config.tasks.map((t, index) => {
      const where = (key: string) => loaded.locate?.(['tasks', index, key]) ?? {file: loaded.file, field: `tasks[${index}].${key}`};
      return [t.name, readTaskSplits(taskConfig(t), t, definitions.get(t.name)!, where)];
    }),
  );

  checkDatabase(database, loaded, opts);

  // Positions: the checkpoint's own table, or the one model.init will create.
  const exists = fs.existsSync(config.model.path);
  const checkpoint = exists || !config.model.init ? loadCheckpoint(config.model.path) : undefined;
  const positions = checkpoint ? checkpoint.config.maxPositions - checkpoint.config.positionOffset : plannedEncoder(config).maxPositions - plannedEncoder(config).positionOffset;
  for (const {job, length} of jobTasks(jobs, lengths)) checkPositions(job, length, positions, loaded.file);
  if (checkpoint) checkAgainstCheckpoint(loaded, jobs, definitions, lengths, checkpoint, likelyTfBackend(resolveBackendChoice(opts.backend, config.backend)));

  const {info, tf} = await initBackend(resolveBackendChoice(opts.backend, config.backend));
  tf.enableProdMode();
  return {loaded, opts, backend: info, tf, jobs, definitions, lengths, splits, database, checkpoint};
}

/** The encoder settings `model.init` will write, without drawing any weights. */
function plannedEncoder(config: Ptv2Config) {
  const init = config.model.init!;
  return normaliseConfig(randomConfig({modelType: init.type, layers: init.layers, hidden: init.hidden, heads: init.heads, intermediate: init.intermediate, maxPositions: init.max_positions, vocabSize: 100}), 'model.init');
}

function jobTasks(jobs: readonly Job[], lengths: ReadonlyMap<string, InputLength>) {
  // A shared MPT-2 job trains on the batches of each of its tasks in turn: each must fit.
  return jobs.flatMap((job) => (job.tasks ?? [job.task]).map((task) => ({job, length: lengths.get(task)!})));
}

/** The checks that need the checkpoint itself: memory (the WASM heap, or RAM on blas/cpu), pooler, prompt adapters. */
function checkAgainstCheckpoint(loaded: LoadedConfig, jobs: Job[], definitions: Map<string, TaskDefinition>, lengths: Map<string, InputLength>, checkpoint: Checkpoint, tfBackend: string) {
  for (const {job, length} of jobTasks(jobs, lengths)) {
    const shape = {method: job.method, batch: job.config.train.batch_size, seqLen: length.value, promptLength: job.config.prompt.length};
    checkStepFits(tfBackend, checkpoint.config, shape, {file: loaded.file});
  }
  // DeBERTa's [CLS] heads bring their own ContextPooler; BERT/RoBERTa read the checkpoint's pooler.
  if (!checkpoint.config.deberta) checkPooler(jobs, new Map([...definitions].map(([name, d]) => [name, d.head])), checkpoint, loaded);
  return loadPromptTables(jobs, checkpoint.config, loaded.file);
}

/**
 * The database must be ptv2's (or new) and writable, and with --resume hold an experiment to
 * continue that is not running; checked read-only, so a rejected run leaves the file as it was.
 */
function checkDatabase(database: string, loaded: LoadedConfig, opts: PrepareOptions): void {
  Store.checkWritable(database);
  if (!opts.resume) return;
  const name = loaded.config.name;
  const store = fs.existsSync(database) && fs.statSync(database).size > 0 ? Store.openReadOnly(database) : undefined;
  try {
    const previous = store?.findExperiment(name);
    if (!store || !previous) throw new UserError(`no experiment named "${name}" in ${database} to resume`, {file: loaded.file}, ['run without --resume to start it']);
    if (previous.status === 'running' && !opts.force) {
      const silent = secondsSilent({heartbeatAt: previous.heartbeatAt, since: previous.createdAt});
      throw new UserError(
        `experiment ${previous.name} #${previous.id} is still running (pid ${previous.pid} on ${previous.host}, last heartbeat ${silent} s ago)`,
        {file: loaded.file},
        [`wait for it; it counts as interrupted once silent for ${store.staleSeconds} s (PTV2_STALE_SECONDS)`, 'or, if you know it has stopped, take it over: ptv2 run CONFIG --resume --force'],
      );
    }
    if (previous.configText !== loaded.text) {
      throw new UserError(`the config has changed since experiment ${previous.name} #${previous.id} ran`, {file: loaded.file}, [
        'run without --resume to start a new experiment',
        'or restore the config as it was (it is stored in the database)',
      ]);
    }
  } finally {
    store?.close();
  }
}

/**
 * Phase 2: writes the checkpoint a config asks for when its directory does not exist yet: random,
 * or with `init.pretrain` MLM-pretrained on the synthetic world's text (needs the tfjs backend
 * up). Either way it is written beside its path and renamed into place, so a killed process never
 * leaves a half-written checkpoint.
 */
export async function ensureCheckpoint(config: Ptv2Config, opts: {onEvent?: (event: TrainEvent) => void; signal?: AbortSignal} = {}): Promise<{created: boolean}> {
  const dir = config.model.path;
  if (fs.existsSync(dir) || !config.model.init) return {created: false};
  const init = config.model.init;
  const {worldPieces, worldVocabulary} = await import('../data/synthetic/index.js');
  // RoBERTa's byte-level BPE, DeBERTa's Unigram, BERT's WordPiece; pretraining is for BERT and RoBERTa (see the config schema).
  const vocab = init.type === 'roberta' ? buildCasedBpeVocab(worldPieces())
    : init.type === 'deberta-v2' ? buildUnigramVocab(worldVocabulary())
    : buildWordPieceVocab(worldVocabulary());
  const options = {
    modelType: init.type,
    layers: init.layers,
    hidden: init.hidden,
    heads: init.heads,
    intermediate: init.intermediate,
    maxPositions: init.max_positions,
    vocabSize: Array.isArray(vocab) ? vocab.length : vocab.tokens.length,
    seed: config.seed,
  };
  // The schema allows pretrain for bert and roberta only, whose vocabularies are these two kinds.
  if (init.pretrain && !('tokenizerJson' in vocab)) {
    const {writePretrainedCheckpoint} = await import('../pretrain.js');
    await writePretrainedCheckpoint(dir, options, vocab, init.pretrain, opts.onEvent, {signal: opts.signal});
    return {created: true};
  }
  const {config: hfConfig, weights} = randomCheckpoint(options);
  await writeDirectoryAtomically(dir, (tmp) => writeCheckpoint(tmp, hfConfig, weights, vocab));
  return {created: true};
}

/** Phase 3: loads model and tokenizer, tokenises the data, opens the store, writes the experiment row. */
export async function openExperiment(inputs: CheckedInputs, checkpointCreated: boolean): Promise<Experiment> {
  const {loaded, opts, jobs, definitions, lengths} = inputs;
  const config = loaded.config;
  const checkpoint = inputs.checkpoint ?? loadCheckpoint(config.model.path);
  if (!inputs.checkpoint) {
    const positions = checkpoint.config.maxPositions - checkpoint.config.positionOffset;
    for (const {job, length} of jobTasks(jobs, lengths)) checkPositions(job, length, positions, loaded.file);
  }
  const promptTables = checkAgainstCheckpoint(loaded, jobs, definitions, lengths, checkpoint, inputs.backend.tfName);
  const tokenizer = loadTokenizer(config.model.path, config.model.lowercase === null ? {} : {lowercase: config.model.lowercase});
  const tasks = new Map([...inputs.splits].map(([name, splits]) => [name, buildTaskData(splits, tokenizer, lengths.get(name)!.value)]));
  const verbalizers = prepareVerbalizers(jobs, tasks, tokenizer, checkpoint, loaded.file);
  for (const job of jobs) promptInitIds(job, tokenizer, 0, loaded.file);
  const {EncoderWeights} = await import('../model/encoder.js');
  const weights = new EncoderWeights(checkpoint);
  let store: Store | undefined;
  try {
    store = Store.open(inputs.database);
    const previous = opts.resume ? store.findExperiment(config.name) : undefined;
    store.markOrphanedRunsInterrupted(opts.force && previous ? {takeOver: previous.id} : {});
    const experiment = new Experiment(loaded, config, inputs.backend, inputs.tf, weights, tokenizer, tasks, store, checkpointCreated, jobs, promptTables, verbalizers, opts.signal);
    if (opts.resume) experiment.resumeLatest();
    else experiment.start();
    return experiment;
  } catch (error) {
    store?.close();
    weights.dispose();
    throw error;
  }
}

/** All three phases. */
export async function prepareExperiment(loaded: LoadedConfig, opts: PrepareOptions = {}): Promise<Experiment> {
  const inputs = await checkInputs(loaded, opts);
  const {created} = await ensureCheckpoint(loaded.config, {signal: opts.signal});
  return openExperiment(inputs, created);
}
