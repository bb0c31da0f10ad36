/**
 * What `ptv2 sweep KEY` runs when no CONFIG or no `--values` is given: the default config
 * (`ptv2.yaml` in the current directory, else `configs/quickstart.yaml`) and the paper's grid
 * for the key, cut to what the model can hold.
 *
 * Grids, from Liu et al. 2022 and its reference implementation (github.com/THUDM/P-tuning-v2):
 * prompt length 4, 8, 16, 32, 64, 128 and learning rate 5e-3, 7e-3, 1e-2 are the loops of
 * `search_script/search_copa_roberta.sh`; prompt depth 1…L in both orders is the paper's depth
 * figure (prompts in the first k layers, or the last k); reparameterisation off / on its ablation.
 */
import fs from 'node:fs';
import path from 'node:path';

import type {Ptv2Config, SweepKey} from '../config/schema.js';
import {taskDefinition} from '../data/registry.js';
import {UserError} from '../errors.js';
import {inputLength} from '../experiment/task-data.js';
import {normaliseConfig} from '../model/checkpoint.js';

export const DEFAULT_CONFIG_FILES = ['ptv2.yaml', path.join('configs', 'quickstart.yaml')] as const;

/** The config `ptv2 sweep KEY` uses without one, and the line that says which and why. */
export function defaultConfigFile(cwd = process.cwd()): {file: string; line: string} {
  const [local, quickstart] = DEFAULT_CONFIG_FILES;
  if (fs.existsSync(path.join(cwd, local))) return {file: local, line: `config: ${local} (found in the current directory)`};
  if (fs.existsSync(path.join(cwd, quickstart))) return {file: quickstart, line: `config: ${quickstart} (no ${local} in the current directory)`};
  throw new UserError(`no config given, and neither ${local} nor ${quickstart} is in the current directory`, {field: 'CONFIG'}, [
    'pass one: ptv2 sweep KEY CONFIG',
    'or run from the ptv2 directory, which has configs/quickstart.yaml',
  ]);
}

export const PAPER_PROMPT_LENGTHS = [4, 8, 16, 32, 64, 128] as const;
export const REFERENCE_LEARNING_RATES = [5e-3, 7e-3, 1e-2] as const;

/** The model's layer count and usable positions: from its config.json, or what model.init would create. */
export function modelShape(config: Ptv2Config): {layers: number; positions: number; source: string} {
  const file = path.join(config.model.path, 'config.json');
  if (fs.existsSync(file)) {
    const c = normaliseConfig(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>, file);
    return {layers: c.numLayers, positions: c.maxPositions - c.positionOffset, source: `the checkpoint ${config.model.path}`};
  }
  if (config.model.init) return {layers: config.model.init.layers, positions: config.model.init.max_positions, source: 'model.init'};
  throw new UserError('checkpoint directory not found, and the config has no model.init to create one', {file: config.model.path});
}

export interface DefaultGrid {
  values: unknown[];
  /** Lines to print before running: values left out and why. */
  notes: string[];
  /** prompt.depth: the grid runs once per order, as an experiment of its own. */
  orders?: ('ascending' | 'descending')[];
}

export function defaultGrid(key: SweepKey, config: Ptv2Config): DefaultGrid {
  switch (key) {
    case 'prompt.length':
      return promptLengthGrid(config);
    case 'prompt.depth': {
      const {layers} = modelShape(config);
      return {values: Array.from({length: layers}, (_, i) => i + 1), notes: [], orders: ['ascending', 'descending']};
    }
    case 'prompt.reparameterize':
      return {values: [false, true], notes: []};
    case 'train.lr':
      return {values: [...REFERENCE_LEARNING_RATES], notes: []};
    case 'head':
      // Table 4: a new linear head against the verbalizer with the checkpoint's MLM head.
      return {values: ['linear', 'verbalizer'], notes: []};
    default:
      throw new UserError(`the paper has no grid for ${key}; give one`, {field: '--values'}, [`e.g. ptv2 sweep ${key} --values 1,2,3`]);
  }
}

/** 4…128, without the lengths whose positions (input + prompt) the model does not have. */
function promptLengthGrid(config: Ptv2Config): DefaultGrid {
  const {positions, source} = modelShape(config);
  // Real tokens' positions start after the prompt (pt always, deep prompts with shift_positions).
  const shifts = config.methods.some((m) => m === 'pt' || (m !== 'ft' && config.prompt.shift_positions));
  if (!shifts) return {values: [...PAPER_PROMPT_LENGTHS], notes: []};
  const longest = Math.max(...config.tasks.map((t, i) => inputLength(config, i, taskDefinition(t)).value));
  const values = PAPER_PROMPT_LENGTHS.filter((p) => longest + p <= positions);
  const dropped = PAPER_PROMPT_LENGTHS.filter((p) => longest + p > positions);
  const notes = dropped.length === 0
    ? []
    : [`prompt lengths ${dropped.join(', ')} left out: inputs of up to ${longest} tokens plus the prompt need more than the ${positions} positions of ${source}`];
  if (values.length === 0) throw new UserError(`no prompt length of the paper's grid fits: inputs of up to ${longest} tokens leave fewer than 4 of the ${positions} positions`, {field: 'model.max_length'});
  return {values, notes};
}
