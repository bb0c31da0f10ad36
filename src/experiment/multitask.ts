/**
 * Multi-task P-tuning v2 (MPT-2), the pure parts of its shared stage: one epoch of the merged
 * training sets, and the metric that picks the shared stage's best epoch. The orchestrator
 * (experiment.ts) runs the stage and hands its prompt and heads to the per-task fine-tuning.
 *
 * Reference: Liu et al. 2022, "P-Tuning v2", §4 (multi-task learning before per-task fine-tuning).
 */
import {trainingBatches, type Batch} from '../data/features.js';
import type {TaskData} from './task-data.js';
import {shuffled, type Rng} from '../random.js';

/** The shared stage's key metric: the mean over its tasks of each task's key metric, as a fraction. */
export const MULTITASK_KEY_METRIC = 'mean_key_metric';

/** Every task's metrics as `task.metric`, plus their mean key metric (each divided by its scale). */
export function multitaskMetrics(results: readonly {data: Pick<TaskData, 'definition' | 'config'>; metrics: Record<string, number>}[]): Record<string, number> {
  const out: Record<string, number> = {};
  let sum = 0;
  for (const {data, metrics} of results) {
    for (const [name, value] of Object.entries(metrics)) out[`${data.config.name}.${name}`] = value;
    sum += metrics[data.definition.keyMetric] / data.definition.metricScale;
  }
  out[MULTITASK_KEY_METRIC] = sum / results.length;
  return out;
}

/** A batch that knows its task, for the merged training set of the shared stage. */
export type TaskBatch = Batch & {task: string};

/** One epoch of the merged training sets: each task's own length-bucketed batches, shuffled together. */
export function mergedBatches(tasks: readonly TaskData[], batchSize: number, padId: number, rng: Rng): TaskBatch[] {
  const batches = tasks.flatMap((data) =>
    trainingBatches(data.train.set.features, batchSize, padId, rng).map((batch): TaskBatch => Object.assign(batch, {task: data.config.name})),
  );
  return shuffled(batches, rng);
}
