import {Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';

export default class Collect extends Ptv2Command {
  static override description = `Record the results of experiments on the queue that no process is following any more.

\`ptv2 run --queue\` follows its runs until they finish; after Ctrl-C, a crash or a closed laptop the jobs keep running on the workers and their results wait in Redis. This records them in the database (each run once, its files under the config's output_dir) and follows the runs still training to the end. Without --experiment: every experiment of the database still on the queue. With nothing on the queue it says so and exits without connecting.`;

  static override examples = [
    '<%= config.bin %> collect',
    '<%= config.bin %> collect --queue env --experiment quickstart --db runs/ptv2.db',
  ];

  static override flags = {
    queue: Flags.string({description: 'Redis URL redis://[user:password@]host:port[/db] (rediss:// for TLS), or "env" for PTV2_QUEUE_URL (the default)'}),
    experiment: Flags.string({description: 'experiment name or id (default: every experiment still on the queue)'}),
    db: Flags.string({description: 'SQLite database', default: 'runs/ptv2.db'}),
    plain: Flags.boolean({description: 'one line per event instead of the live display (automatic when stdout is not a terminal)'}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Collect);
    const {queueTarget} = await import('../queue/connection.js');
    const {collectExperiments} = await import('../queue/collect.js');
    const summary = await collectExperiments({
      target: () => queueTarget(flags.queue, {fallBackToEnv: true}),
      database: flags.db,
      experiment: flags.experiment,
      plain: flags.plain,
      quiet: this.jsonEnabled(),
      log: (line) => this.log(line),
    });
    const failed = summary.experiments.flatMap((e) => e.runs).filter((r) => r.status !== 'completed');
    if (failed.length > 0) this.error(`${failed.length} run(s) failed: ${failed.map((r) => `${r.jobKey}: ${r.error}`).join('; ')}`, {exit: 1});
    return summary;
  }
}
