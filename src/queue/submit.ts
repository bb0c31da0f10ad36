/**
 * `ptv2 run CONFIG --queue URL` and `ptv2 sweep … --queue URL`: everything a local run checks
 * before it trains (the dry run's checks: config, checkpoint, data, positions, memory), then the
 * experiment and one `queued` run per planned job in the local store, one BullMQ job per run, and
 * the runs followed until they finish (follow.ts).
 *
 * MPT-2: a fine-tuning job is not put on the queue here but carried in its shared stage's data;
 * the worker that completes the shared stage adds it with the shared state (worker.ts). With
 * `--resume` the latest experiment of the config's name continues: completed runs stand, queued
 * and running ones are followed (put back on the queue if Redis lost them), failed and
 * interrupted ones go on the queue again.
 */
import fs from 'node:fs';
import type {LoadedConfig} from '../config/load.js';
import {planJobs, type Job} from '../config/plan.js';
import {UserError} from '../errors.js';
import {configToResume} from '../cli/resume-config.js';
import type {RunSummary} from '../cli/run-experiment.js';
import {taskDefinition} from '../data/registry.js';
import {dryRun} from '../experiment/dry-run.js';
import {jobParams} from '../experiment/job-setup.js';
import {MULTITASK_KEY_METRIC} from '../experiment/multitask.js';
import {jobOutputDir} from '../experiment/experiment.js';
import {Store} from '../store/index.js';
import {QueueRecords, type QueueRunRow, type QueuedRunStart} from '../store/queue-records.js';
import {checkReachable, loadBullmq, QUEUE_NAME, queueTarget, type QueueTarget} from './connection.js';
import {followRuns, type FollowedOutcome, type FollowedRun} from './follow.js';
import {jobOptions, newToken, PAYLOAD_VERSION, type JobPayload} from './payload.js';

export interface SubmitOptions {
  target: QueueTarget;
  backend?: string;
  database?: string;
  plain?: boolean;
  resume?: boolean;
  command?: 'run' | 'sweep';
  quiet: boolean;
  log: (line: string) => void;
}

export interface QueueRunOutcome {
  summary: RunSummary & {queue: string};
  failures?: string;
}

