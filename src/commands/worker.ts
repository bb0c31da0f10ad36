import {Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {BACKEND_CHOICES} from '../compute/backend.js';

export default class Worker extends Ptv2Command {
  static override description = `Train jobs from the queue of experiments across machines (Redis, through BullMQ) until stopped.

Takes the jobs that \`ptv2 run CONFIG --queue URL\` and \`ptv2 sweep … --queue URL\` put on the queue, trains each exactly as a local run would, and sends its epochs, result, prediction files and trainable state back through the queue to the submitting machine's database. The model directory and data must be at the paths the config names (with --root DIR, relative paths are read under DIR and any path outside it is refused). The queue URL comes from --queue, else from PTV2_QUEUE_URL (so a password need not show in a process list). Ctrl-C finishes the running jobs and stops; a second Ctrl-C stops at once, and the jobs go to another worker.`;

  static override examples = [
    '<%= config.bin %> worker',
    '<%= config.bin %> worker --queue env --concurrency 2 --root .',
    '<%= config.bin %> worker --backend wasm',
  ];

  static override flags = {
    queue: Flags.string({description: 'Redis URL redis://[user:password@]host:port[/db] (rediss:// for TLS), or "env" for PTV2_QUEUE_URL (the default)'}),
    concurrency: Flags.integer({description: 'jobs trained at once, each in its own thread', default: 1, min: 1}),
    backend: Flags.string({description: 'compute backend (default: the submitting command\'s --backend, else PTV2_BACKEND, else the config)', options: [...BACKEND_CHOICES]}),
    root: Flags.string({description: 'read the config\'s relative paths under this directory and refuse any path outside it'}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Worker);
    const {queueTarget} = await import('../queue/connection.js');
    const {runWorker} = await import('../queue/worker.js');
    const target = queueTarget(flags.queue, {fallBackToEnv: true});
    return runWorker({target, concurrency: flags.concurrency, backend: flags.backend, root: flags.root, log: (line) => this.log(line)});
  }
}
