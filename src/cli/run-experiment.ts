/**
 * The body `ptv2 run` and `ptv2 sweep` share: check the inputs, create the checkpoint if the
 * config asks for one, load, then train every planned job under the progress display, record the
 * outcome and summarise it.
 *
 * Every planned job ends completed, failed or interrupted, in the output and (where the database
 * can be written) in the store; anything short of all completed is an error exit: 1, or 130/143
 * when SIGINT/SIGTERM stopped it. The first signal stops training after the step in progress and
 * marks the run and the experiment interrupted; a second one exits at once.
 *
 * It knows nothing of oclif: the command passes its `log` and whether `--json` is on, and its
 * error handling prints what this throws.
 */
import fs from 'node:fs';
import type {LoadedConfig} from '../config/load.js';
import type {Job} from '../config/plan.js';
import {InterruptedError, isInterrupted, STOP_SIGNALS, UserError, type StopSignal} from '../errors.js';
import type {Experiment, JobResult, TaskData} from '../experiment/experiment.js';
import {checkInputs, ensureCheckpoint, openExperiment, type CheckedInputs} from '../experiment/setup.js';
import {namedSplits, unseenTagCounts} from '../experiment/task-data.js';
import {clock, ExperimentClock, percentOf, runTasks, TrainingView, type ProgressTask} from '../ui/progress.js';
import {sweepNotes, type SweepNote} from '../config/plan.js';
import {configToResume} from './resume-config.js';

export interface RunExperimentOptions {
  /** --backend flag. */
  backend?: string;
  /** --db flag. */
  database?: string;
  /** --plain flag. */
  plain?: boolean;
  /** --resume flag: continue the latest experiment of this name. */
  resume?: boolean;
  /** --force flag (with --resume): take over an experiment that still looks alive. */
  force?: boolean;
  /** Which command runs it: `ptv2 run --resume` may continue a sweep that `ptv2 sweep` started. */
  command?: 'run' | 'sweep';
  /** --json: nothing is logged and no progress is shown, so stdout is the summary alone. */
  quiet: boolean;
  log: (line: string) => void;
}

export interface RunSummary {
  experiment: string;
  experimentId: number;
  backend: string;
  database: string;
  /** A sweep's methods (or MPT-2 shared stage) the swept values did not apply to, and why. */
  notSwept?: SweepNote[];
  runs: {
    task: string;
    method: string;
    id: string;
    /** Null when the job never started (interrupted before it) or its start could not be stored. */
    runId: number | null;
    status: JobResult['status'];
    keyMetric: string;
    best: number | null;
    bestEpoch: number | null;
    error: string | null;
    /** Completed by an earlier process of a resumed experiment. */
    resumed: boolean;
  }[];
}

/**
 * Runs the experiment; returns its summary when every job completed, else throws: an
 * InterruptedError (exit 130/143) after a signal, a UserError (exit 1) when a job failed, each
 * with the summary as `details` for --json.
 */
export async function runExperiment(given: LoadedConfig, opts: RunExperimentOptions): Promise<RunSummary> {
  const stop = new StopOnSignals();
  try {
    const loaded = opts.resume ? configToResume(given, opts.database, opts.command ?? 'run') : given;
    const experiment = await setUp(loaded, opts, stop).catch((error: unknown) => {
      // Stopped before the experiment was recorded: there is nothing to resume, only to start again.
      if (isInterrupted(error)) error.suggestions.splice(0, error.suggestions.length, 'nothing was recorded; run the same command again to start');
      throw error;
    });
    stop.experiment = experiment;
    return await trainAll(experiment, loaded, given, opts, stop);
  } finally {
    stop.dispose();
  }
}

