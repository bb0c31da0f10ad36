/**
 * The training loop, model-agnostic: it sees variables, a loss function and an evaluator, and
 * reports through events. It imports neither the store nor the UI.
 *
 * Per step: learning rate → forward/backward → clip → AdamW update → (event) → yield.
 * Per epoch: evaluate on dev → keep the best epoch by the key metric → (event) → stop early?
 *
 * After every step the loop yields to the event loop once, so signal handlers, heartbeat timers
 * and the progress display run while it trains, and then checks `signal`: a stop asked for (Ctrl-C)
 * ends training between two steps, with the signal's reason as the error.
 */
import * as tf from '@tensorflow/tfjs';
import {AdamW, clipScale, globalNorm} from './optimizer.js';
import {learningRateAt, warmupSteps, type Schedule} from './schedule.js';

export type TrainEvent =
  | {type: 'start'; epochs: number; stepsPerEpoch: number; totalSteps: number}
  | {type: 'step'; epoch: number; step: number; totalSteps: number; loss: number; lr: number; gradNorm: number}
  /** Every step (a 'step' event comes only every logEvery steps): for progress displays, not stored. */
  | {type: 'progress'; epoch: number; step: number; totalSteps: number; loss: number}
  | {type: 'evaluating'; epoch: number; step: number}
  | {type: 'eval'; epoch: number; step: number; split: 'dev'; metrics: Record<string, number>; keyMetric: string; isBest: boolean}
  | {type: 'epoch'; epoch: number; step: number; trainLoss: number; seconds: number}
  | {type: 'end'; bestEpoch: number; bestValue: number; stoppedEarly: boolean};

export interface TrainerOptions<B> {
  variables: tf.Variable[];
  epochs: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  maxGradNorm: number;
  /** Epochs without improvement before stopping; undefined = never. */
  patience?: number;
  /** Emit a step event every N steps (and on the last step of an epoch). */
  logEvery: number;
  /** The batches of one epoch, already shuffled for that epoch. */
  batchesForEpoch: (epoch: number) => B[];
  stepsPerEpoch: number;
  /** Mean loss of one batch; called inside tf.tidy. */
  lossOf: (batch: B, training: boolean) => tf.Scalar;
  /** Dev metrics after an epoch. */
  evaluate: (epoch: number) => Promise<Record<string, number>> | Record<string, number>;
  keyMetric: string;
  onEvent?: (event: TrainEvent) => void;
  /** Aborted ⇒ training stops after the step (or evaluation batch) in progress, throwing its reason. */
  signal?: AbortSignal;
}

export interface TrainResult {
  bestEpoch: number;
  bestValue: number;
  bestMetrics: Record<string, number>;
  /** Trainable values at the best epoch (kept; the caller disposes). */
  bestState: tf.Tensor[];
  steps: number;
}

export async function train<B>(opts: TrainerOptions<B>): Promise<TrainResult> {
  const emit = opts.onEvent ?? (() => {});
  const totalSteps = opts.epochs * opts.stepsPerEpoch;
  const schedule: Schedule = {
    base: opts.lr,
    warmupSteps: warmupSteps(totalSteps, opts.warmupRatio),
    totalSteps,
    decay: 'linear',
  };
  const optimizer = new AdamW(opts.variables, {weightDecay: opts.weightDecay});
  emit({type: 'start', epochs: opts.epochs, stepsPerEpoch: opts.stepsPerEpoch, totalSteps});

  let step = 0;
  let best = {epoch: -1, value: -Infinity, metrics: {} as Record<string, number>};
  let bestState: tf.Tensor[] = [];
  let sinceBest = 0;
  let stoppedEarly = false;
  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const started = Date.now();
      let lossSum = 0;
      const batches = opts.batchesForEpoch(epoch);
      for (let i = 0; i < batches.length; i++) {
        // Learning rate for this update.
        const lr = learningRateAt(step, schedule);
        // Forward and backward; only the trainable variables get gradients.
        const {value, grads} = tf.variableGrads(() => opts.lossOf(batches[i], true), opts.variables);
        const ordered = opts.variables.map((v) => grads[v.name] ?? undefined);
        // Clipping is a factor the update applies, not a scaled copy of every gradient.
        const gradNorm = globalNorm(ordered);
        // Update.
        optimizer.apply(ordered, lr, clipScale(gradNorm, opts.maxGradNorm));
        const loss = value.dataSync()[0];
        tf.dispose([value, ...Object.values(grads)]);
        if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${step + 1}; lower train.lr or raise prompt.init_std`);
        lossSum += loss;
        step += 1;
        if (step % opts.logEvery === 0 || i === batches.length - 1) {
          emit({type: 'step', epoch, step, totalSteps, loss, lr, gradNorm});
        }
        emit({type: 'progress', epoch, step, totalSteps, loss});
        // Let signals, timers and the display run; stop here if asked to.
        await yieldToEventLoop(opts.signal);
      }
      emit({type: 'epoch', epoch, step, trainLoss: lossSum / Math.max(1, batches.length), seconds: (Date.now() - started) / 1000});

      // Evaluate; keep the best epoch by the key metric.
      emit({type: 'evaluating', epoch, step});
      const metrics = await opts.evaluate(epoch);
      const value = metrics[opts.keyMetric];
      if (value === undefined) throw new Error(`evaluation returned no "${opts.keyMetric}"`);
      const isBest = value > best.value;
      emit({type: 'eval', epoch, step, split: 'dev', metrics, keyMetric: opts.keyMetric, isBest});
      if (isBest) {
        best = {epoch, value, metrics};
        tf.dispose(bestState);
        bestState = opts.variables.map((v) => tf.keep(v.clone()));
        sinceBest = 0;
      } else {
        sinceBest += 1;
      }

      // Stop early?
      if (opts.patience !== undefined && sinceBest >= opts.patience) {
        stoppedEarly = epoch < opts.epochs;
        break;
      }
    }
  } catch (error) {
    tf.dispose(bestState);
    throw error;
  } finally {
    optimizer.dispose();
  }
  emit({type: 'end', bestEpoch: best.epoch, bestValue: best.value, stoppedEarly});
  return {bestEpoch: best.epoch, bestValue: best.value, bestMetrics: best.metrics, bestState, steps: step};
}

/**
 * One turn of the event loop (a macrotask, so pending signals and timers run), then throws the
 * abort reason if `signal` was aborted meanwhile. Long loops call it once per step or batch.
 */
export async function yieldToEventLoop(signal?: AbortSignal): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/** Restore variables from a saved state (same order as the variables). */
export function restoreState(variables: tf.Variable[], state: tf.Tensor[]): void {
  variables.forEach((v, i) => v.assign(state[i]));
}
