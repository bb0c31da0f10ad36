/**
 * What `ptv2 ui` and `ptv2 report --format html` show, as plain JSON built from the store: the
 * experiment list, one experiment (task × method table, sweep tables and chart data, runs, live
 * progress), one run, and learning curves of any runs. Numbers are formatted here with the
 * report's own `percent`, so the page prints exactly what `ptv2 report` prints.
 */
import type {ArtifactRow, BestScoreRow, ExperimentRow, MetricRow, RunRow, RunStatus, Store} from '../store/index.js';
import {buildRunSummaries, type RunSummary} from '../report/runs.js';
import {buildSweepReport, reportKeyLabel, valueLabel, type SweepReport} from '../report/sweep.js';
import {countRuns, type RunCounts} from '../report/experiments.js';
import {depthOrderOf, sweepValueLabel, type DepthOrder} from '../report/labels.js';
import {buildTaskMethodTable, meanAndStd, methodHeader, percent, type ReportTable} from '../report/tables.js';


export interface ExperimentSummary {
  id: number;
  name: string;
  createdAt: string;
  finishedAt: string | null;
  status: RunStatus;
  runs: RunCounts;
  /** Seconds from creation to the end (to now while running; to the last run's end when it never finished). */
  seconds: number | null;
  backends: string[];
  sweepKey: string | null;
}

/** A shown table: headers and rows of cell text, with which cells are a row's best and second. */
export interface ShownTable {
  title: string;
  header: string[];
  rows: {label: string; cells: string[]; rank: (0 | 1 | 2)[]}[];
}

export interface RunView extends RunSummary {
  label: string;
  seed: number;
  backend: string;
  startedAt: string;
  seconds: number | null;
  error: string | null;
  sweepValue: string | null;
}

export interface Progress {
  run: number;
  label: string;
  epoch: number;
  epochs: number | null;
  step: number;
  totalSteps: number | null;
  loss: number | null;
  /** The last dev score of the key metric, in percent. */
  dev: string | null;
  seconds: number;
}

/** A sweep chart point: the mean over the runs at one value, with its spread when there are several. */
export interface SweepChartPoint {
  x: string;
  line: string;
  y: number;
  lo: number;
  hi: number;
  n: number;
}

/** A job the sweep does not vary (no sweep value): a horizontal reference line. */
export interface SweepReference {
  line: string;
  y: number;
}

export interface SweepView {
  key: string;
  /** The key as axis text ("prompt length"; see src/report/labels.ts). */
  keyLabel: string;
  values: string[];
  tables: ShownTable[];
  points: SweepChartPoint[];
  references: SweepReference[];
  metric: string;
  split: string;
}

export interface ExperimentView {
  experiment: ExperimentSummary;
  configText: string;
  table: ShownTable;
  sweep: SweepView | null;
  runs: RunView[];
  progress: Progress[];
}

export interface CurvePoint {
  run: string;
  x: number;
  y: number;
}

export interface Curves {
  /** Train loss per logged step (or per epoch, for runs recorded before steps were). */
  loss: CurvePoint[];
  /** The key metric on dev per epoch, in percent. */
  dev: CurvePoint[];
  /** Learning rate per logged step. */
  lr: CurvePoint[];
  runs: {id: number; label: string; experiment: string; keyMetric: string}[];
}

export interface RunDetail {
  run: RunView;
  experiment: {id: number; name: string};
  params: Record<string, unknown>;
  artifacts: (ArtifactRow & {url: string})[];
  /** `ptv2 export …` for a completed prompt run, else null with the reason. */
  exportCommand: string | null;
  exportNote: string | null;
  epochs: {epoch: number; step: number; split: string; metrics: Record<string, number>}[];
}

const MISSING = '–';
const EXPORTABLE = new Set(['pt', 'prefix', 'pt2', 'mpt2']);

/** `12 rte/PT-2 prompt.length=4`: how a run is named in legends and pickers. */
export function runLabel(run: Pick<RunRow, 'id' | 'task' | 'method' | 'stage' | 'sweepKey' | 'sweepValue'>): string {
  const method = run.stage === 'shared' ? `${methodHeader(run.method)} (shared)` : methodHeader(run.method);
  const sweep = run.sweepKey === null || run.sweepValue === null ? '' : ` ${run.sweepKey}=${valueLabel(run.sweepValue)}`;
  return `#${run.id} ${run.task}/${method}${sweep}`;
}

function secondsBetween(from: string, to: string | null): number | null {
  return to === null ? null : (Date.parse(to) - Date.parse(from)) / 1000;
}

