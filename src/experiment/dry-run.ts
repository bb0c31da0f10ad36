/**
 * `ptv2 run CONFIG --dry-run`: every check `ptv2 run` makes before it trains, and the plan, with
 * nothing trained, created or written (no database, no checkpoint, no outputs).
 *
 * Checked: the config (already, by loading it), the checkpoint (config.json and every tensor
 * name and shape) and its tokenizer, each task's files (read with the task's reader, labels,
 * then tokenised into features as a run would), every job's input length plus prompt against the
 * position table, prompt adapters to start from, and on the WASM backend each job's heap.
 * A checkpoint the config would create on first use (`model.init`) does not exist yet: its
 * position table is the one `model.init` asks for, and the data files are read and checked but
 * not tokenised (there is no tokenizer yet).
 */
import fs from 'node:fs';

import type {LoadedConfig} from '../config/load.js';
import {withoutUndefined} from '../config/load.js';
import {planJobs, type Job} from '../config/plan.js';
import type {TaskConfig} from '../config/schema.js';
import {checkStepFits, likelyTfBackend} from '../compute/memory.js';
import {resolveBackendChoice} from '../compute/backend.js';
import {labelsOf, taskDefinition} from '../data/registry.js';
import {testSplitNames} from '../data/splits.js';
import {loadCheckpoint} from '../model/checkpoint.js';
import {loadTokenizer} from '../tokenizer/index.js';
import {loadPromptTables} from './job-setup.js';
import {prepareVerbalizers, promptInitIds} from './verbalizer-setup.js';
import {checkPositions, inputLength, loadTaskData, readSplit, type TaskData} from './task-data.js';

export interface PlannedJob {
  id: string;
  task: string;
  method: string;
  stage: Job['stage'];
  sweepKey: string | null;
  sweepValue: unknown;
  /** The settings that differ most between jobs, as they will train. */
  prompt: {length: number; depth: number | null; reparameterize: boolean; encoder: string};
  train: {lr: number; epochs: number; batch_size: number; dropout: number};
  /** linear, or verbalizer (the checkpoint's MLM head over label words). */
  head: string;
  seed: number;
  maxLength: number;
}

export interface DryRunResult {
  experiment: string;
  checkpoint: {path: string; exists: boolean; positions: number};
  /** Per task: examples per split as read (before any max_*_examples cap). */
  tasks: {name: string; splits: Record<string, number>}[];
  jobs: PlannedJob[];
}

