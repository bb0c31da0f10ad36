import {Args, Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {configEditFlags, configEdits} from '../cli/config-flags.js';
import {BACKEND_CHOICES} from '../compute/backend.js';

export default class Sweep extends Ptv2Command {
  static override description = `Run an experiment config over a grid of one key: every value × task × method, recorded in SQLite.

The same as \`ptv2 run CONFIG\` with the config's \`sweep:\` replaced by KEY and --values. KEY is prompt-length, prompt-depth, reparameterize, prompt-dropout, lr, batch-size, epochs, seed or head (linear vs verbalizer) (or the config key: prompt.length, train.lr, …). Values are YAML scalars (4, 0.01, true, null), checked by the rules of the key in a config. A sweep changes only its key: a method whose method_overrides entry sets the key keeps its own value, and a job the key cannot change (FT under a prompt key) runs once, as a reference; the output names them. Seeds do not depend on the value. The experiment records the config text with this sweep in it, and --resume continues it (so does \`ptv2 run CONFIG --resume\`). \`ptv2 report\` then shows one table per method over the values, and \`ptv2 report --plot FILE.svg\` draws them.

Without CONFIG: ptv2.yaml in the current directory, else configs/quickstart.yaml. Without --values, the paper's grid: prompt-length 4,8,16,32,64,128 (those the model's positions allow), prompt-depth 1…L once with the first k layers and once with the last k (two experiments, NAME-ascending and NAME-descending), reparameterize false,true, lr 5e-3,7e-3,1e-2 (the reference implementation's search script).`;

  static override examples = [
    '<%= config.bin %> sweep prompt-length --dry-run',
    '<%= config.bin %> sweep prompt-length configs/quickstart.yaml --values 4,8,16',
    '<%= config.bin %> sweep lr configs/quickstart.yaml --values 0.001,0.005,0.01 --db runs/lr.db',
    '<%= config.bin %> sweep prompt-depth configs/quickstart.yaml --values 1,null',
    '<%= config.bin %> sweep prompt-depth --set prompt.depth_order=descending --values 1,2 --dry-run',
  ];

  static override args = {
    key: Args.string({description: 'the key to sweep: prompt-length, prompt-depth, reparameterize, prompt-dropout, lr, batch-size, epochs, seed, head, or its dotted config key', required: true}),
    config: Args.string({description: 'experiment config (YAML); default: ptv2.yaml here, else configs/quickstart.yaml'}),
  };

  static override flags = {
    values: Flags.string({description: 'comma-separated values, one experiment point each, run in this order (default: the paper\'s grid for KEY)'}),
    backend: Flags.string({description: 'compute backend (default: PTV2_BACKEND, else the config, else auto)', options: [...BACKEND_CHOICES]}),
    db: Flags.string({description: 'SQLite database (default: the config\'s database)'}),
    plain: Flags.boolean({description: 'one line per event instead of the live display (automatic when stdout is not a terminal)'}),
    resume: Flags.boolean({description: 'continue the latest experiment of this config\'s name, which must have run this sweep: its completed runs stand, the others run again'}),
    queue: Flags.string({description: 'train on the workers of this queue instead (Redis URL redis://[user:password@]host:port[/db], rediss:// for TLS, or "env" for PTV2_QUEUE_URL); see ptv2 worker'}),
    force: Flags.boolean({description: 'with --resume: take over the experiment even if it still looks alive (its heartbeat is recent)', dependsOn: ['resume']}),
    ...configEditFlags,
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Sweep);
    const {parseConfig, readConfigText} = await import('../config/load.js');
    const {parseSweepValues, resolveSweepKey, withSweep} = await import('../cli/sweep-grid.js');
    const {defaultConfigFile, defaultGrid} = await import('../cli/default-grids.js');
    // --queue: the same checks and records, trained by `ptv2 worker`s (src/queue).
    const {runExperiment} = flags.queue === undefined ? await import('../cli/run-experiment.js') : (await import('../queue/submit.js')).queueRunner(flags.queue);
    const log = (line: string) => {
      if (!this.jsonEnabled()) this.log(line);
    };

    let file = args.config;
    if (file === undefined) {
      const found = defaultConfigFile();
      file = found.file;
      log(found.line);
    }
    const key = resolveSweepKey(args.key);
    const text = readConfigText(file);
    const edits = configEdits(flags);
    // The grid may depend on the config as run (its model, lengths and methods), --set included.
    const base = parseConfig(text, file, edits).config;
    const grid = flags.values === undefined ? defaultGrid(key, base) : {values: parseSweepValues(key, flags.values), notes: []};
    if (flags.values === undefined) log(`values: ${grid.values.map(String).join(', ')} (the paper's grid for ${key})`);
    for (const note of grid.notes) log(note);

    // prompt-depth without --values: the first k layers and the last k, an experiment each.
    const orders = 'orders' in grid && grid.orders ? grid.orders : [undefined];
    const results = [];
    for (const order of orders) {
      const orderSets = order === undefined ? [] : [`prompt.depth_order=${order}`, `name=${base.name}-${order}`];
      const loaded = parseConfig(withSweep(text, {key, values: grid.values}), file, {...edits, sets: [...(edits.sets ?? []), ...orderSets]});
      if (flags['dry-run']) {
        const {dryRun, renderDryRun} = await import('../experiment/dry-run.js');
        const result = dryRun(loaded, {backend: flags.backend});
        for (const line of renderDryRun(result, file)) log(line);
        results.push(result);
        continue;
      }
      const summary = await runExperiment(loaded, {
        backend: flags.backend,
        database: flags.db,
        plain: flags.plain,
        resume: flags.resume,
        force: flags.force,
        command: 'sweep',
        quiet: this.jsonEnabled(),
        log: (line) => this.log(line),
      });
      results.push({...summary, sweep: {key, values: grid.values, ...(order ? {depth_order: order} : {})}});
    }
    return results.length === 1 ? results[0] : results;
  }
}
