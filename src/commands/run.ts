import {Args, Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {BACKEND_CHOICES} from '../backend.js';
import type {JobResult, SplitData, TaskData} from '../experiment.js';

export default class Run extends Ptv2Command {
  static override description = `Run the experiment a YAML config describes: every method × task (× sweep value), recorded in SQLite.

Loads (or, with model.init, creates) the checkpoint, validates every data file first, then trains
each run, evaluates on dev every epoch and keeps the best epoch by the task's metric. Metrics are
written as each epoch ends, so an interrupted experiment keeps its finished epochs and runs.`;

  static override examples = [
    '<%= config.bin %> run configs/quickstart.yaml',
    '<%= config.bin %> run configs/quickstart.yaml --backend cpu --db runs/test.db',
    'PTV2_BACKEND=wasm <%= config.bin %> run configs/superglue.yaml',
  ];

  static override args = {
    config: Args.string({description: 'experiment config (YAML)', required: true}),
  };

  static override flags = {
    backend: Flags.string({description: 'compute backend (default: PTV2_BACKEND, else the config, else auto)', options: [...BACKEND_CHOICES]}),
    db: Flags.string({description: 'SQLite database (default: the config\'s database)'}),
    plain: Flags.boolean({description: 'one line per event instead of the live display (automatic when stdout is not a terminal)'}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Run);
    const {loadConfig} = await import('../config/load.js');
    const {Experiment} = await import('../experiment.js');
    const {runWithProgress} = await import('../ui/progress.js');

    const loaded = loadConfig(args.config);
    const experiment = await Experiment.prepare(loaded, {backend: flags.backend, database: flags.db});
    const quiet = this.jsonEnabled();
    if (!quiet) {
      this.log(`backend: ${experiment.backend.name}${experiment.backend.notes.length > 0 ? ` (${experiment.backend.notes.join('; ')})` : ''}`);
      if (experiment.checkpointCreated) this.log(`created a random checkpoint in ${loaded.config.model.path}`);
      for (const [name, data] of experiment.tasks) this.log(describeTask(name, data));
      this.log(`experiment ${loaded.config.name} #${experiment.experimentId}: ${experiment.jobs.length} runs → ${experiment.store.path}`);
    }

    const onSignal = () => {
      experiment.interrupt();
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const results = await runWithProgress<JobResult>(
      experiment.jobs.map((job) => ({
        title: job.id,
        run: (onEvent) => experiment.runJob(job, onEvent),
        done: (r) =>
          r.status === 'completed'
            ? {title: `${job.id}: best dev ${r.keyMetric} ${r.bestValue!.toFixed(4)} (epoch ${r.bestEpoch})`}
            : {title: `${job.id}: ${r.status}`, failed: r.error},
      })),
      {plain: flags.plain || quiet || undefined},
    );
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    experiment.finish(results);

    const failed = results.filter((r) => r.status !== 'completed');
    const summary = {
      experiment: loaded.config.name,
      experimentId: experiment.experimentId,
      backend: experiment.backend.name,
      database: experiment.store.path,
      runs: results.map((r) => ({task: r.job.task, method: r.job.method, id: r.job.id, runId: r.runId, status: r.status, keyMetric: r.keyMetric, best: r.bestValue ?? null, bestEpoch: r.bestEpoch ?? null, error: r.error ?? null})),
    };
    if (!quiet) this.log(`done: ${results.length - failed.length} of ${results.length} runs completed; see \`ptv2 report --db ${experiment.store.path}\``);
    if (failed.length > 0) this.error(`${failed.length} run(s) failed: ${failed.map((f) => `${f.job.id}: ${f.error}`).join('; ')}`, {exit: 1});
    return summary;
  }
}

/** `rte: 2490 train / 277 dev / 3000 test (unlabelled) examples; truncated to 128 tokens: 12 train, 1 dev`. */
function describeTask(name: string, data: TaskData): string {
  const splits: [string, SplitData | undefined][] = [['train', data.train], ['dev', data.dev], ['test', data.test]];
  const present = splits.filter((entry): entry is [string, SplitData] => entry[1] !== undefined);
  const counts = present.map(([split, d]) => `${d.examples.length} ${split}${d.labelled ? '' : ' (unlabelled)'}`).join(' / ');
  const truncated = present.filter(([, d]) => d.set.truncated > 0).map(([split, d]) => `${d.set.truncated} ${split}`);
  return `${name}: ${counts} examples${truncated.length > 0 ? `; truncated to ${data.maxLength} tokens: ${truncated.join(', ')}` : ''}`;
}
