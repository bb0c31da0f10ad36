import {Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';

export default class Ui extends Ptv2Command {
  static override description = `Serve a local dashboard of the database: experiments, paper-style tables, sweep charts, runs, learning curves and live progress.

Opens the database read-only (safe while runs write it) and listens on 127.0.0.1 unless --host names another address. Runs until stopped (Ctrl-C).`;

  static override examples = [
    '<%= config.bin %> ui',
    '<%= config.bin %> ui --db runs/ptv2.db --port 0 --open',
    '<%= config.bin %> ui --host 0.0.0.0 --port 8080',
  ];

  static override flags = {
    db: Flags.string({description: 'SQLite database (opened read-only)', default: 'runs/ptv2.db'}),
    port: Flags.integer({description: 'port to listen on; 0 picks a free one', default: 8765, min: 0, max: 65535}),
    host: Flags.string({description: 'address to listen on (default 127.0.0.1); anything but loopback makes your results readable by whoever reaches it'}),
    open: Flags.boolean({description: 'open the page in the default browser'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(Ui);
    const {startDashboard} = await import('../dashboard/server.js');
    const dashboard = await startDashboard({dbPath: flags.db, host: flags.host, port: flags.port, allowNonLoopback: flags.host !== undefined});
    // Listen for Ctrl-C before saying where it serves: whoever reads that line may stop it at once.
    const stopped = new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    this.log(`ptv2 ui: serving ${flags.db} (read-only) at ${dashboard.url}`);
    if (flags.host !== undefined && !['127.0.0.1', '::1', 'localhost'].includes(flags.host)) {
      this.logToStderr(`warning: listening on ${flags.host}: other machines can read these results`);
    }
    if (flags.open) {
      const {spawn} = await import('node:child_process');
      const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
      spawn(opener, [dashboard.url], {detached: true, stdio: 'ignore'}).on('error', () => this.logToStderr(`could not start ${opener}; open ${dashboard.url} yourself`)).unref();
    }
    await stopped;
    await dashboard.close();
  }
}