/** The three setup phases (setup.ts), each a task of the display. */
async function setUp(loaded: LoadedConfig, opts: RunExperimentOptions, stop: StopOnSignals): Promise<Experiment> {
  const prepare = {backend: opts.backend, database: opts.database, resume: opts.resume, force: opts.force, signal: stop.signal};
  const config = loaded.config;
  const willCreate = !fs.existsSync(config.model.path) && config.model.init !== undefined && config.model.init !== null;
  let inputs: CheckedInputs | undefined;
  let created = false;
  let experiment: Experiment | undefined;
  const tasks: ProgressTask[] = [
    {
      title: `check ${loaded.file}: config, data files, database`,
      run: async () => {
        inputs = await checkInputs(loaded, prepare);
        stop.signal.throwIfAborted();
        const splits = [...inputs.splits.values()].reduce((n, s) => n + 2 + s.tests.length, 0);
        return {title: `checked ${loaded.file}: ${config.tasks.length} task(s), ${splits} data files, ${inputs.jobs.length} jobs; database ${inputs.database}; backend ${inputs.backend.name}`};
      },
    },
  ];
  if (willCreate) {
    const pretrain = config.model.init!.pretrain;
    tasks.push({
      title: pretrain ? `pretrain a checkpoint (masked-language model on ptv2's sample text) → ${config.model.path}` : `create a random checkpoint → ${config.model.path}`,
      run: async (control) => {
        const view = new TrainingView('pretraining', 'accuracy', 0, (metric, value) => (metric === 'accuracy' ? `${percentOf(value)}%` : value.toFixed(3)));
        const onEvent = pretrain
          ? (event: Parameters<TrainingView['update']>[0]) => {
              const line = view.update(event);
              if (event.type === 'eval') control.note(line!.replace(' dev ', ' held-out '));
              else if (event.type === 'step') control.note(line!);
              else if (event.type === 'progress' || event.type === 'evaluating') control.status(view.status().replace('best dev', 'best held-out'));
            }
          : undefined;
        created = (await ensureCheckpoint(config, {onEvent, signal: stop.signal})).created;
        stop.signal.throwIfAborted();
        return {title: created ? `${pretrain ? 'pretrained' : 'created'} checkpoint ${config.model.path}${pretrain ? ` in ${clock(view.clock.elapsed())}` : ''}` : `checkpoint ${config.model.path} exists`};
      },
    });
  }
  tasks.push({
    title: 'load the model, tokenise the data, open the database',
    run: async () => {
      // A stop asked for from here on is seen by the first job, which then does not start.
      experiment = await openExperiment(inputs!, created);
      stop.experiment = experiment;
      return {title: `loaded ${config.model.path}; experiment ${config.name} #${experiment.experimentId} in ${experiment.store.path}`};
    },
  });
  if (opts.quiet) {
    for (const task of tasks) await task.run({title: () => {}, status: () => {}, note: () => {}});
  } else {
    await runTasks(tasks, {plain: opts.plain || undefined, log: opts.log});
  }
  return experiment!;
}

