/**
 * The plan of an experiment: which (task, method[, sweep value]) runs a config asks for, each
 * with the exact config it trains with. Pure, so `ptv2 plan`-style previews, resumption and the
 * runner all agree on job ids.
 *
 * A sweep changes only the swept key:
 * - `method_overrides` win over the sweep. A method whose override sets the swept key keeps its
 *   own value (its override exists because it needs that value), so the sweep does not apply to
 *   it; `sweepNotes` says so, and the run output repeats it.
 * - A job the swept key cannot change runs once per experiment, as a reference for the swept
 *   ones: FT under a prompt key (FT has no prompt), `pt` under `prompt.depth`, a method whose
 *   override holds the key, MPT-2's shared stage under `train.lr` when `mpt2.shared_lr` is set.
 *   "Cannot change" is one rule for every key and method (sweptKeyReaches, with the prompt
 *   keys each method reads in PROMPT_KEYS_READ). Its id has no `key=value` suffix; it keeps
 *   `sweepKey` and has no `sweepValue`, and the report shows it as a flat reference line.
 * - A job's seed is derived from the config's seed and the job's task, method and stage, never
 *   from the sweep value, so FT at `prompt.depth=1` and at `null` would draw the same numbers and a
 *   sweep compares like with like (a `seed` sweep still changes every job's seed: it is the key).
 *
 * Multi-task P-tuning v2 (`mpt2`) is two stages: one `shared` job trains a single deep prompt on
 * every task of the config (merged training sets, one head per task), then one `finetune` job
 * per task starts from that prompt and the task's head. The shared job comes first in its sweep
 * point, so the fine-tuning jobs can always find what they start from; a fine-tuning job is a
 * reference only when its shared stage is one too.
 */

import {deriveSeed} from '../random.js';
import {applyOverrides, applyTaskOverrides, parseKeyPath, setByPath} from './load.js';
import type {Ptv2Config} from './schema.js';

export type Stage = 'single' | 'shared' | 'finetune';

export interface Job {
  /** `task/method`, or `task/method/key=value` for a swept job; unique within a plan. */
  id: string;
  /** The task; for a shared stage, the task names joined by "+". */
  task: string;
  method: string;
  stage: Stage;
  /** Shared stage: the tasks whose merged training sets it trains on. */
  tasks?: string[];
  /** Fine-tuning stage: the id of the shared job it starts from. */
  from?: string;
  /** Set on every job of a sweep, references included. */
  sweepKey?: string;
  /** The value this job ran at; absent for a reference job (the swept key cannot change it). */
  sweepValue?: unknown;
  /** A job of a sweep that the swept key cannot change: it runs once, at the config's own value. */
  reference?: boolean;
  /** The config this job trains with: method overrides and the sweep value applied. */
  config: Ptv2Config;
  /** The config's seed (the swept one in a seed sweep), as stored with the run. */
  seed: number;
  /** The seed every random stream of the run derives from: `seed` and the job's task/method. */
  runSeed: number;
}

/**
 * The prompt keys each method reads (see createPrompt in src/model/prompt.ts): `ft` has no prompt,
 * `pt` a single input table, `prefix` always reparameterises every layer.
 */
export const PROMPT_KEYS_READ: ReadonlyMap<string, readonly string[]> = new Map([
  ['ft', []],
  ['pt', ['length', 'dropout', 'init_std', 'init_from', 'init', 'init_words']],
  ['ptv1', ['length', 'dropout', 'init_std', 'encoder', 'init', 'init_words']],
  ['prefix', ['length', 'reparam_hidden', 'dropout', 'shift_positions', 'init_std', 'init_from']],
  ['pt2', ['length', 'reparameterize', 'reparam_hidden', 'dropout', 'depth', 'depth_order', 'shift_positions', 'init_std', 'init_from']],
  ['mpt2', ['length', 'reparameterize', 'reparam_hidden', 'dropout', 'depth', 'depth_order', 'shift_positions', 'init_std', 'init_from']],
]);

/**
 * Whether a swept key changes what a job of `method` trains with: not when the method's override
 * sets it, not for a prompt key the method does not read, not for MPT-2's shared stage when
 * `mpt2.shared_lr` / `shared_epochs` replaces the swept train key.
 */
export function sweptKeyReaches(config: Ptv2Config, method: string, stage: 'shared' | 'single', key: string): boolean {
  if (overrideSets(config, method, key)) return false;
  const [section, name] = key.split('.');
  if (section === 'prompt') return (PROMPT_KEYS_READ.get(method) ?? [name]).includes(name);
  if (stage === 'shared' && key === 'train.lr') return config.mpt2.shared_lr === null;
  if (stage === 'shared' && key === 'train.epochs') return config.mpt2.shared_epochs === null;
  return true;
}

/** Whether `method_overrides.<method>` sets the swept key (then the override wins). */
export function overrideSets(config: Ptv2Config, method: string, key: string): boolean {
  const path = parseKeyPath(key);
  let node: unknown = config.method_overrides?.[method as keyof NonNullable<Ptv2Config['method_overrides']>];
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return false;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node !== undefined;
}

/**
 * One config per method at one sweep point: overrides (a task's own over the method's), then the
 * value unless an override sets the key.
 */
function methodConfigs(config: Ptv2Config, value: {set: boolean; value?: unknown}, task?: string) {
  const sweep = config.sweep;
  return config.methods.map((method) => {
    const withOverrides = task === undefined ? applyOverrides(config, method) : applyTaskOverrides(config, method, task);
    const applies = sweep !== null && sweep !== undefined && value.set && !overrideSets(config, method, sweep.key);
    return {method, jobConfig: applies ? setByPath(withOverrides, sweep.key, value.value) : withOverrides};
  });
}