export function experimentSummary(e: ExperimentRow, runs: readonly RunRow[], now = new Date()): ExperimentSummary {
  const lastEnd = runs.map((r) => r.finishedAt).filter((t): t is string => t !== null).sort().at(-1) ?? null;
  const end = e.finishedAt ?? (e.status === 'running' ? now.toISOString() : lastEnd);
  return {
    id: e.id,
    name: e.name,
    createdAt: e.createdAt,
    finishedAt: e.finishedAt,
    status: e.status,
    runs: countRuns(runs),
    seconds: secondsBetween(e.createdAt, end),
    backends: [...new Set(runs.map((r) => r.backend))],
    sweepKey: runs.find((r) => r.sweepKey !== null)?.sweepKey ?? null,
  };
}

export function listExperiments(store: Store): ExperimentSummary[] {
  return store.experiments().map((e) => experimentSummary(e, store.runs(e.id)));
}

/** Rank 1 for a row's best shown value, 2 for the second (as `ptv2 report`'s bold and underline). */
function ranks(shown: (string | null)[]): (0 | 1 | 2)[] {
  const present = [...new Set(shown.filter((t): t is string => t !== null))].sort((a, b) => Number(b) - Number(a));
  if (shown.filter((t) => t !== null).length < 2) return shown.map(() => 0);
  return shown.map((t) => (t === null ? 0 : t === present[0] ? 1 : t === present[1] ? 2 : 0));
}

/**
 * The task × method table as shown: each cell in percent (mean ± std for repeats over seeds), then
 * an average row over the tasks every method has, and the methods' trainable share.
 */
export function shownTaskMethodTable(table: ReportTable, runs: readonly RunRow[]): ShownTable {
  const rows = table.rows.map((task, i) => {
    const cells = table.cells[i];
    const shown = cells.map((c) => (c?.value == null ? null : percent(c.value / c.scale)));
    const metric = [...new Set(cells.flatMap((c) => (c === null ? [] : [c.metric])))].join('/');
    return {
      label: `${task} (${metric})`,
      cells: shown.map((text, c) => (text === null ? MISSING : text + (cells[c]?.std === undefined ? '' : ` ± ${percent(cells[c]!.std! / cells[c]!.scale)}`))),
      rank: ranks(shown),
    };
  });
  if (table.rows.length > 1) {
    const complete = table.rows.map((_, i) => i).filter((i) => table.cells[i].every((c) => c?.value != null));
    if (complete.length > 0) {
      const averages = table.columns.map((_, c) => percent(complete.reduce((sum, i) => sum + table.cells[i][c]!.value! / table.cells[i][c]!.scale, 0) / complete.length));
      rows.push({label: complete.length === table.rows.length ? 'Average' : `Average (${complete.length} tasks with every method)`, cells: averages, rank: ranks(averages)});
    }
  }
  const share = table.columns.map((method) => {
    const own = runs.filter((r) => r.method === method && r.stage !== 'shared' && r.totalParams > 0);
    if (own.length === 0) return MISSING;
    const shares = own.map((r) => (100 * r.trainableParams) / r.totalParams);
    const low = Math.min(...shares);
    const high = Math.max(...shares);
    return low.toFixed(2) === high.toFixed(2) ? `${low.toFixed(2)}%` : `${low.toFixed(2)}–${high.toFixed(2)}%`;
  });
  if (table.columns.length > 0) rows.push({label: 'Trainable parameters', cells: share, rank: share.map(() => 0)});
  return {title: table.title, header: ['Task', ...table.columns.map(methodHeader)], rows};
}

function shownSweepTables(report: SweepReport): ShownTable[] {
  return report.tables.map((t) => ({
    title: `${methodHeader(t.method)} by ${reportKeyLabel(report)} (${t.cells.flat().some((c) => c?.n !== undefined) ? 'mean ± std of the' : 'best'} ${report.split} score)`,
    header: ['Task', ...report.values.map((v) => sweepValueLabel(report.sweepKey, v))],
    rows: t.rows.map((task, i) => {
      const shown = t.cells[i].map((c) => (c?.value == null ? null : percent(c.value / c.scale)));
      const best = ranks(shown).map((r) => (r === 1 ? 1 : 0) as 0 | 1);
      // Repeats at a value (seeds) show their mean ± std, as `ptv2 report` does.
      const spread = (c: number) => (t.cells[i][c]?.std === undefined ? '' : ` ± ${percent(t.cells[i][c]!.std! / t.cells[i][c]!.scale)}`);
      return {label: task, cells: shown.map((s, c) => (s === null ? MISSING : s + spread(c))), rank: best};
    }),
  }));
}

