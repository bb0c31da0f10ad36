/**
 * `ptv2 report --compare paper`: the published number beside each cell whose runs were trained on
 * a checkpoint of a model the published tables have (matched by architecture: model_type, layer
 * count and hidden size, as recorded with each run), for the same task, method and metric (and
 * split, where the source names one). The numbers live in data/paper-results.json, each with the
 * source, table, row and column it was read from; nothing is stored that was not read there.
 */
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import type {ReportCell, ReportTable} from './tables.js';

export interface PaperModel {
  name: string;
  label: string;
  model_type: string;
  layers: number;
  hidden: number;
}

export interface PaperResult {
  source: string;
  table: string;
  row: string;
  column: string;
  model: string;
  method: string;
  task: string;
  metric: string;
  /** In percent, as printed. */
  value: number;
  /** Only where the source names the split (e.g. CoNLL-2005's test sets). */
  split?: string;
}

export interface PaperResults {
  sources: Record<string, {title: string; url: string}>;
  models: PaperModel[];
  results: PaperResult[];
}

/** data/paper-results.json, two levels above this file in src/report and in dist/report alike. */
export const PAPER_RESULTS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'paper-results.json');

export function loadPaperResults(file = PAPER_RESULTS_FILE): PaperResults {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as PaperResults;
}

export interface Architecture {
  model_type: string;
  layers: number;
  hidden: number;
}

/** The paper's model with this architecture, if any. */
export function paperModelOf(arch: Architecture | undefined, models: readonly PaperModel[]): PaperModel | undefined {
  if (!arch) return undefined;
  return models.find((m) => m.model_type === arch.model_type && m.layers === arch.layers && m.hidden === arch.hidden);
}

/**
 * A run's architecture: recorded in its params (`model.architecture`), or, for runs recorded
 * before that, read from the checkpoint's config.json when the directory is still there.
 */
export function runArchitecture(run: {params: Record<string, unknown>; modelPath: string | null}): Architecture | undefined {
  const recorded = (run.params.model as {architecture?: Architecture} | undefined)?.architecture;
  if (recorded) return recorded;
  if (!run.modelPath) return undefined;
  try {
    const config = JSON.parse(fs.readFileSync(path.join(run.modelPath, 'config.json'), 'utf8')) as Record<string, unknown>;
    const [model_type, layers, hidden] = [config.model_type, config.num_hidden_layers, config.hidden_size];
    return typeof model_type === 'string' && typeof layers === 'number' && typeof hidden === 'number' ? {model_type, layers, hidden} : undefined;
  } catch {
    return undefined;
  }
}

export interface PaperComparison {
  result: PaperResult;
  model: PaperModel;
  /** ptv2's value minus the paper's, in percentage points. */
  diff: number;
}

/**
 * Per cell (same shape as table.cells): the published result for the cell's task, method and
 * metric on the one paper model all the cell's runs match, with the difference; null elsewhere.
 */
export function comparePaper(
  table: ReportTable,
  architectures: (task: string, method: string) => (Architecture | undefined)[],
  split: string,
  paper: PaperResults = loadPaperResults(),
): (PaperComparison | null)[][] {
  return table.cells.map((row) => row.map((cell) => (cell === null || cell.value === null ? null : compareCell(cell, architectures(cell.task, cell.method), split, paper))));
}

function compareCell(cell: ReportCell, archs: (Architecture | undefined)[], split: string, paper: PaperResults): PaperComparison | null {
  const models = new Set(archs.map((a) => paperModelOf(a, paper.models)));
  const [model] = models;
  if (models.size !== 1 || model === undefined) return null;
  const result = paper.results.find((r) => r.model === model.name && r.task === cell.task && r.method === cell.method && r.metric === cell.metric && (r.split === undefined || r.split === split));
  if (!result) return null;
  return {result, model, diff: (cell.value! / cell.scale) * 100 - result.value};
}