/** The shared stage's config: mpt2.shared_epochs and shared_lr over train. */
function sharedStageConfig(config: Ptv2Config, jobConfig: Ptv2Config): Ptv2Config {
  const {shared_epochs: epochs, shared_lr: lr} = config.mpt2;
  return {...jobConfig, train: {...jobConfig.train, epochs: epochs ?? jobConfig.train.epochs, lr: lr ?? jobConfig.train.lr}};
}

/** Order: for each sweep value, the mpt2 shared stage (if any), then for each task, for each method, as the config lists them; a reference job where its method first appears. */
export function planJobs(config: Ptv2Config): Job[] {
  const sweep = config.sweep ?? undefined;
  const values = sweep ? sweep.values : [undefined];
  const points = values.map((value) => methodConfigs(config, {set: sweep !== undefined, value}));
  const own = methodConfigs(config, {set: false});
  const tasks = config.tasks.map((t) => t.name);

  const unaffected = (method: string, stage: 'shared' | 'single') => sweep !== undefined && !sweptKeyReaches(config, method, stage, sweep.key);
  const sharedIsReference = config.methods.includes('mpt2') && unaffected('mpt2', 'shared');
  const isReference = (method: string) => (method === 'mpt2' ? sharedIsReference && unaffected('mpt2', 'single') : unaffected(method, 'single'));

  const jobs: Job[] = [];
  points.forEach((configs, index) => {
    const suffix = sweep ? `/${sweep.key}=${String(values[index])}` : '';
    const swept = {sweepKey: sweep?.key, sweepValue: values[index]};
    const sweepFields = (reference: boolean) =>
      sweep === undefined ? {} : reference ? {sweepKey: sweep.key, reference: true} : swept;
    const make = (base: string, reference: boolean, fields: Omit<Job, 'id' | 'seed' | 'runSeed' | 'sweepKey' | 'sweepValue' | 'reference'>): Job => ({
      id: reference ? base : `${base}${suffix}`,
      ...fields,
      ...sweepFields(reference),
      seed: fields.config.seed,
      runSeed: deriveSeed(fields.config.seed, base),
    });

    const shared = configs.find((c) => c.method === 'mpt2');
    // "+" cannot appear in a task name, so the shared job id never collides with a task's.
    const sharedId = sharedIsReference ? '+shared/mpt2' : `+shared/mpt2${suffix}`;
    if (shared && (!sharedIsReference || index === 0)) {
      const source = sharedIsReference ? own.find((c) => c.method === 'mpt2')!.jobConfig : shared.jobConfig;
      jobs.push(make('+shared/mpt2', sharedIsReference, {task: tasks.join('+'), method: 'mpt2', stage: 'shared', tasks, config: sharedStageConfig(config, source)}));
    }
    for (const task of tasks) {
      const taskConfigs = methodConfigs(config, {set: sweep !== undefined, value: values[index]}, task);
      const taskOwn = methodConfigs(config, {set: false}, task);
      for (const {method, jobConfig} of taskConfigs) {
        const reference = isReference(method);
        if (reference && index > 0) continue;
        // A reference job trains at the config's own value: the swept key does not reach it.
        const source = reference ? taskOwn.find((c) => c.method === method)!.jobConfig : jobConfig;
        jobs.push(
          make(`${task}/${method}`, reference, {
            task,
            method,
            ...(method === 'mpt2' ? {stage: 'finetune' as const, from: sharedId} : {stage: 'single' as const}),
            config: source,
          }),
        );
      }
    }
  });
  return jobs;
}

/** Why a method is not swept: its override holds the key, or it does not read the key. */
export interface SweepNote {
  method: string;
  /** `+shared/mpt2` when only MPT-2's shared stage is unaffected. */
  stage?: 'shared';
  reason: string;
}

/**
 * The methods (and MPT-2's shared stage) the swept values do not apply to, with the reason, for
 * the run output: `ft: method_overrides.ft.train.lr (0.002) wins over the sweep; it runs once, as a reference`.
 */
export function sweepNotes(config: Ptv2Config, jobs: readonly Job[]): SweepNote[] {
  const sweep = config.sweep;
  if (!sweep) return [];
  const notes: SweepNote[] = [];
  for (const method of config.methods) {
    const own = jobs.filter((job) => job.method === method);
    const sharedReference = own.some((job) => job.stage === 'shared' && job.reference);
    const reference = own.some((job) => job.stage !== 'shared' && job.reference);
    if (!reference && !sharedReference) continue;
    const once = 'it runs once, as a reference for the swept runs';
    if (overrideSets(config, method, sweep.key)) {
      const value = JSON.stringify(getByPath(applyOverrides(config, method), sweep.key));
      notes.push({method, reason: `method_overrides.${method}.${sweep.key} (${value}) wins over the sweep; ${once}`});
    } else if (reference) {
      notes.push({method, reason: `${method} does not read ${sweep.key}; ${once}`});
    } else {
      const setting = sweep.key === 'train.lr' ? 'mpt2.shared_lr' : 'mpt2.shared_epochs';
      notes.push({method, stage: 'shared', reason: `its shared stage trains with ${setting}, not ${sweep.key}, so it runs once and every swept fine-tuning starts from it`});
    }
  }
  return notes;
}

function getByPath(config: Ptv2Config, key: string): unknown {
  let node: unknown = config;
  for (const segment of parseKeyPath(key)) node = (node as Record<PropertyKey, unknown>)[segment];
  return node;
}
