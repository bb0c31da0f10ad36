/**
 * `ptv2 collect`: catches up with experiments on the queue whose submitting process stopped
 * following them (Ctrl-C, a closed laptop, a crash): the results the workers left in Redis go into
 * the store, and runs still training are followed to the end, as the submitter would have.
 *
 * With nothing queued in the store it says so without connecting to Redis.
 */
import {parseConfig} from '../config/load.js';
import {planJobs} from '../config/plan.js';
import {UserError} from '../errors.js';
import {jobOutputDir} from '../experiment/experiment.js';
import {Store} from '../store/index.js';
import {QueueRecords} from '../store/queue-records.js';
import {checkReachable, type QueueTarget} from './connection.js';
import {followRuns, type FollowedOutcome, type FollowedRun} from './follow.js';

export interface CollectOptions {
  /** Resolved lazily: a store with nothing queued needs no queue. */
  target: () => QueueTarget;
  database: string;
  /** Name or id; default every experiment still queued. */
  experiment?: string;
  plain?: boolean;
  quiet: boolean;
  log: (line: string) => void;
}

export interface CollectSummary {
  database: string;
  experiments: {id: number; name: string; status: string; runs: FollowedOutcome[]}[];
}

export async function collectExperiments(opts: CollectOptions): Promise<CollectSummary> {
  const store = Store.open(opts.database);
  const records = new QueueRecords(store);
  try {
    let ids: number[];
    if (opts.experiment === undefined) {
      ids = records.queuedExperiments();
    } else {
      const found = store.findExperiment(opts.experiment);
      if (!found) throw new UserError(`no experiment "${opts.experiment}" in ${store.path}`, {field: '--experiment'}, ['ptv2 report --db PATH --runs lists what the database holds']);
      ids = [found.id];
    }
    const followed: FollowedRun[] = [];
    for (const id of ids) {
      const experiment = store.findExperiment(String(id))!;
      const config = parseConfig(experiment.configText, experiment.configPath ?? 'the stored config').config;
      const runs = records.queueRuns(id);
      const plan = new Map(planJobs(config).map((job) => [job.id, job]));
      const byKey = new Map(runs.map((r) => [r.jobKey, r]));
      for (const run of runs) {
        if (run.status === 'completed' || run.status === 'failed') continue;
        const shared = plan.get(run.jobKey)?.from;
        followed.push({
          runId: run.id,
          experimentId: id,
          queueJob: run.queueJob,
          jobKey: run.jobKey,
          outputDir: jobOutputDir(config, id, run.jobKey),
          ...(shared && byKey.has(shared) ? {sharedRunId: byKey.get(shared)!.id} : {}),
        });
      }
    }
    if (followed.length === 0) {
      const which = opts.experiment === undefined ? 'no experiment in the database is on the queue' : `experiment ${opts.experiment} has no runs left on the queue`;
      if (!opts.quiet) opts.log(`nothing to collect: ${which} (${store.path})`);
      for (const id of ids) records.settleExperiment(id);
      return {database: store.path, experiments: summaries(store, ids, [])};
    }
    const target = opts.target();
    await checkReachable(target);
    const ready = () => {
      if (!opts.quiet) opts.log(`collecting ${followed.length} run(s) of experiment(s) ${ids.map((id) => `#${id}`).join(', ')} from ${target.masked} → ${store.path}`);
    };
    const hint = `ptv2 collect --queue ${target.masked.includes('***') ? 'env' : target.masked} --db ${store.path}`;
    const outcomes = await followRuns(store, target, followed, {quiet: opts.quiet, plain: opts.plain ?? !process.stdout.isTTY, log: opts.log, resumeHint: hint, ready});
    for (const id of ids) records.settleExperiment(id);
    const summary = {database: store.path, experiments: summaries(store, ids, outcomes)};
    if (!opts.quiet) for (const e of summary.experiments) opts.log(`${e.name} #${e.id}: ${e.status}`);
    return summary;
  } finally {
    store.close();
  }
}

function summaries(store: Store, ids: number[], outcomes: FollowedOutcome[]): CollectSummary['experiments'] {
  return ids.map((id) => {
    const e = store.findExperiment(String(id))!;
    const runIds = new Set(store.runs(id).map((r) => r.id));
    return {id, name: e.name, status: e.status, runs: outcomes.filter((o) => runIds.has(o.runId))};
  });
}