export async function submitExperiment(given: LoadedConfig, opts: SubmitOptions): Promise<QueueRunOutcome> {
  const loaded = opts.resume ? configToResume(given, opts.database, opts.command ?? 'run') : given;
  const {config} = loaded;
  dryRun(loaded, {backend: opts.backend});
  await checkReachable(opts.target);
  const log = (line: string) => {
    if (!opts.quiet) opts.log(line);
  };

  const store = Store.open(opts.database ?? config.database);
  const records = new QueueRecords(store);
  const jobs = planJobs(config);
  const token = newToken();
  const {experimentId, rows, toAdd, standing} = opts.resume ? resumeOnQueue(store, records, loaded, jobs, token) : freshOnQueue(records, loaded, jobs, token);

  // What each job's worker needs: the recorded config text and the planned job's id.
  const payloadOf = (job: Job): JobPayload => ({
    version: PAYLOAD_VERSION,
    configText: loaded.text,
    configFile: loaded.file,
    jobKey: job.id,
    experiment: `${config.name} #${experimentId}`,
    experimentId,
    ...(opts.backend ? {backend: opts.backend} : {}),
  });
  const rowOf = (job: Job) => rows.get(job.id)!;
  const {Queue} = await loadBullmq();
  const queue = new Queue(QUEUE_NAME, {connection: opts.target.redis});
  try {
    const bulk = [];
    for (const job of toAdd) {
      if (job.stage === 'finetune') {
        // Its shared stage adds it, unless that completed earlier: then it goes on with the saved state.
        const shared = rows.get(job.from!);
        if (shared && shared.status !== 'completed') continue;
        const state = shared ? store.artifacts(shared.id).find((a) => a.kind === 'trainable_state') : undefined;
        if (!state || !fs.existsSync(state.path)) throw new UserError(`the shared stage ${job.from} of ${job.id} has no saved state in ${store.path}`, {}, ['run the experiment again without --resume']);
        bulk.push({name: job.id, data: {...payloadOf(job), sharedState: fs.readFileSync(state.path).toString('base64')}, opts: jobOptions(rowOf(job).queueJob)});
        continue;
      }
      const then = job.stage === 'shared' ? toAdd.filter((j) => j.from === job.id).map((j) => ({queueJob: rowOf(j).queueJob, payload: payloadOf(j)})) : [];
      bulk.push({name: job.id, data: {...payloadOf(job), ...(then.length > 0 ? {then} : {})}, opts: jobOptions(rowOf(job).queueJob)});
    }
    await queue.addBulk(bulk);
  } finally {
    await queue.close();
  }

  const resumed = opts.resume ? ` (resumed: ${standing} completed earlier)` : '';
  const ready = () => {
    log(`experiment ${config.name} #${experimentId}: ${jobs.length} runs${resumed}, ${toAdd.length} queued on ${opts.target.masked} → ${store.path}`);
    if (loaded !== given) log(`resuming the sweep it recorded: ${config.sweep!.key} over ${JSON.stringify(config.sweep!.values)}`);
  };
  const followed = jobs
    .filter((job) => rowOf(job).status !== 'completed')
    .map((job): FollowedRun => ({
      runId: rowOf(job).id,
      experimentId,
      queueJob: rowOf(job).queueJob,
      jobKey: job.id,
      outputDir: jobOutputDir(config, experimentId, job.id),
      ...(job.from && rows.has(job.from) ? {sharedRunId: rows.get(job.from)!.id} : {}),
    }));
  const hint = `ptv2 collect --queue ${opts.target.masked.includes('***') ? 'env' : opts.target.masked} --experiment ${experimentId} --db ${store.path}`;
  const outcomes = await followRuns(store, opts.target, followed, {quiet: opts.quiet, plain: opts.plain ?? !process.stdout.isTTY, log: opts.log, resumeHint: hint, ready});
  return summarise(store, records, config.name, experimentId, jobs, outcomes, opts);
}

/** A new experiment: one queued row per planned job, every job to be added. */
function freshOnQueue(records: QueueRecords, loaded: LoadedConfig, jobs: Job[], token: string) {
  const experimentId = records.createQueuedExperiment({name: loaded.config.name, configPath: loaded.file, configText: loaded.text});
  const inserted = records.insertQueuedRuns(experimentId, jobs.map((job) => queuedStart(job, loaded)), token);
  const rows = new Map(jobs.map((job, i) => [job.id, inserted[i]]));
  return {experimentId, rows, toAdd: jobs, standing: 0};
}

/** `--resume`: the latest experiment of this name, with the same config text. */
function resumeOnQueue(store: Store, records: QueueRecords, loaded: LoadedConfig, jobs: Job[], token: string) {
  const {config} = loaded;
  const previous = store.findExperiment(config.name);
  const fail = (message: string, suggestions: string[]) => {
    throw new UserError(message, {file: loaded.file}, suggestions);
  };
  if (!previous) return fail(`no experiment named "${config.name}" in ${store.path} to resume`, ['run without --resume to start it']);
  if (previous.status === 'running') return fail(`experiment ${previous.name} #${previous.id} is running in process ${previous.pid} on ${previous.host}`, ['wait for it, or stop it first']);
  if (previous.configText !== loaded.text) {
    return fail(`the config has changed since experiment ${previous.name} #${previous.id} ran`, ['run without --resume to start a new experiment', 'or restore the config as it was (it is stored in the database)']);
  }
  const queued = new Map(records.queueRuns(previous.id).map((r) => [r.jobKey, r]));
  const completedLocally = store.runs(previous.id).filter((r) => r.status === 'completed');
  const rows = new Map<string, QueueRunRow>();
  const toAdd: Job[] = [];
  const fresh: Job[] = [];
  let standing = 0;
  for (const job of jobs) {
    const row = queued.get(job.id);
    if (row?.status === 'completed') {
      rows.set(job.id, row);
      standing += 1;
    } else if (row && (row.status === 'queued' || row.status === 'running')) {
      // Still on the queue, or lost by Redis: adding it again with its job id is a no-op in the first case.
      rows.set(job.id, row);
      toAdd.push(job);
    } else if (row) {
      rows.set(job.id, records.requeueRun(row.id, token));
      toAdd.push(job);
    } else {
      const local = completedLocally.find((r) => r.task === job.task && r.method === job.method && r.stage === job.stage && r.sweepKey === (job.sweepKey ?? null) && r.sweepValue === (job.sweepValue === undefined ? null : JSON.stringify(job.sweepValue)));
      if (local) {
        // A run a local process completed stands; it is followed as completed.
        rows.set(job.id, {id: local.id, experimentId: previous.id, jobKey: job.id, queueJob: '', status: 'completed', attempts: 1, queuedAt: local.startedAt});
        standing += 1;
      } else {
        fresh.push(job);
      }
    }
  }
  const inserted = records.insertQueuedRuns(previous.id, fresh.map((job) => queuedStart(job, loaded)), token);
  fresh.forEach((job, i) => rows.set(job.id, inserted[i]));
  toAdd.push(...fresh);
  records.requeueExperiment(previous.id);
  return {experimentId: previous.id, rows, toAdd: jobs.filter((job) => toAdd.includes(job)), standing};
}

