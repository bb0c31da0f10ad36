/**
 * The plan of an experiment: which (task, method[, sweep value]) runs a config asks for, each
 * with the exact config it trains with. Pure, so `ptv2 plan`-style previews, resumption and the
 * runner all agree on job ids.
 *
 * The sweep value is applied after the method's overrides: the sweep is the variable the user is
 * studying, so it must hold for every method, including one whose override sets the same key.
 *
 * Multi-task P-tuning v2 (`mpt2`) is two stages: one `shared` job trains a single deep prompt on
 * every task of the config (merged training sets, one head per task), then one `finetune` job
 * per task starts from that prompt and the task's head. The shared job comes first in its sweep
 * point, so the fine-tuning jobs can always find what they start from.
 */

import {applyOverrides, setByPath} from './load.js';
import type {Ptv2Config} from './schema.js';

export type Stage = 'single' | 'shared' | 'finetune';

export interface Job {
  /** `task/method`, or `task/method/key=value` in a sweep; unique within a plan. */
  id: string;
  /** The task; for a shared stage, the task names joined by "+". */
  task: string;
  method: string;
  stage: Stage;
  /** Shared stage: the tasks whose merged training sets it trains on. */
  tasks?: string[];
  /** Fine-tuning stage: the id of the shared job it starts from. */
  from?: string;
  sweepKey?: string;
  sweepValue?: unknown;
  /** The config this job trains with: method overrides and the sweep value applied. */
  config: Ptv2Config;
  seed: number;
}

/** Order: for each sweep value, the mpt2 shared stage (if any), then for each task, for each method, as the config lists them. */
export function planJobs(config: Ptv2Config): Job[] {
  const sweep = config.sweep;
  const points: {sweepKey?: string; sweepValue?: unknown}[] = sweep
    ? sweep.values.map((value) => ({sweepKey: sweep.key, sweepValue: value}))
    : [{}];

  const jobs: Job[] = [];
  for (const point of points) {
    const configs = config.methods.map((method) => {
      const withOverrides = applyOverrides(config, method);
      const jobConfig = sweep ? setByPath(withOverrides, sweep.key, point.sweepValue) : withOverrides;
      return {method, jobConfig};
    });
    const suffix = sweep ? `/${sweep.key}=${String(point.sweepValue)}` : '';
    const shared = configs.find((c) => c.method === 'mpt2');
    // "+" cannot appear in a task name, so the shared job id never collides with a task's.
    const sharedId = `+shared/mpt2${suffix}`;
    if (shared) {
      const tasks = config.tasks.map((t) => t.name);
      const {shared_epochs: epochs, shared_lr: lr} = config.mpt2;
      const train = {...shared.jobConfig.train, epochs: epochs ?? shared.jobConfig.train.epochs, lr: lr ?? shared.jobConfig.train.lr};
      const sharedConfig = {...shared.jobConfig, train};
      jobs.push({id: sharedId, task: tasks.join('+'), method: 'mpt2', stage: 'shared', tasks, ...point, config: sharedConfig, seed: sharedConfig.seed});
    }
    for (const task of config.tasks) {
      for (const {method, jobConfig} of configs) {
        jobs.push({
          id: `${task.name}/${method}${suffix}`,
          task: task.name,
          method,
          ...(method === 'mpt2' ? {stage: 'finetune' as const, from: sharedId} : {stage: 'single' as const}),
          ...point,
          config: jobConfig,
          seed: jobConfig.seed,
        });
      }
    }
  }
  return jobs;
}