type Swept = BestScoreRow & {sweepKey: string; sweepValue: string};

/**
 * The chart data of a sweep: per task × method line and sweep value, the mean score over the
 * completed runs there (several when seeds repeat), with its mean ± std; jobs of the experiment
 * with no sweep value become reference lines at their best (mean) score.
 */
export function sweepChartData(scores: readonly BestScoreRow[]): {points: SweepChartPoint[]; references: SweepReference[]} {
  const done = scores.filter((s) => s.status === 'completed' && s.value !== null && s.stage !== 'shared');
  const inPercent = (s: BestScoreRow) => (s.value! / s.metricScale) * 100;
  const line = (s: BestScoreRow) => `${s.task} / ${methodHeader(s.method)}`;
  const groups = new Map<string, {x: string; line: string; ys: number[]}>();
  const fixed = new Map<string, number[]>();
  for (const s of done) {
    if (s.sweepKey === null || s.sweepValue === null) {
      fixed.set(line(s), [...(fixed.get(line(s)) ?? []), inPercent(s)]);
      continue;
    }
    const key = JSON.stringify([line(s), s.sweepValue]);
    const group = groups.get(key) ?? {x: sweepValueLabel(s.sweepKey, s.sweepValue), line: line(s), ys: []};
    group.ys.push(inPercent(s));
    groups.set(key, group);
  }
  const points = [...groups.values()].map(({x, line: l, ys}) => {
    const {value, std} = meanAndStd(ys);
    return {x, line: l, y: value, lo: value - std, hi: value + std, n: ys.length};
  });
  const references = [...fixed.entries()].map(([l, ys]) => ({line: l, y: meanAndStd(ys).value}));
  return {points, references};
}

function sweepView(all: readonly BestScoreRow[], name: string, split: string, depthOrder?: DepthOrder): SweepView | null {
  const swept = all.filter((s): s is Swept => s.sweepKey !== null && s.sweepValue !== null);
  if (swept.length === 0) return null;
  const report = buildSweepReport(swept.map((s) => ({...s, value: s.status === 'completed' ? s.value : null})), {title: name, split, ...(depthOrder ? {depthOrder} : {})});
  const metrics = [...new Set(all.map((s) => s.keyMetric))];
  return {
    key: report.sweepKey,
    keyLabel: reportKeyLabel(report),
    values: report.values.map((v) => sweepValueLabel(report.sweepKey, v)),
    tables: shownSweepTables(report),
    ...sweepChartData(all),
    metric: metrics.length === 1 ? metrics[0] : 'score',
    split,
  };
}

function runViews(store: Store, runs: readonly RunRow[], experimentId: number): RunView[] {
  const summaries = buildRunSummaries(runs, store.bestScores(experimentId, 'dev'), store.bestScores(experimentId, 'test'));
  return summaries.map((summary, i) => {
    const run = runs[i];
    return {
      ...summary,
      label: runLabel(run),
      seed: run.seed,
      backend: run.backend,
      startedAt: run.startedAt,
      seconds: run.seconds,
      error: run.error,
      sweepValue: run.sweepValue === null ? null : valueLabel(run.sweepValue),
    };
  });
}

/** Where a running run is: the last logged step and loss, the planned steps, the last dev score. */
export function runProgress(run: RunRow, metrics: readonly MetricRow[], now = new Date()): Progress {
  const last = (split: string, name: string) => metrics.filter((m) => m.split === split && m.name === name).at(-1);
  const loss = last('train', 'step_loss') ?? last('train', 'loss');
  const dev = last('dev', run.keyMetric);
  const scale = (run.params.task as {metric_scale?: number} | undefined)?.metric_scale ?? 1;
  const epochs = (run.params.train as {epochs?: number} | undefined)?.epochs ?? null;
  return {
    run: run.id,
    label: runLabel(run),
    epoch: Math.max(0, ...metrics.map((m) => m.epoch)),
    epochs,
    step: Math.max(0, ...metrics.map((m) => m.step)),
    totalSteps: last('train', 'total_steps')?.value ?? null,
    loss: loss?.value ?? null,
    dev: dev === undefined ? null : percent(dev.value / scale),
    seconds: (now.getTime() - Date.parse(run.startedAt)) / 1000,
  };
}

