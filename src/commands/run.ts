import {Args, Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {BACKEND_CHOICES} from '../compute/backend.js';
import {configEditFlags, configEdits} from '../cli/config-flags.js';

export default class Run extends Ptv2Command {
  static override description = `Run the experiment a YAML config describes: every method × task (× sweep value), recorded in SQLite.

Loads (or, with model.init, creates) the checkpoint, validates every data file first, then trains each run, evaluates on dev every epoch and keeps the best epoch by the task's metric. Metrics are written as each epoch ends, so an interrupted experiment keeps its finished epochs and runs.`;

  static override examples = [
    '<%= config.bin %> run configs/quickstart.yaml',
    '<%= config.bin %> run configs/quickstart.yaml --backend cpu --db runs/test.db',
    '<%= config.bin %> run configs/quickstart.yaml --resume',
    'PTV2_BACKEND=wasm <%= config.bin %> run configs/custom.yaml',
    '<%= config.bin %> run configs/superglue.yaml --dry-run',
    '<%= config.bin %> run configs/superglue.yaml --dry-run --set train.epochs=2 --set tasks.rte.train.lr=0.01',
    '<%= config.bin %> run configs/superglue.yaml --dry-run --profile roberta-large --set model.init.max_positions=512',
  ];

  static override args = {
    config: Args.string({description: 'experiment config (YAML)', required: true}),
  };

  static override flags = {
    backend: Flags.string({description: 'compute backend (default: PTV2_BACKEND, else the config, else auto)', options: [...BACKEND_CHOICES]}),
    db: Flags.string({description: 'SQLite database (default: the config\'s database)'}),
    plain: Flags.boolean({description: 'one line per event instead of the live display (automatic when stdout is not a terminal)'}),
    resume: Flags.boolean({description: 'continue the latest experiment of this config\'s name (same config text): its completed runs stand, the others run again'}),
    queue: Flags.string({description: 'train on the workers of this queue instead (Redis URL redis://[user:password@]host:port[/db], rediss:// for TLS, or "env" for PTV2_QUEUE_URL); see ptv2 worker'}),
    force: Flags.boolean({description: 'with --resume: take over the experiment even if it still looks alive (its heartbeat is recent); use when you know its process has stopped', dependsOn: ['resume']}),
    ...configEditFlags,
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Run);
    const {loadConfig} = await import('../config/load.js');
    // --queue: the same checks and records, trained by `ptv2 worker`s (src/queue).
    const {runExperiment} = flags.queue === undefined ? await import('../cli/run-experiment.js') : (await import('../queue/submit.js')).queueRunner(flags.queue);

    const loaded = loadConfig(args.config, configEdits(flags));
    if (flags['dry-run']) {
      const {dryRun, renderDryRun} = await import('../experiment/dry-run.js');
      const result = dryRun(loaded, {backend: flags.backend});
      if (!this.jsonEnabled()) for (const line of renderDryRun(result, args.config)) this.log(line);
      return result;
    }
    return runExperiment(loaded, {
      backend: flags.backend,
      database: flags.db,
      plain: flags.plain,
      resume: flags.resume,
      force: flags.force,
      quiet: this.jsonEnabled(),
      log: (line) => this.log(line),
    });
  }
}