export function dryRun(loaded: LoadedConfig, opts: {backend?: string} = {}): DryRunResult {
  const {config, file} = loaded;
  const jobs = planJobs(config);
  const exists = fs.existsSync(config.model.path);
  const init = config.model.init;
  // Without a checkpoint (and no init to create one) this fails as a run would, naming the directory.
  const checkpoint = exists || !init ? loadCheckpoint(config.model.path) : undefined;
  const positions = checkpoint ? checkpoint.config.maxPositions - checkpoint.config.positionOffset : init!.max_positions;
  const definitions = new Map(config.tasks.map((t) => [t.name, taskDefinition(t)]));
  const lengths = new Map(config.tasks.map((t, i) => [t.name, inputLength(config, i, definitions.get(t.name)!)]));

  const jobTasks = jobs.flatMap((job) => (job.tasks ?? [job.task]).map((task) => ({job, length: lengths.get(task)!})));
  for (const {job, length} of jobTasks) checkPositions(job, length, positions, file);
  if (checkpoint) {
    const tfBackend = likelyTfBackend(resolveBackendChoice(opts.backend, config.backend));
    for (const {job, length} of jobTasks) {
      checkStepFits(tfBackend, checkpoint.config, {method: job.method, batch: job.config.train.batch_size, seqLen: length.value, promptLength: job.config.prompt.length}, {file});
    }
    loadPromptTables(jobs, checkpoint.config, file);
  }

  const taskConfig = (t: TaskConfig) => ({...config, train: {...config.train, ...withoutUndefined(t.train)}});
  const tokenizer = checkpoint ? loadTokenizer(config.model.path, config.model.lowercase === null ? {} : {lowercase: config.model.lowercase}) : undefined;
  const loadedData = new Map<string, TaskData>();
  const tasks = config.tasks.map((t, index) => {
    const definition = definitions.get(t.name)!;
    // A missing path is reported at the config line that set it, as `ptv2 run` reports it.
    const where = (key: string) => loaded.locate?.(['tasks', index, key]) ?? {file, field: `tasks[${index}].${key}`};
    if (tokenizer) {
      const data = loadTaskData(taskConfig(t), t, definition, tokenizer, lengths.get(t.name)!.value, where);
      loadedData.set(t.name, data);
      const splits: Record<string, number> = {train: data.train.examples.length, dev: data.dev.examples.length};
      for (const test of data.tests) splits[test.name] = test.examples.length;
      return {name: t.name, splits};
    }
    const train = readSplit(definition, t, t.train_file ?? definition.files.train, 'train', where);
    labelsOf(definition, train);
    const splits: Record<string, number> = {train: train.length, dev: readSplit(definition, t, t.dev_file ?? definition.files.dev, 'dev', where).length};
    for (const test of testSplitNames(t.test_file)) splits[test.name] = readSplit(definition, t, test.file, 'test', where).length;
    return {name: t.name, splits};
  });

  // Label words, templates and the MLM head, and init words, as a run checks them.
  if (tokenizer && checkpoint) {
    prepareVerbalizers(jobs, loadedData, tokenizer, checkpoint, file);
    for (const job of jobs) promptInitIds(job, tokenizer, 0, file);
  }

  return {
    experiment: config.name,
    checkpoint: {path: config.model.path, exists, positions},
    tasks,
    jobs: jobs.map((job) => {
      const {prompt, train} = job.config;
      const length = lengths.get(job.tasks?.[0] ?? job.task)!.value;
      return {
        id: job.id,
        task: job.task,
        method: job.method,
        stage: job.stage,
        sweepKey: job.sweepKey ?? null,
        sweepValue: job.sweepValue === undefined ? null : job.sweepValue,
        prompt: {length: prompt.length, depth: prompt.depth, reparameterize: prompt.reparameterize, encoder: prompt.encoder},
        head: job.config.head,
        train: {lr: train.lr, epochs: train.epochs, batch_size: train.batch_size, dropout: train.dropout},
        seed: job.seed,
        maxLength: length,
      };
    }),
  };
}

/** One line per job: task, method, sweep value, then what it trains with. */
export function renderDryRun(result: DryRunResult, file: string): string[] {
  const {checkpoint} = result;
  const lines = [
    `dry run of ${file}: nothing is trained or written`,
    checkpoint.exists
      ? `checkpoint ${checkpoint.path}: ${checkpoint.positions} positions`
      : `checkpoint ${checkpoint.path}: not there yet, a run creates it (model.init: ${checkpoint.positions} positions); data files read but not tokenised`,
    ...result.tasks.map((t) => `${t.name}: ${Object.entries(t.splits).map(([split, n]) => `${n} ${split}`).join(' / ')} examples`),
    `${result.jobs.length} jobs:`,
  ];
  const rows = result.jobs.map((job) => {
    const method = job.stage === 'shared' ? 'mpt2 (shared stage)' : job.stage === 'finetune' ? 'mpt2 (fine-tuning)' : job.method;
    const sweep = job.sweepKey === null ? '-' : `${job.sweepKey}=${JSON.stringify(job.sweepValue)}`;
    const encoder = job.method === 'ptv1' ? `, ${job.prompt.encoder} encoder` : '';
    const p = job.method === 'ft' ? 'no prompt' : `P ${job.prompt.length}${job.prompt.depth === null ? '' : `, depth ${job.prompt.depth}`}${job.prompt.reparameterize ? ', MLP' : ''}${encoder}`;
    const head = job.head === 'verbalizer' ? '; verbalizer head' : '';
    const t = job.train;
    return [job.task, method, sweep, `${p}${head}; lr ${t.lr}, ${t.epochs} epochs, batch ${t.batch_size}, dropout ${t.dropout}, max_length ${job.maxLength}, seed ${job.seed}`];
  });
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) lines.push(`  ${r.slice(0, 3).map((f, c) => f.padEnd(widths[c])).join('  ')}  ${r[3]}`);
  return lines;
}