export function experimentView(store: Store, experiment: ExperimentRow, split = 'dev'): ExperimentView {
  const runs = store.runs(experiment.id);
  const name = `${experiment.name} #${experiment.id}`;
  const all = store.bestScores(experiment.id, split);
  const scores = all.filter((s) => s.status === 'completed' && s.value !== null);
  const sweep = sweepView(all, name, split, depthOrderOf(runs));
  const seeds = sweep?.key === 'seed';
  const title = seeds ? `${name} (mean ± std of the ${split} score over seeds)` : sweep ? `${name} (best ${split} score over ${sweep.key})` : `${name} (best ${split} score)`;
  const table = buildTaskMethodTable(scores, {title, aggregate: seeds ? 'mean' : 'best'});
  return {
    experiment: experimentSummary(experiment, runs),
    configText: experiment.configText,
    table: shownTaskMethodTable(table, runs),
    sweep,
    runs: runViews(store, runs, experiment.id),
    progress: runs.filter((r) => r.status === 'running').map((r) => runProgress(r, store.metrics(r.id))),
  };
}

/** Learning curves of the given runs (any experiments); unknown ids are skipped. */
export function curves(store: Store, runIds: readonly number[]): Curves {
  const out: Curves = {loss: [], dev: [], lr: [], runs: []};
  const names = new Map(store.experiments().map((e) => [e.id, `${e.name} #${e.id}`]));
  for (const id of runIds) {
    const run = store.run(id);
    if (!run) continue;
    const label = runLabel(run);
    const metrics = store.metrics(id);
    const scale = (run.params.task as {metric_scale?: number} | undefined)?.metric_scale ?? 1;
    const stepLoss = metrics.filter((m) => m.split === 'train' && m.name === 'step_loss');
    const loss = stepLoss.length > 0 ? stepLoss : metrics.filter((m) => m.split === 'train' && m.name === 'loss');
    out.loss.push(...loss.map((m) => ({run: label, x: m.step, y: m.value})));
    out.lr.push(...metrics.filter((m) => m.split === 'train' && m.name === 'lr').map((m) => ({run: label, x: m.step, y: m.value})));
    out.dev.push(...metrics.filter((m) => m.split === 'dev' && m.name === run.keyMetric).map((m) => ({run: label, x: m.epoch, y: (m.value / scale) * 100})));
    out.runs.push({id, label, experiment: names.get(run.experimentId) ?? `#${run.experimentId}`, keyMetric: run.keyMetric});
  }
  return out;
}

/** Every run of every experiment, newest experiment first: what the learning-curve picker lists. */
export function allRuns(store: Store): {id: number; label: string; experiment: string; experimentId: number; status: RunStatus}[] {
  return store.experiments().flatMap((e) =>
    store.runs(e.id).map((r) => ({id: r.id, label: runLabel(r), experiment: `${e.name} #${e.id}`, experimentId: e.id, status: r.status})),
  );
}

export function runDetail(store: Store, id: number, dbPath: string): RunDetail | undefined {
  const run = store.run(id);
  if (!run) return undefined;
  const experiment = store.findExperiment(String(run.experimentId))!;
  const view = runViews(store, store.runs(run.experimentId), run.experimentId).find((r) => r.run === id)!;
  const byEpoch = new Map<string, RunDetail['epochs'][number]>();
  for (const m of store.metrics(id)) {
    if (m.split === 'train' && m.name !== 'loss') continue;
    const key = `${m.epoch}/${m.split}`;
    const entry = byEpoch.get(key) ?? {epoch: m.epoch, step: m.step, split: m.split, metrics: {}};
    entry.metrics[m.name] = m.value;
    byEpoch.set(key, entry);
  }
  const exportable = run.status === 'completed' && EXPORTABLE.has(run.method) && run.stage !== 'shared';
  return {
    run: view,
    experiment: {id: experiment.id, name: experiment.name},
    params: run.params,
    artifacts: store.artifacts(id).map((a) => ({...a, url: `/files/${id}/${a.id}`})),
    exportCommand: exportable ? `ptv2 export ${id} --out runs/export-${id} --db ${shellWord(dbPath)}` : null,
    exportNote: exportable ? null : run.status !== 'completed' ? 'only completed runs are exported' : run.stage === 'shared' ? "the shared MPT-2 stage is not exported; export its tasks' fine-tuning runs" : `${methodHeader(run.method)} runs are not prompt adapters, so PEFT cannot hold them`,
    epochs: [...byEpoch.values()],
  };
}

function shellWord(text: string): string {
  return /^[\w./:@%+=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
