/**
 * Progress for `ptv2 run` and `ptv2 sweep`: a list of tasks (checking the inputs, creating or
 * pretraining the checkpoint, loading, then one task per job), each with a live status line.
 *
 * On a terminal listr2 redraws the list in place: a job's title says which run it is of how many
 * and how far the whole experiment is, its status line the epoch, step, steps/s, elapsed time and
 * ETA, last loss and best dev score so far. Elsewhere (`--plain`, pipes, CI) one line is printed
 * per logged step, evaluation and finished task, each naming its run (`rte/pt2 epoch 3/30 dev
 * accuracy 61.0`). Scores are shown in percent, as `ptv2 report` shows them.
 *
 * listr2's own SIGINT handler is off: the command stops training itself (run-experiment.ts).
 */
import {Listr} from 'listr2';
import type {TrainEvent} from '../train/trainer.js';

export interface TaskControl {
  /** The task's title (on a terminal; plain output prints titles when tasks end). */
  title(text: string): void;
  /** The live status line under the title (a terminal only). */
  status(line: string): void;
  /** A line worth keeping: printed in plain mode, the status line on a terminal. */
  note(line: string): void;
}

export interface ProgressTask {
  title: string;
  /** Returns the title to end with; `failed` marks the task failed without stopping the list. */
  run: (control: TaskControl) => Promise<{title: string; failed?: string} | void>;
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

/**
 * Runs the tasks one after another (`concurrent`: all at once, for jobs trained elsewhere, e.g. by
 * the queue's workers). An exception stops the list and is rethrown; a task that returns `failed`
 * is shown failed and the list goes on.
 */
export async function runTasks(tasks: ProgressTask[], opts: {plain?: boolean; concurrent?: boolean; log?: (line: string) => void} = {}): Promise<void> {
  const plain = opts.plain ?? !process.stdout.isTTY;
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (plain) {
    for (const task of tasks) {
      const control: TaskControl = {title: () => {}, status: () => {}, note: log};
      const done = await task.run(control).catch((error: unknown) => {
        log(`${task.title}: ${(error as Error).message}`);
        throw error;
      });
      const title = done ? done.title : task.title;
      log(done?.failed ? `${title}: ${done.failed}` : title);
    }
    return;
  }
  // An exception thrown by a task (not a `failed` result) stops the list and is rethrown.
  let thrown: unknown;
  const list = new Listr(
    tasks.map((t) => ({
      title: t.title,
      skip: () => thrown !== undefined,
      task: async (_ctx: unknown, task: {output: string; title: string}) => {
        const show = (line: string) => {
          task.output = line;
        };
        let done;
        try {
          done = await t.run({title: (text) => (task.title = text), status: show, note: show});
        } catch (error) {
          thrown = error;
          throw error;
        }
        task.title = done ? done.title : t.title;
        if (done?.failed) throw new Error(done.failed);
      },
    })),
    {
      concurrent: opts.concurrent ?? false,
      exitOnError: false,
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: {collapseErrors: false, collapseSkips: true},
      collectErrors: false,
    } as any,
  );
  await list.run();
  if (thrown !== undefined) throw thrown;
}

/** `1:05`, `1:02:03`, or `-` when unknown. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const text = hms[0] > 0 ? `${hms[0]}:${String(hms[1]).padStart(2, '0')}` : String(hms[1]);
  return `${text}:${String(hms[2]).padStart(2, '0')}`;
}

/** A score as a percentage with one decimal; `scale` is what 100% is (1 for fractions, 100 for SQuAD). */
export function percentOf(value: number, scale = 1): string {
  return ((value * 100) / scale).toFixed(1);
}

/** Steps done, rate and ETA of one stretch of training, from its step events. */
export class StepClock {
  private startedAt = Date.now();
  done = 0;

  constructor(public total: number) {}

  restart(total: number): void {
    this.total = total;
    this.done = 0;
    this.startedAt = Date.now();
  }

