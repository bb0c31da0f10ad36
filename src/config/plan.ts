/**
 * The plan of an experiment: which (task, method[, sweep value]) runs a config asks for, each
 * with the exact config it trains with. Pure, so `ptv2 plan`-style previews, resumption and the
 * runner all agree on job ids.
 *
 * The sweep value is applied after the method's overrides: the sweep is the variable the user is
 * studying, so it must hold for every method, including one whose override sets the same key.
 */

import {applyOverrides, setByPath} from './load.js';
import type {Ptv2Config} from './schema.js';

export interface Job {
  /** `task/method`, or `task/method/key=value` in a sweep; unique within a plan. */
  id: string;
  task: string;
  method: string;
  stage: 'single';
  sweepKey?: string;
  sweepValue?: unknown;
  /** The config this job trains with: method overrides and the sweep value applied. */
  config: Ptv2Config;
  seed: number;
}

/** Order: for each sweep value, for each task, for each method, as the config lists them. */
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
    for (const task of config.tasks) {
      for (const {method, jobConfig} of configs) {
        jobs.push({
          id: `${task.name}/${method}${suffix}`,
          task: task.name,
          method,
          stage: 'single',
          ...point,
          config: jobConfig,
          seed: jobConfig.seed,
        });
      }
    }
  }
  return jobs;
}
