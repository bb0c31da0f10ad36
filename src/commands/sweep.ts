import {Args, Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {BACKEND_CHOICES} from '../compute/backend.js';

export default class Sweep extends Ptv2Command {
  static override description = `Run an experiment config over a grid of one key: every value × task × method, recorded in SQLite.

The same as \`ptv2 run CONFIG\` with the config's \`sweep:\` replaced by KEY and --values. KEY is prompt-length, prompt-depth, reparameterize, prompt-dropout, lr, batch-size, epochs or seed (or the config key: prompt.length, train.lr, …). Values are YAML scalars (4, 0.01, true, null), checked by the rules of the key in a config. A sweep changes only its key: a method whose method_overrides entry sets the key keeps its own value, and a job the key cannot change (FT under a prompt key) runs once, as a reference; the output names them. Seeds do not depend on the value. The experiment records the config text with this sweep in it, and --resume continues it (so does \`ptv2 run CONFIG --resume\`). \`ptv2 report\` then shows one table per method over the values, and \`ptv2 report --plot FILE.svg\` draws them.`;

  static override examples = [
    '<%= config.bin %> sweep prompt-length configs/quickstart.yaml --values 4,8,16',
    '<%= config.bin %> sweep lr configs/quickstart.yaml --values 0.001,0.005,0.01 --db runs/lr.db',
    '<%= config.bin %> sweep prompt-depth configs/quickstart.yaml --values 1,null',
  ];

  static override args = {
    key: Args.string({description: 'the key to sweep: prompt-length, prompt-depth, reparameterize, prompt-dropout, lr, batch-size, epochs, seed, or its dotted config key', required: true}),
    config: Args.string({description: 'experiment config (YAML)', required: true}),
  };

  static override flags = {
    values: Flags.string({description: 'comma-separated values, one experiment point each, run in this order', required: true}),
    backend: Flags.string({description: 'compute backend (default: PTV2_BACKEND, else the config, else auto)', options: [...BACKEND_CHOICES]}),
    db: Flags.string({description: 'SQLite database (default: the config\'s database)'}),
    plain: Flags.boolean({description: 'one line per event instead of the live display (automatic when stdout is not a terminal)'}),
    resume: Flags.boolean({description: 'continue the latest experiment of this config\'s name, which must have run this sweep: its completed runs stand, the others run again'}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Sweep);
    const {parseConfig, readConfigText} = await import('../config/load.js');
    const {parseSweepValues, resolveSweepKey, withSweep} = await import('../cli/sweep-grid.js');
    const {runExperiment} = await import('../cli/run-experiment.js');

    const key = resolveSweepKey(args.key);
    const values = parseSweepValues(key, flags.values);
    const loaded = parseConfig(withSweep(readConfigText(args.config), {key, values}), args.config);

    const {summary, failures} = await runExperiment(loaded, {
      backend: flags.backend,
      database: flags.db,
      plain: flags.plain,
      resume: flags.resume,
      command: 'sweep',
      quiet: this.jsonEnabled(),
      log: (line) => this.log(line),
    });
    if (failures !== undefined) this.error(failures, {exit: 1});
    return {...summary, sweep: {key, values}};
  }
}