function queuedStart(job: Job, loaded: LoadedConfig): QueuedRunStart {
  const task = loaded.config.tasks.find((t) => t.name === job.task);
  return {
    task: job.task,
    method: job.method,
    stage: job.stage,
    sweepKey: job.sweepKey ?? null,
    sweepValue: job.sweepValue === undefined ? null : JSON.stringify(job.sweepValue),
    params: jobParams(job),
    seed: job.seed,
    modelPath: job.config.model.path,
    keyMetric: task ? taskDefinition(task).keyMetric : MULTITASK_KEY_METRIC,
    jobKey: job.id,
  };
}

function summarise(store: Store, records: QueueRecords, name: string, experimentId: number, jobs: Job[], outcomes: FollowedOutcome[], opts: SubmitOptions): QueueRunOutcome {
  const byKey = new Map(outcomes.map((o) => [o.jobKey, o]));
  const runs = jobs.map((job) => {
    const followed = byKey.get(job.id);
    const row = followed ? store.run(followed.runId)! : store.runs(experimentId).find((r) => r.status === 'completed' && r.task === job.task && r.method === job.method && r.stage === job.stage && (r.sweepValue ?? undefined) === (job.sweepValue === undefined ? undefined : JSON.stringify(job.sweepValue)))!;
    return {task: job.task, method: job.method, id: job.id, runId: row.id, status: row.status as 'completed' | 'failed' | 'interrupted', keyMetric: row.keyMetric, best: row.bestValue, bestEpoch: row.bestEpoch, error: row.error, resumed: !followed};
  });
  records.settleExperiment(experimentId);
  const failed = runs.filter((r) => r.status !== 'completed');
  if (!opts.quiet) opts.log(`done: ${runs.length - failed.length} of ${runs.length} runs completed; see \`ptv2 report --db ${store.path}\``);
  const summary = {experiment: name, experimentId, backend: 'queue', queue: opts.target.masked, database: store.path, runs};
  store.close();
  return {summary, failures: failed.length > 0 ? `${failed.length} run(s) failed: ${failed.map((f) => `${f.id}: ${f.error}`).join('; ')}` : undefined};
}

/**
 * `--queue VALUE` as the commands call it: runExperiment's contract (the summary when every job
 * completed, else a UserError carrying it), trained on the queue's workers.
 */
export function queueRunner(queue: string): {runExperiment: (loaded: LoadedConfig, opts: Omit<SubmitOptions, 'target'> & {force?: boolean}) => Promise<QueueRunOutcome['summary']>} {
  const target = queueTarget(queue);
  return {
    runExperiment: async (loaded, opts) => {
      const {summary, failures} = await submitExperiment(loaded, {...opts, target});
      if (failures === undefined) return summary;
      const error = new UserError(failures, {}, [`see which with: ptv2 report --runs --db ${summary.database}`]);
      error.details = {summary};
      throw error;
    },
  };
}