async function trainAll(experiment: Experiment, loaded: LoadedConfig, given: LoadedConfig, opts: RunExperimentOptions, stop: StopOnSignals): Promise<RunSummary> {
  const {log, quiet} = opts;
  const jobs = experiment.jobs;
  const notSwept = sweepNotes(loaded.config, jobs);
  if (!quiet) {
    const backend = experiment.backend;
    log(`backend: ${backend.name}${backend.notes.length > 0 ? ` (${backend.notes.join('; ')})` : ''}`);
    for (const [name, data] of experiment.tasks) {
      log(describeTask(name, data));
      for (const [split, tags] of Object.entries(unseenTagCounts(data))) {
        const list = Object.entries(tags).map(([tag, n]) => `${tag} ×${n}`).join(', ');
        log(`  ${name} ${split}: tags the training file does not have, never predicted, so their entities count as missed: ${list}`);
      }
    }
    const resumed = opts.resume ? ` (resumed: ${experiment.completedJobs} completed earlier)` : '';
    log(`experiment ${loaded.config.name} #${experiment.experimentId}: ${jobs.length} runs${resumed} → ${experiment.store.path}`);
    if (loaded !== given) log(`resuming the sweep it recorded: ${loaded.config.sweep!.key} over ${JSON.stringify(loaded.config.sweep!.values)}`);
    for (const note of notSwept) log(`not swept: ${note.method}${note.stage ? ' (shared stage)' : ''}: ${note.reason}`);
  }

  const results = new Map<string, JobResult>();
  const seconds = new Map<string, number>();
  let finishError: unknown;
  try {
    const planned = jobs.map((job) => (experiment.isCompleted(job) ? 0 : experiment.plannedSteps(job)));
    const overall = new ExperimentClock(planned.reduce((a, b) => a + b, 0));
    const tasks: ProgressTask[] = jobs.map((job, k) => ({
      title: `${job.id} (run ${k + 1}/${jobs.length})`,
      run: async (control) => {
        if (stop.stoppedBy) throw new InterruptedError(stop.stoppedBy);
        const scale = experiment.metricScale(job);
        const view = new TrainingView(job.id, experiment.keyMetricOf(job), planned[k], (_m, v) => percentOf(v, scale), (m) => (job.stage === 'shared' ? [experiment.keyMetricOf(job)] : Object.keys(m)));
        const heading = () => `${job.id} · run ${k + 1}/${jobs.length} · ${overall.describe()}`;
        const started = Date.now();
        let result = await runJobSafely(experiment, job, (event) => {
          const line = view.update(event);
          if (event.type === 'progress') overall.inJob = event.step;
          if (line !== undefined && (event.type === 'step' || event.type === 'eval' || event.type === 'end')) control.note(line);
          if (event.type === 'progress' || event.type === 'evaluating' || event.type === 'eval') {
            control.title(heading());
            control.status(view.status());
          }
        });
        overall.endJob(planned[k]);
        // A stopped run's best epoch so far is still worth showing (its metrics are in the store).
        const best = view.bestSoFar;
        if (result.status === 'interrupted' && result.bestValue === undefined && best) result = {...result, bestValue: best.value, bestEpoch: best.epoch};
        results.set(job.id, result);
        seconds.set(job.id, (Date.now() - started) / 1000);
        if (result.status === 'interrupted') {
          control.title(`${job.id}: interrupted`);
          throw new InterruptedError(stop.stoppedBy ?? 'SIGINT');
        }
        return result.status === 'completed'
          ? {title: `${job.id}: best dev ${result.keyMetric} ${percentOf(result.bestValue!, scale)} (epoch ${result.bestEpoch})${result.resumed ? ', completed earlier' : ''}`}
          : {title: `${job.id}: ${result.status}`, failed: result.error};
      },
    }));
    if (quiet) {
      for (const task of tasks) await task.run({title: () => {}, status: () => {}, note: () => {}});
    } else {
      await runTasks(tasks, {plain: opts.plain || undefined, log});
    }
  } catch (error) {
    if (!isInterrupted(error)) finishError = error;
  }

  // Every planned job has an outcome: what it returned, or interrupted / failed before it started.
  const outcomes = jobs.map((job): JobResult => results.get(job.id) ?? {
    job,
    runId: null,
    status: stop.stoppedBy ? 'interrupted' : 'failed',
    error: stop.stoppedBy ? `not started: interrupted by ${stop.stoppedBy}` : `not started: ${(finishError as Error | undefined)?.message ?? 'unknown error'}`,
    keyMetric: experiment.keyMetricOf(job),
  });
  try {
    experiment.finish(outcomes, stop.stoppedBy !== undefined);
  } catch (error) {
    finishError ??= error;
  }

  const summary: RunSummary = {
    experiment: loaded.config.name,
    experimentId: experiment.experimentId,
    backend: experiment.backend.name,
    database: experiment.store.path,
    ...(loaded.config.sweep ? {notSwept} : {}),
    runs: outcomes.map((r) => ({task: r.job.task, method: r.job.method, id: r.job.id, runId: r.runId, status: r.status, keyMetric: r.keyMetric, best: r.bestValue ?? null, bestEpoch: r.bestEpoch ?? null, error: r.error ?? null, resumed: r.resumed ?? false})),
  };
  const completed = outcomes.filter((r) => r.status === 'completed').length;
  if (!quiet) {
    log('');
    for (const line of resultTable(outcomes, seconds, (job) => experiment.metricScale(job))) log(line);
    log(`done: ${completed} of ${outcomes.length} runs completed; see \`ptv2 report --db ${experiment.store.path}\``);
  }
  const notCompleted = outcomes.filter((r) => r.status !== 'completed');
  if (stop.stoppedBy) {
    const error = new InterruptedError(stop.stoppedBy);
    error.suggestions.splice(0, error.suggestions.length, `continue with: ptv2 run ${given.file} --resume`);
    error.details = {summary};
    throw error;
  }
  if (notCompleted.length > 0 || finishError !== undefined) {
    const parts = notCompleted.map((r) => `${r.job.id} ${r.status}: ${r.error}`);
    if (finishError !== undefined && !notCompleted.some((r) => r.error?.includes((finishError as Error).message))) parts.push((finishError as Error).message);
    const error = new UserError(`${notCompleted.length} of ${outcomes.length} runs did not complete: ${parts.join('; ')}`, {}, [
      `see which with: ptv2 report --runs --db ${experiment.store.path}`,
      `fix the cause, then run the rest: ptv2 run ${given.file} --resume`,
    ]);
    error.details = {summary};
    throw error;
  }
  return summary;
}

