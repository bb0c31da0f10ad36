/**
 * What `ptv2 report` shows for a sweep: one table per method, a row per task and a column per
 * sweep value in the order the values were run, each cell the task's best score at that value;
 * rendered as Markdown (percentages, best of a row bold), CSV and JSON (raw values with their
 * scale), and a line chart (x: sweep value, y: score in percent, one line per task × method).
 *
 * A reference run (a job the swept key cannot change, e.g. FT under a prompt key; see
 * src/config/plan.ts) ran once: its row holds that one score under every value, labelled as a
 * reference and never bold, and the chart draws it as a flat dashed line.
 *
 * The chart is a Vega-Lite spec rendered to SVG by Vega's headless View (renderer 'none',
 * toSVG), so axes, legend and layout come from a maintained library; vega is imported only
 * when a chart is drawn. Everything else here is pure.
 *
 * References: Liu et al. 2022, "P-Tuning v2" (arXiv:2110.07602), Figures 3–4 (prompt length and
 * depth plotted per task); vega.github.io/vega-lite/docs (line mark, sort, scale);
 * vega.github.io/vega/docs/api/view (headless View, toSVG).
 */

import type {TopLevelSpec} from 'vega-lite';

import {sweepKeyLabel, sweepValueLabel, type DepthOrder} from './labels.js';
import {CSV_LINE_END, DEFAULT_METHOD_ORDER, EMPHASIS, csvField, escapeMarkdown, markdownRow, meanAndStd, methodHeader, percent, type ReportCell} from './tables.js';

export interface SweepScore {
  task: string;
  method: string;
  keyMetric: string;
  sweepKey: string;
  /** The value as JSON text, as the runs table stores it (`4`, `null`, `0.01`); null for a reference run. */
  sweepValue: string | null;
  /** The best score at this value, or null when the run failed or recorded none. */
  value: number | null;
  /** 1 (default) for fractions, 100 for metrics already in percent. */
  metricScale?: number;
  /** MPT-2's shared stage trains on all tasks at once and has no cell of its own; it is left out. */
  stage?: string;
}

export interface SweepTable {
  method: string;
  /** Task names, one per row: the tasks with a score at some value of this method. */
  rows: string[];
  /** cells[row][column], one column per entry of SweepReport.values; null where there is no score. */
  cells: (ReportCell | null)[][];
  /** Per row: a reference run, one score shown under every value. */
  references: boolean[];
}

export interface SweepReport {
  /** What the tables are of, e.g. `quickstart #3`. */
  title: string;
  /** The split the scores are from (`dev` or `test`). */
  split: string;
  sweepKey: string;
  /** The values as JSON text, in the order they were run (first appearance in the scores). */
  values: string[];
  /** One per method, in the paper's column order. */
  tables: SweepTable[];
  /** prompt.depth sweeps: which end of the encoder the k prompted layers start from. */
  depthOrder?: DepthOrder;
}

const MISSING = '–';

/**
 * Groups scores by method, task and value. Scores are expected in run order (as the store lists
 * them), which makes the value columns the order the sweep ran. Failed runs may be passed with a
 * null value: their value keeps its column even where no run at it completed.
 */
