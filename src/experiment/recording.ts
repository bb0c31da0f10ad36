/**
 * What a run's trainer events leave in the store (experiment.ts passes them through here on
 * their way to the progress display).
 */
import type {MetricRow, Store} from '../store/index.js';
import type {TrainEvent} from '../train/trainer.js';

/** Logged training steps reach the store at most this often (and at each epoch's end). */
const STEP_FLUSH_MS = 1000;

/**
 * Trainer events → the store, then to the caller. Per epoch: the dev metrics and the epoch's mean
 * training loss (`train/loss`). For the learning curves: the planned step count at start
 * (`train/total_steps`, epoch 0), and each logged step's loss and learning rate (`train/step_loss`,
 * `train/lr`), committed at most once a second (and with each epoch's rows) so a short
 * `log_every` does not cost a transaction per step.
 */
export function recordingEvents(store: Store, runId: number, onEvent: (event: TrainEvent) => void): (event: TrainEvent) => void {
  let pendingLoss: {epoch: number; loss: number} | undefined;
  let pendingSteps: MetricRow[] = [];
  let lastFlush = Date.now();
  const flushSteps = (extra: MetricRow[] = []) => {
    store.recordMetrics(runId, [...pendingSteps, ...extra]);
    pendingSteps = [];
    lastFlush = Date.now();
  };
  return (event) => {
    if (event.type === 'start') flushSteps([{epoch: 0, step: 0, split: 'train', name: 'total_steps', value: event.totalSteps}]);
    if (event.type === 'step') {
      pendingSteps.push(
        {epoch: event.epoch, step: event.step, split: 'train', name: 'step_loss', value: event.loss},
        {epoch: event.epoch, step: event.step, split: 'train', name: 'lr', value: event.lr},
      );
      if (Date.now() - lastFlush >= STEP_FLUSH_MS) flushSteps();
    }
    if (event.type === 'epoch') pendingLoss = {epoch: event.epoch, loss: event.trainLoss};
    if (event.type === 'eval') {
      const rows: MetricRow[] = Object.entries(event.metrics).map(([name, value]) => ({epoch: event.epoch, step: event.step, split: 'dev', name, value}));
      if (pendingLoss) rows.push({epoch: pendingLoss.epoch, step: event.step, split: 'train', name: 'loss', value: pendingLoss.loss});
      flushSteps(rows);
    }
    onEvent(event);
  };
}