/** A job's outcome whatever goes wrong: an error outside training (the store at its start) fails the job, it does not vanish. */
async function runJobSafely(experiment: Experiment, job: Job, onEvent: Parameters<Experiment['runJob']>[1]): Promise<JobResult> {
  try {
    return await experiment.runJob(job, onEvent);
  } catch (error) {
    return {job, runId: null, status: isInterrupted(error) ? 'interrupted' : 'failed', error: (error as Error).message, keyMetric: experiment.keyMetricOf(job)};
  }
}

/** The closing table: one row per planned job with its status, best dev score (percent), epoch and time. */
function resultTable(outcomes: JobResult[], seconds: Map<string, number>, scaleOf: (job: Job) => number): string[] {
  const rows = outcomes.map((r) => [
    r.job.id,
    r.resumed ? 'completed earlier' : r.status,
    r.bestValue === undefined ? '-' : `${r.keyMetric} ${percentOf(r.bestValue, scaleOf(r.job))}`,
    r.bestEpoch === undefined ? '-' : String(r.bestEpoch),
    seconds.has(r.job.id) ? `${seconds.get(r.job.id)!.toFixed(0)} s` : '-',
  ]);
  const header = ['run', 'status', 'best dev (%)', 'epoch', 'time'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/**
 * SIGINT and SIGTERM while an experiment runs: the first aborts `signal` (training stops after the
 * step in progress), a second marks what it can interrupted and exits at once.
 */
class StopOnSignals {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  stoppedBy: StopSignal | undefined;
  experiment: Experiment | undefined;
  private readonly handlers = (Object.keys(STOP_SIGNALS) as StopSignal[]).map((name) => [name, () => this.received(name)] as const);

  constructor() {
    for (const [name, handler] of this.handlers) process.on(name, handler);
  }

  private received(name: StopSignal): void {
    if (this.stoppedBy !== undefined) {
      try {
        this.experiment?.interrupt();
      } catch {
        // Exiting at once was asked for; a locked database is not waited on.
      }
      process.stderr.write(`\n${name} again: exiting now\n`);
      process.exit(STOP_SIGNALS[name]);
    }
    this.stoppedBy = name;
    process.stderr.write(`\n${name}: stopping after the current step; ${name === 'SIGINT' ? 'Ctrl-C' : name} again exits at once\n`);
    this.controller.abort(new InterruptedError(name));
  }

  dispose(): void {
    for (const [name, handler] of this.handlers) process.removeListener(name, handler);
  }
}

/** `rte: 2490 train / 277 dev / 3000 test (unlabelled) examples; truncated to 128 tokens: 12 train, 1 dev`. */
function describeTask(name: string, data: TaskData): string {
  const present = namedSplits(data);
  const counts = present.map(([split, d]) => `${d.examples.length} ${split}${d.labelled ? '' : ' (unlabelled)'}`).join(' / ');
  const truncated = present.filter(([, d]) => d.set.truncated > 0).map(([split, d]) => `${d.set.truncated} ${split}`);
  return `${name}: ${counts} examples${truncated.length > 0 ? `; truncated to ${data.maxLength} tokens: ${truncated.join(', ')}` : ''}`;
}