export function buildSweepReport(scores: SweepScore[], opts: {title?: string; split?: string; depthOrder?: DepthOrder} = {}): SweepReport {
  scores = scores.filter((s) => s.stage !== 'shared');
  const values = unique(scores.flatMap((s) => (s.sweepValue === null ? [] : [s.sweepValue])));
  const methods = orderMethods(unique(scores.map((s) => s.method)));
  // Several runs at one (method, task, value) are repeats (seeds, merged experiments): their mean ± std.
  const groups = new Map<string, SweepScore[]>();
  const referenceRows = new Set<string>();
  for (const s of scores) {
    if (s.sweepValue === null) referenceRows.add(JSON.stringify([s.method, s.task]));
    if (s.value === null) continue;
    const key = JSON.stringify([s.method, s.task, s.sweepValue]);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const cellOf = (group: SweepScore[] | undefined): ReportCell | null => {
    if (!group) return null;
    const [first] = group;
    const base = {task: first.task, method: first.method, metric: first.keyMetric, scale: first.metricScale ?? 1};
    if (group.length === 1) return {...base, value: first.value};
    return {...base, ...meanAndStd(group.map((s) => s.value!)), n: group.length};
  };
  const tables = methods.map((method): SweepTable => {
    const isReference = (task: string) => referenceRows.has(JSON.stringify([method, task]));
    const cellsOf = (task: string) => values.map((value) => cellOf(groups.get(JSON.stringify([method, task, isReference(task) ? null : value]))));
    const rows = unique(scores.filter((s) => s.method === method).map((s) => s.task)).filter((task) => cellsOf(task).some((c) => c !== null));
    return {method, rows, cells: rows.map(cellsOf), references: rows.map(isReference)};
  });
  return {
    title: opts.title ?? '',
    split: opts.split ?? 'dev',
    sweepKey: unique(scores.map((s) => s.sweepKey)).join('/'),
    values,
    tables: tables.filter((t) => t.rows.length > 0),
    ...(opts.depthOrder ? {depthOrder: opts.depthOrder} : {}),
  };
}

/** The sweep key as axis and heading text ("prompt length", "layers with a prompt (ascending)"). */
export function reportKeyLabel(r: SweepReport): string {
  return sweepKeyLabel(r.sweepKey, r.depthOrder ? {depthOrder: r.depthOrder} : {});
}

/** `4`, `null`, `0.01`: a stored value as the user wrote it. */
export function valueLabel(json: string): string {
  return String(JSON.parse(json));
}

/**
 * One table per method; values in percent with one decimal (mean ± std where several runs share
 * a value), the best of each row in bold.
 */
export function renderSweepMarkdown(r: SweepReport, opts: {style?: 'markdown' | 'ansi'} = {}): string {
  const bold = EMPHASIS[opts.style ?? 'markdown'].first;
  const keyLabel = reportKeyLabel(r);
  const repeats = r.tables.some((t) => t.cells.flat().some((c) => c?.n !== undefined));
  const blocks = r.tables.map((t) => {
    const allReference = t.references.every(Boolean);
    const scope = allReference ? `not swept by ${keyLabel}: one run per task, shown under every value` : `by ${keyLabel}`;
    const heading = `## ${r.title ? `${r.title}: ` : ''}${methodHeader(t.method)} ${scope} (${repeats ? 'mean ± std of the' : 'best'} ${r.split} score)`;
    const lines = [heading, ''];
    lines.push(markdownRow(['Task', ...r.values.map((v) => escapeMarkdown(sweepValueLabel(r.sweepKey, v)))]));
    lines.push(markdownRow([':---', ...r.values.map(() => '---:')]));
    t.rows.forEach((task, i) => {
      const shown = t.cells[i].map((cell) => (cell?.value == null ? null : percent(cell.value / cell.scale)));
      const top = t.references[i] ? null : bestShown(shown);
      const label = `${escapeMarkdown(task)} (${escapeMarkdown(rowMetric(t.cells[i]))})${t.references[i] ? ', reference' : ''}`;
      const spread = (column: number) => {
        const cell = t.cells[i][column];
        return cell?.std === undefined ? '' : ` ± ${percent(cell.std / cell.scale)}`;
      };
      lines.push(markdownRow([label, ...shown.map((text, column) => (text === null ? MISSING : (text === top ? bold(text) : text) + spread(column)))]));
    });
    return lines.join('\n') + '\n';
  });
  return blocks.join('\n');
}

/**
 * Header `task,method,metric,scale,reference,<key>=<value>...`: one row per method and task, raw
 * values as the scorer reports them, empty where missing; a reference row (`reference` true) repeats
 * its one score under every value.
 */
export function renderSweepCsv(r: SweepReport): string {
  const lines = [['task', 'method', 'metric', 'scale', 'reference', ...r.values.map((v) => `${r.sweepKey}=${valueLabel(v)}`)]];
  for (const t of r.tables) {
    t.rows.forEach((task, i) => {
      const cells = t.cells[i];
      const scales = unique(cells.flatMap((c) => (c === null ? [] : [String(c.scale)])));
      lines.push([task, t.method, rowMetric(cells), scales.join('/'), String(t.references[i]), ...cells.map((c) => (c?.value == null ? '' : String(c.value)))]);
    });
  }
  return lines.map((fields) => fields.map(csvField).join(',') + CSV_LINE_END).join('');
}

/**
 * An array of {task, method, metric, scale, sweepKey, sweepValue, value}, one per cell with a value;
 * a reference run is one entry with `reference: true` and no sweepValue (it ran at none of them).
 */
export function renderSweepJson(r: SweepReport): string {
  const entries = r.tables.flatMap((t) =>
    t.cells.flatMap((cells, row): Record<string, unknown>[] => {
      const base = (cell: ReportCell) => ({task: cell.task, method: cell.method, metric: cell.metric, scale: cell.scale, sweepKey: r.sweepKey});
      if (t.references[row]) {
        const cell = cells.find((c) => c?.value != null);
        return cell ? [{...base(cell), reference: true, value: cell.value}] : [];
      }
      return cells.flatMap((cell, column) => (cell?.value == null ? [] : [{...base(cell), sweepValue: JSON.parse(r.values[column]) as unknown, value: cell.value}]));
    }),
  );
  return JSON.stringify(entries, null, 2) + '\n';
}

/** A point of the chart: one cell of a sweep table. */
export interface SweepPoint {
  /** The sweep value's label; the x axis is categorical in run order. */
  x: string;
  /** The score in percent. */
  y: number;
  /** `task / Method`, with ` (reference)` for a reference run's flat line. */
  line: string;
  /** `swept`, or `reference` for a run the swept key cannot change (drawn dashed). */
  run: 'swept' | 'reference';
  /** Repeats: mean − std and mean + std in percent (the error bar), and the number of runs. */
  yLow?: number;
  yHigh?: number;
  n?: number;
}

/** `rte / PT-2`: the legend label of a task × method line; `rte / FT (reference)` for a reference run. */
export function lineLabel(task: string, method: string, reference = false): string {
  return `${task} / ${methodHeader(method)}${reference ? ' (reference)' : ''}`;
}

/** Every cell with a value, as a point in percent, line by line (method by method, then task). */
export function sweepPoints(r: SweepReport): SweepPoint[] {
  return r.tables.flatMap((t) =>
    t.rows.flatMap((task, i) =>
      t.cells[i].flatMap((cell, column) =>
        cell?.value == null
          ? []
          : [{
            x: sweepValueLabel(r.sweepKey, r.values[column]),
            y: (cell.value / cell.scale) * 100,
            line: lineLabel(task, t.method, t.references[i]),
            run: t.references[i] ? ('reference' as const) : ('swept' as const),
            ...(cell.std === undefined ? {} : {yLow: ((cell.value - cell.std) / cell.scale) * 100, yHigh: ((cell.value + cell.std) / cell.scale) * 100, n: cell.n}),
          }],
      ),
    ),
  );
}

/**
 * The y range: the scores widened to whole multiples of 5 with at least one point of margin, within
 * 0–100, so small differences show and a flat sweep (every value scoring the same) still has an axis.
 */
export function percentDomain(ys: number[]): [number, number] {
  if (ys.length === 0) return [0, 100];
  const low = Math.max(0, Math.floor((Math.min(...ys) - 1) / 5) * 5);
  const high = Math.min(100, Math.ceil((Math.max(...ys) + 1) / 5) * 5);
  return [low, Math.max(high, low + 5)];
}

/**
 * The Vega-Lite line chart of a sweep: x = sweep value (categorical, in the order run), y = best
 * score in percent (over percentDomain), one coloured line with points per task × method, legend
 * in table order, title = experiment and sweep key; reference runs are flat dashed lines.
 */
export function sweepPlotSpec(r: SweepReport): TopLevelSpec {
  const points = sweepPoints(r);
  const metrics = unique(r.tables.flatMap((t) => t.cells.flat().flatMap((c) => (c === null ? [] : [c.metric]))));
  const measure = metrics.length === 1 ? metrics[0] : 'score';
  const keyLabel = reportKeyLabel(r);
  const repeats = points.some((p) => p.yLow !== undefined);
  const ys = points.flatMap((p) => (p.yLow === undefined ? [p.y] : [p.yLow, p.yHigh!]));
  const x = {field: 'x', type: 'ordinal' as const, sort: r.values.map((v) => sweepValueLabel(r.sweepKey, v)), title: keyLabel, axis: {labelAngle: 0}};
  const color = {field: 'line', type: 'nominal' as const, sort: unique(points.map((p) => p.line)), title: 'task / method'};
  const line = {
    mark: {type: 'line' as const, point: true},
    encoding: {
      x,
      y: {field: 'y', type: 'quantitative' as const, title: `${repeats ? 'mean' : 'best'} ${r.split} ${measure} (%)`, scale: {domain: percentDomain(ys)}},
      color,
      strokeDash: {field: 'run', type: 'nominal' as const, sort: ['swept', 'reference'], title: 'run'},
    },
  };
  // Error bars (mean ± sample std) where several runs share a value.
  const bars = {
    transform: [{filter: 'isValid(datum.yLow)'}],
    mark: {type: 'errorbar' as const, ticks: true},
    encoding: {x, y: {field: 'yLow', type: 'quantitative' as const, title: ''}, y2: {field: 'yHigh'}, color},
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${r.title ? `${r.title}: ` : ''}${keyLabel}`,
    width: 480,
    height: 300,
    data: {values: points},
    layer: repeats ? [line, bars] : [line],
  };
}

/** The chart as an SVG document, drawn headless (no canvas, no browser). */
export async function renderSweepSvg(spec: TopLevelSpec): Promise<string> {
  const [{compile}, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const view = new vega.View(vega.parse(compile(spec).spec), {renderer: 'none'});
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** The paper's method order (as in the task × method table), others alphabetically after. */
function orderMethods(methods: string[]): string[] {
  const listed = DEFAULT_METHOD_ORDER.filter((m) => methods.includes(m));
  return [...listed, ...methods.filter((m) => !DEFAULT_METHOD_ORDER.includes(m)).sort()];
}

function rowMetric(cells: (ReportCell | null)[]): string {
  return unique(cells.flatMap((cell) => (cell === null ? [] : [cell.metric]))).join('/');
}

/** The highest shown value of a row; null (nothing bold) when the row has fewer than two values. */
function bestShown(shown: (string | null)[]): string | null {
  const present = shown.filter((text): text is string => text !== null);
  if (present.length < 2) return null;
  return present.reduce((a, b) => (Number(b) > Number(a) ? b : a));
}