  elapsed(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  rate(): number {
    return this.done / Math.max(1e-9, this.elapsed());
  }

  eta(): number {
    return this.done === 0 ? NaN : (this.total - this.done) / this.rate();
  }

  /** `step 120/900 · 8.1 steps/s · 0:15, ETA 1:36` */
  describe(): string {
    return `step ${this.done}/${this.total} · ${this.rate().toFixed(1)} steps/s · ${clock(this.elapsed())}, ETA ${clock(this.eta())}`;
  }
}

/** What one job (or pretraining) shows, built from its trainer events. */
export class TrainingView {
  private epochs = 0;
  private epoch = 1;
  private loss: number | undefined;
  private best: {value: number; epoch: number} | undefined;
  private evaluating = false;
  readonly clock: StepClock;

  /**
   * `name` starts each plain line (`rte/pt2`); `keyMetric` and `scale` say how the best dev score
   * reads; `metricsShown` picks the dev metrics a plain eval line lists.
   */
  constructor(
    private readonly name: string,
    private readonly keyMetric: string,
    plannedSteps: number,
    private readonly format: (metric: string, value: number) => string,
    private readonly metricsShown: (metrics: Record<string, number>) => string[] = (m) => Object.keys(m),
  ) {
    this.clock = new StepClock(plannedSteps);
  }

  /** The event as a line to keep (plain output), or undefined. Updates the live state either way. */
  update(event: TrainEvent): string | undefined {
    switch (event.type) {
      case 'start':
        this.epochs = event.epochs;
        this.clock.restart(event.totalSteps);
        return undefined;
      case 'progress':
        this.epoch = event.epoch;
        this.clock.done = event.step;
        this.loss = event.loss;
        this.evaluating = false;
        return undefined;
      case 'step':
        return `${this.name} epoch ${event.epoch}/${this.epochs} step ${event.step}/${event.totalSteps} loss ${event.loss.toFixed(4)} lr ${event.lr.toExponential(2)}`;
      case 'evaluating':
        this.evaluating = true;
        return undefined;
      case 'eval': {
        this.evaluating = false;
        const value = event.metrics[event.keyMetric];
        if (event.isBest && value !== undefined) this.best = {value, epoch: event.epoch};
        const shown = this.metricsShown(event.metrics).map((k) => `${k} ${this.format(k, event.metrics[k])}`).join(' ');
        return `${this.name} epoch ${event.epoch}/${this.epochs} dev ${shown}${event.isBest ? ' (best)' : ''}`;
      }
      case 'end':
        return event.stoppedEarly ? `${this.name} stopped early; best epoch ${event.bestEpoch}` : undefined;
      default:
        return undefined;
    }
  }

  /** The best dev value of the key metric so far, and its epoch. */
  get bestSoFar(): {value: number; epoch: number} | undefined {
    return this.best;
  }

  /** The live status line: `epoch 3/30 · step 120/900 · 8.1 steps/s · 0:15, ETA 1:36 · loss 0.6931 · best dev accuracy 61.0 (epoch 2)`. */
  status(): string {
    const parts = [`epoch ${this.epoch}/${this.epochs || '?'}${this.evaluating ? ' (evaluating)' : ''}`, this.clock.describe()];
    if (this.loss !== undefined) parts.push(`loss ${this.loss.toFixed(4)}`);
    parts.push(this.best ? `best dev ${this.keyMetric} ${this.format(this.keyMetric, this.best.value)} (epoch ${this.best.epoch})` : `best dev ${this.keyMetric} -`);
    return parts.join(' · ');
  }
}

/** Progress of the whole experiment: planned steps over all jobs, done so far, overall ETA. */
export class ExperimentClock {
  private readonly startedAt = Date.now();
  private finishedSteps = 0;
  private current = 0;

  constructor(private readonly plannedSteps: number) {}

  /** Steps of the job in progress so far. */
  set inJob(steps: number) {
    this.current = steps;
  }

  /** The job in progress ended after `planned` planned steps (early stopping skips the rest). */
  endJob(planned: number): void {
    this.finishedSteps += planned;
    this.current = 0;
  }

  describe(): string {
    const done = this.finishedSteps + this.current;
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const eta = done === 0 ? NaN : ((this.plannedSteps - done) * elapsed) / done;
    return `experiment ${Math.floor((100 * done) / Math.max(1, this.plannedSteps))}% · ${clock(elapsed)}, ETA ${clock(eta)}`;
  }
}
