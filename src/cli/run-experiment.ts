/**
 * The body `ptv2 run` and `ptv2 sweep` share: prepare an experiment from a loaded config, print
 * what it is about to do, train every planned job under the progress display (Ctrl-C marks the
 * run and the experiment interrupted), record the outcome and summarise it.
 *
 * It knows nothing of oclif: the command passes its `log` and whether `--json` is on, and turns
 * `failures` into its own error exit, so both commands fail the same way.
 */
import type {LoadedConfig} from '../config/load.js';
import {Experiment, type JobResult, type TaskData} from '../experiment/experiment.js';
import {namedSplits, unseenTagCounts} from '../experiment/task-data.js';
import {runWithProgress} from '../ui/progress.js';
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
    runId: number;
    status: JobResult['status'];
    keyMetric: string;
    best: number | null;
    bestEpoch: number | null;
    error: string | null;
    /** Completed by an earlier process of a resumed experiment. */
    resumed: boolean;
  }[];
}

export interface RunOutcome {
  summary: RunSummary;
  /** `N run(s) failed: id: error; …` when any run did not complete, for the command's error exit. */
  failures?: string;
}

export async function runExperiment(given: LoadedConfig, opts: RunExperimentOptions): Promise<RunOutcome> {
  const loaded = opts.resume ? configToResume(given, opts.database, opts.command ?? 'run') : given;
  const experiment = await Experiment.prepare(loaded, {backend: opts.backend, database: opts.database, resume: opts.resume});
  const notSwept = sweepNotes(loaded.config, experiment.jobs);
  const {log, quiet} = opts;
  if (!quiet) {
    log(`backend: ${experiment.backend.name}${experiment.backend.notes.length > 0 ? ` (${experiment.backend.notes.join('; ')})` : ''}`);
    if (experiment.checkpointCreated) {
      const kind = loaded.config.model.init?.pretrain ? 'a pretrained (masked-language model on ptv2\'s sample text)' : 'a random';
      log(`created ${kind} checkpoint in ${loaded.config.model.path}`);
    }
    for (const [name, data] of experiment.tasks) {
      log(describeTask(name, data));
      for (const [split, tags] of Object.entries(unseenTagCounts(data))) {
        const list = Object.entries(tags).map(([tag, n]) => `${tag} ×${n}`).join(', ');
        log(`  ${name} ${split}: tags the training file does not have, never predicted, so their entities count as missed: ${list}`);
      }
    }
    const resumed = opts.resume ? ` (resumed: ${experiment.completedJobs} completed earlier)` : '';
    log(`experiment ${loaded.config.name} #${experiment.experimentId}: ${experiment.jobs.length} runs${resumed} → ${experiment.store.path}`);
    if (loaded !== given) log(`resuming the sweep it recorded: ${loaded.config.sweep!.key} over ${JSON.stringify(loaded.config.sweep!.values)}`);
    for (const note of notSwept) log(`not swept: ${note.method}${note.stage ? ' (shared stage)' : ''}: ${note.reason}`);
  }

  const onSignal = () => {
    experiment.interrupt();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results = quiet ? await runSilently(experiment) : await runWithProgress<JobResult>(
    experiment.jobs.map((job) => ({
      title: job.id,
      run: (onEvent) => experiment.runJob(job, onEvent),
      done: (r) =>
        r.status === 'completed'
          ? {title: `${job.id}: best dev ${r.keyMetric} ${r.bestValue!.toFixed(4)} (epoch ${r.bestEpoch})${r.resumed ? ', completed earlier' : ''}`}
          : {title: `${job.id}: ${r.status}`, failed: r.error},
    })),
    {plain: opts.plain || undefined},
  );
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  experiment.finish(results);

  const failed = results.filter((r) => r.status !== 'completed');
  const summary: RunSummary = {
    experiment: loaded.config.name,
    experimentId: experiment.experimentId,
    backend: experiment.backend.name,
    database: experiment.store.path,
    ...(loaded.config.sweep ? {notSwept} : {}),
    runs: results.map((r) => ({task: r.job.task, method: r.job.method, id: r.job.id, runId: r.runId, status: r.status, keyMetric: r.keyMetric, best: r.bestValue ?? null, bestEpoch: r.bestEpoch ?? null, error: r.error ?? null, resumed: r.resumed ?? false})),
  };
  if (!quiet) log(`done: ${results.length - failed.length} of ${results.length} runs completed; see \`ptv2 report --db ${experiment.store.path}\``);
  const failures = failed.length > 0 ? `${failed.length} run(s) failed: ${failed.map((f) => `${f.job.id}: ${f.error}`).join('; ')}` : undefined;
  return {summary, failures};
}

/** With --json, stdout must hold the summary alone, so no progress lines are printed. */
async function runSilently(experiment: Experiment): Promise<JobResult[]> {
  const results: JobResult[] = [];
  for (const job of experiment.jobs) results.push(await experiment.runJob(job, () => {}));
  return results;
}

/** `rte: 2490 train / 277 dev / 3000 test (unlabelled) examples; truncated to 128 tokens: 12 train, 1 dev`. */
function describeTask(name: string, data: TaskData): string {
  const present = namedSplits(data);
  const counts = present.map(([split, d]) => `${d.examples.length} ${split}${d.labelled ? '' : ' (unlabelled)'}`).join(' / ');
  const truncated = present.filter(([, d]) => d.set.truncated > 0).map(([split, d]) => `${d.set.truncated} ${split}`);
  return `${name}: ${counts} examples${truncated.length > 0 ? `; truncated to ${data.maxLength} tokens: ${truncated.join(', ')}` : ''}`;
}
