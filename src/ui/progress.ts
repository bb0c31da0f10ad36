/**
 * Progress for `ptv2 run`: one listr2 task per job showing epoch, step, loss and the dev metric.
 * On a TTY listr2 redraws in place; elsewhere (CI, pipes) a plain line is printed per event.
 */
import {Listr} from 'listr2';
import type {TrainEvent} from '../train/trainer.js';

export interface ProgressJob<R> {
  title: string;
  run: (onEvent: (event: TrainEvent) => void) => Promise<R>;
  /** Title once finished, e.g. with the best score; a failure message marks the task failed. */
  done: (result: R) => {title: string; failed?: string};
}

/** One line describing a training event, or undefined for events not worth a line. */
export function describeEvent(event: TrainEvent): string | undefined {
  switch (event.type) {
    case 'step':
      return `epoch ${event.epoch} step ${event.step}/${event.totalSteps} loss ${event.loss.toFixed(4)} lr ${event.lr.toExponential(2)}`;
    case 'eval': {
      const metrics = Object.entries(event.metrics)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join(' ');
      return `epoch ${event.epoch} dev ${metrics}${event.isBest ? ' (best)' : ''}`;
    }
    case 'end':
      return event.stoppedEarly ? `stopped early; best epoch ${event.bestEpoch}` : undefined;
    default:
      return undefined;
  }
}

/** `concurrent`: every job's task runs at once (jobs trained elsewhere, e.g. by the queue's workers). */
export async function runWithProgress<R>(jobs: ProgressJob<R>[], opts: {plain?: boolean; concurrent?: boolean} = {}): Promise<R[]> {
  const results: R[] = [];
  const plain = opts.plain ?? !process.stdout.isTTY;
  const list = new Listr(
    jobs.map((job) => ({
      title: job.title,
      task: async (_ctx: unknown, task: {output: string; title: string}) => {
        const result = await job.run((event) => {
          const line = describeEvent(event);
          if (line) task.output = line;
        });
        results.push(result);
        const {title, failed} = job.done(result);
        task.title = title;
        if (failed) throw new Error(failed);
      },
    })),
    {
      concurrent: opts.concurrent ?? false,
      exitOnError: false,
      renderer: plain ? 'verbose' : 'default',
      rendererOptions: {collapseErrors: false},
      collectErrors: false,
    } as any,
  );
  await list.run();
  return results;
}
