/**
 * Which experiments a report is of (`--experiment A,B,…`: names or ids, merged into one table),
 * and the listing of `ptv2 experiments`. Pure apart from reading the store it is given.
 */
import {UserError} from '../errors.js';
import type {ExperimentRow, RunRow, Store} from '../store/index.js';
import {escapeMarkdown, markdownRow} from './tables.js';

/**
 * The experiments named by a comma-separated list of names (the latest with that name) or ids,
 * in the order given; without a list, the latest experiment. A name the database lacks is an
 * error naming the ones it has.
 */
export function resolveExperiments(store: Pick<Store, 'findExperiment' | 'latestExperiment' | 'experiments'>, spec: string | undefined, database: string): ExperimentRow[] {
  const known = () => {
    const names = [...new Set(store.experiments().map((e) => e.name))];
    return names.length > 0 ? [`known experiments: ${names.join(', ')}`, 'list them with: ptv2 experiments'] : [];
  };
  if (spec === undefined) {
    const latest = store.latestExperiment();
    if (!latest) throw new UserError('the database has no experiments', {file: database}, known());
    return [latest];
  }
  const names = spec.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new UserError('expected an experiment name or id, or several separated by commas', {field: '--experiment'});
  const found = names.map((name) => {
    const experiment = store.findExperiment(name);
    if (!experiment) throw new UserError(`no experiment "${name}"`, {file: database}, known());
    return experiment;
  });
  return [...new Map(found.map((e) => [e.id, e])).values()];
}

/** `superglue #3`, or several joined by ` + `. */
export function experimentsTitle(experiments: readonly ExperimentRow[]): string {
  return experiments.map((e) => `${e.name} #${e.id}`).join(' + ');
}

export interface ExperimentListing {
  id: number;
  name: string;
  createdAt: string;
  finishedAt: string | null;
  status: string;
  runs: RunCounts;
  database: string;
}

/** How many runs an experiment has, and how many in each status. */
export interface RunCounts {
  total: number;
  /** Waiting for a worker of the queue (src/queue). */
  queued: number;
  running: number;
  completed: number;
  failed: number;
  interrupted: number;
}

export function countRuns(runs: readonly RunRow[]): RunCounts {
  const counts: RunCounts = {total: runs.length, queued: 0, running: 0, completed: 0, failed: 0, interrupted: 0};
  for (const run of runs) counts[run.status] += 1;
  return counts;
}

/** Every experiment of the database, newest first, with its run counts. */
export function listExperiments(store: Pick<Store, 'experiments' | 'runs'>, database: string): ExperimentListing[] {
  return store.experiments().map((e) => {
    return {
      id: e.id,
      name: e.name,
      createdAt: e.createdAt,
      finishedAt: e.finishedAt,
      status: e.status,
      runs: countRuns(store.runs(e.id)),
      database,
    };
  });
}

/** One row per experiment: name, id, date, status, runs (completed / total, failures named), database. */
export function renderExperimentsMarkdown(list: readonly ExperimentListing[]): string {
  const lines = [markdownRow(['Name', 'Id', 'Date', 'Status', 'Runs', 'Database']), markdownRow([':---', '---:', ':---', ':---', ':---', ':---'])];
  for (const e of list) {
    const {total, completed, failed, interrupted, running} = e.runs;
    const notes = [failed > 0 ? `${failed} failed` : '', interrupted > 0 ? `${interrupted} interrupted` : '', running > 0 ? `${running} running` : ''].filter(Boolean);
    const runs = `${completed}/${total} completed${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
    lines.push(markdownRow([escapeMarkdown(e.name), String(e.id), e.createdAt.replace('T', ' ').replace(/\.\d+Z?$|Z$/, ''), e.status, runs, escapeMarkdown(e.database)]));
  }
  return lines.join('\n') + '\n';
}
