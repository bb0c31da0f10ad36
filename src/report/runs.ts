/**
 * The per-run listing of `ptv2 report --runs`: one row per run with its status, best epoch, best
 * dev and test value of its key metric, share of trainable parameters and how many inputs of each
 * split were truncated to fit — the facts a results table hides. Pure, like tables.ts.
 */
import type {BestScoreRow, RunRow} from '../store/index.js';
import {CSV_LINE_END, csvField, escapeMarkdown, markdownRow, methodHeader, percent} from './tables.js';

export interface RunSummary {
  run: number;
  task: string;
  method: string;
  /** single, or MPT-2's shared / finetune stage. */
  stage: string;
  /** `key=value` for sweep runs, `key: reference` for a sweep's reference runs, else null. */
  sweep: string | null;
  status: string;
  keyMetric: string;
  bestEpoch: number | null;
  dev: number | null;
  /** Scored only when the test file had labels. */
  test: number | null;
  /** 1 for fractions, 100 for metrics in percent. */
  metricScale: number;
  trainableParams: number;
  totalParams: number;
  /** Inputs cut to fit max_length, per split read. */
  truncated: Record<string, number>;
}

/** `{train: 3, dev: 1}`; an MPT-2 shared run stores one such mapping per task, read as `rte.train`, …. */
function truncationOf(params: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  const collect = (value: unknown, prefix: string): void => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [key, entry] of Object.entries(value)) {
      if (typeof entry === 'number') out[prefix + key] = entry;
      else if (prefix === '') collect(entry, `${key}.`);
    }
  };
  collect(params.truncated, '');
  return out;
}

export function buildRunSummaries(runs: readonly RunRow[], dev: readonly BestScoreRow[], test: readonly BestScoreRow[]): RunSummary[] {
  const devOf = new Map(dev.map((row) => [row.runId, row]));
  const testOf = new Map(test.map((row) => [row.runId, row]));
  return runs.map((run) => ({
    run: run.id,
    task: run.task,
    method: run.method,
    stage: run.stage,
    sweep: run.sweepKey === null ? null : run.sweepValue === null ? `${run.sweepKey}: reference` : `${run.sweepKey}=${run.sweepValue}`,
    status: run.status,
    keyMetric: run.keyMetric,
    bestEpoch: devOf.get(run.id)?.epoch ?? null,
    dev: devOf.get(run.id)?.value ?? null,
    test: testOf.get(run.id)?.value ?? null,
    metricScale: devOf.get(run.id)?.metricScale ?? testOf.get(run.id)?.metricScale ?? 1,
    trainableParams: run.trainableParams,
    totalParams: run.totalParams,
    truncated: truncationOf(run.params),
  }));
}

const MISSING = '–';

function shown(value: number | null, scale: number): string {
  return value === null ? MISSING : percent(value / scale);
}

/** `12 train, 1 dev`, or `0` when nothing was cut. */
function truncationText(truncated: Record<string, number>): string {
  const cut = Object.entries(truncated).filter(([, count]) => count > 0);
  return cut.length === 0 ? '0' : cut.map(([split, count]) => `${count} ${split}`).join(', ');
}

export function renderRunsMarkdown(title: string, rows: readonly RunSummary[]): string {
  const lines = [`## ${title}`, ''];
  lines.push(markdownRow(['Run', 'Task', 'Method', 'Sweep', 'Status', 'Metric', 'Epoch', 'Dev', 'Test', 'Trainable', 'Truncated']));
  lines.push(markdownRow(['---:', ':---', ':---', ':---', ':---', ':---', '---:', '---:', '---:', '---:', ':---']));
  for (const r of rows) {
    const trainable = r.totalParams > 0 ? `${((100 * r.trainableParams) / r.totalParams).toFixed(2)}%` : MISSING;
    lines.push(
      markdownRow([
        String(r.run),
        escapeMarkdown(r.task),
        r.stage === 'shared' ? `${methodHeader(r.method)} (shared)` : methodHeader(r.method),
        r.sweep === null ? MISSING : escapeMarkdown(r.sweep),
        r.status,
        escapeMarkdown(r.keyMetric),
        r.bestEpoch === null ? MISSING : String(r.bestEpoch),
        shown(r.dev, r.metricScale),
        shown(r.test, r.metricScale),
        trainable,
        truncationText(r.truncated),
      ]),
    );
  }
  return lines.join('\n') + '\n';
}

/** Raw values as stored, with their scale; one truncation column per split. */
export function renderRunsCsv(rows: readonly RunSummary[]): string {
  const splits = [...new Set(rows.flatMap((r) => Object.keys(r.truncated)))];
  const header = ['run', 'task', 'method', 'stage', 'sweep', 'status', 'metric', 'scale', 'best_epoch', 'dev', 'test', 'trainable_params', 'total_params', ...splits.map((s) => `truncated_${s}`)];
  const value = (v: number | string | null | undefined) => (v === null || v === undefined ? '' : String(v));
  const lines = rows.map((r) => [
    r.run, r.task, r.method, r.stage, r.sweep, r.status, r.keyMetric, r.metricScale, r.bestEpoch, r.dev, r.test, r.trainableParams, r.totalParams, ...splits.map((s) => r.truncated[s]),
  ].map(value));
  return [header, ...lines].map((fields) => fields.map(csvField).join(',') + CSV_LINE_END).join('');
}

export function renderRunsJson(rows: readonly RunSummary[]): string {
  return JSON.stringify(rows, null, 2) + '\n';
}
