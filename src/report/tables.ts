/**
 * The task × method results table of `ptv2 report`, built from best dev scores and rendered as
 * Markdown (for reading: percentages, best of a row bold and second underlined, as in the P-tuning v2
 * paper's tables), CSV (RFC 4180, raw values, for spreadsheets) or JSON (for scripts).
 * Pure: callers fetch scores from the store and write the strings wherever they go.
 *
 * References: Liu et al. 2022, "P-Tuning v2" (arXiv:2110.07602), Tables 1–3;
 * RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180).
 */

export interface ReportCell {
  task: string;
  method: string;
  value: number | null;
  metric: string;
  /** What 100% is in the value: 1 for fractions, 100 for metrics already in percent (SQuAD). */
  scale: number;
  /** Mean cells (repeats over seeds): the sample standard deviation and the number of runs. */
  std?: number;
  n?: number;
}

export interface ReportTable {
  title: string;
  /** Task names, one per row. */
  rows: string[];
  /** Method ids, one per column. */
  columns: string[];
  /** cells[row][column]; null where the task was not run with that method. */
  cells: (ReportCell | null)[][];
}

export interface TaskMethodScore {
  task: string;
  method: string;
  keyMetric: string;
  value: number | null;
  /** 1 (default) for fractions, 100 for metrics already in percent. */
  metricScale?: number;
  /** MPT-2's shared stage trains on all tasks at once and has no cell of its own; it is left out. */
  stage?: string;
}

/** Methods in the paper's column order; methods not listed follow alphabetically. */
export const DEFAULT_METHOD_ORDER: readonly string[] = ['ft', 'pt', 'ptv1', 'prefix', 'pt2', 'mpt2'];

const METHOD_HEADERS = new Map<string, string>([
  ['ft', 'FT'],
  ['pt', 'PT'],
  ['ptv1', 'P-tuning'],
  ['prefix', 'Prefix'],
  ['pt2', 'PT-2'],
  ['mpt2', 'MPT-2'],
]);

const MISSING = '–';
export const CSV_LINE_END = '\r\n';

/** The column header a method is shown under; unknown methods show their id. */
export function methodHeader(method: string): string {
  return METHOD_HEADERS.get(method) ?? method;
}

/**
 * One row per task in order of first appearance, one column per method present. When several scores
 * share a (task, method), the cell keeps the best value (sweep points: the best setting), or with
 * `aggregate: 'mean'` their mean, sample standard deviation and count (repeats over seeds, where
 * keeping the best would report the luckiest seed).
 */
export function buildTaskMethodTable(
  scores: TaskMethodScore[],
  opts: {title?: string; methodOrder?: string[]; aggregate?: 'best' | 'mean'} = {},
): ReportTable {
  scores = scores.filter((s) => s.stage !== 'shared');
  const rows = unique(scores.map((s) => s.task));
  const columns = orderMethods(unique(scores.map((s) => s.method)), opts.methodOrder ?? DEFAULT_METHOD_ORDER);

  const groups = new Map<string, TaskMethodScore[]>();
  for (const s of scores) {
    const key = cellKey(s.task, s.method);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const cellOf = (group: TaskMethodScore[]): ReportCell => {
    const [first] = group;
    const base = {task: first.task, method: first.method, metric: first.keyMetric, scale: first.metricScale ?? 1};
    if (opts.aggregate !== 'mean') {
      const best = group.reduce((a, b) => (isBetter(b.value, a.value) ? b : a));
      return {...base, value: best.value};
    }
    const values = group.map((s) => s.value).filter((v): v is number => v !== null);
    if (values.length === 0) return {...base, value: null};
    return {...base, ...meanAndStd(values), n: values.length};
  };

  const cells = rows.map((task) => columns.map((method) => {
    const group = groups.get(cellKey(task, method));
    return group ? cellOf(group) : null;
  }));
  return {title: opts.title ?? '', rows, columns, cells};
}

/**
 * Several experiments' tables as one (`ptv2 report --experiment A,B`): rows and columns in order
 * of first appearance (methods in the paper's order); a cell one experiment has is its cell, a
 * cell several have is the mean ± sample std of theirs (n = experiments), as repeats are.
 */
export function mergeTables(tables: readonly ReportTable[], title: string): ReportTable {
  const rows = unique(tables.flatMap((t) => t.rows));
  const columns = orderMethods(unique(tables.flatMap((t) => t.columns)), DEFAULT_METHOD_ORDER);
  const cells = rows.map((task) => columns.map((method) => {
    const found = tables.flatMap((t) => {
      const cell = t.cells[t.rows.indexOf(task)]?.[t.columns.indexOf(method)];
      return cell && cell.value !== null ? [cell] : [];
    });
    if (found.length === 0) return null;
    if (found.length === 1) return found[0];
    const {task: t, method: m, metric, scale} = found[0];
    return {task: t, method: m, metric, scale, ...meanAndStd(found.map((c) => c.value!)), n: found.length};
  }));
  return {title, rows, columns, cells};
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanAndStd(values: readonly number[]): {value: number; std: number} {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return {value: mean, std: 0};
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return {value: mean, std: Math.sqrt(variance)};
}

/** Published numbers beside the cells (`--compare paper`, src/report/paper.ts). */
export interface CellComparison {
  /** The published value, in percent. */
  value: number;
  /** This cell minus the published value, in percentage points. */
  diff: number;
  /** Where it was published: model, source, table, row, column. */
  model: string;
  source: string;
  table: string;
  row: string;
  column: string;
}

export interface MarkdownOptions {
  /** `ansi`: a terminal's bold and underline instead of Markdown's `**` and `<u>`. */
  style?: 'markdown' | 'ansi';
  /** An average row over the tasks every method has. */
  average?: boolean;
  /** Per column: the methods' trainable share of parameters (e.g. `0.12%`), as a last row. */
  shares?: string[];
  /** Per cell: the published number to show beside it. */
  paper?: (CellComparison | null)[][];
}

export const EMPHASIS = {
  markdown: {first: (t: string) => `**${t}**`, second: (t: string) => `<u>${t}</u>`},
  ansi: {first: (t: string) => `\u001b[1m${t}\u001b[22m`, second: (t: string) => `\u001b[4m${t}\u001b[24m`},
};

/** `+1.2` / `-8.1`: a difference in percentage points. */
export function signedPoints(diff: number): string {
  const text = diff.toFixed(1);
  return text === '-0.0' || text === '0.0' ? '±0.0' : diff > 0 ? `+${text}` : text;
}

/**
 * Values as percentages with one decimal (mean cells as `mean ± std`); in each row the best value
 * is bold and the second underlined (in a terminal, ANSI bold and underline). Optionally an
 * average row (bold and underlined the same way), the trainable share of each method, and the
 * published number beside each cell that has one.
 */
export function renderMarkdown(t: ReportTable, opts: MarkdownOptions = {}): string {
  const style = EMPHASIS[opts.style ?? 'markdown'];
  const lines: string[] = [];
  if (t.title) lines.push(`## ${t.title}`, '');
  lines.push(markdownRow(['Task', ...t.columns.map(methodHeader)]));
  lines.push(markdownRow([':---', ...t.columns.map(() => '---:')]));
  t.rows.forEach((task, i) => {
    const emphasis = rowEmphasis(shownRow(t, i), style);
    lines.push(markdownRow([rowLabel(t, i), ...t.columns.map((_, c) => cellText(t, i, c, emphasis, opts))]));
  });
  const average = opts.average ? averageRow(t) : null;
  if (average) lines.push(markdownRow([average.label, ...average.values.map(rowEmphasis(average.values, style))]));
  if (opts.shares && t.columns.length > 0) lines.push(markdownRow(['Trainable parameters', ...opts.shares]));
  return lines.join('\n') + '\n';
}

/**
 * The paper's own layout (its Tables 2 and 3): a row per method with its trainable share, a column
 * per task and an average column over the tasks every method has; the best of each column bold,
 * the second underlined.
 */
export function renderPaperLayout(t: ReportTable, opts: MarkdownOptions = {}): string {
  const style = EMPHASIS[opts.style ?? 'markdown'];
  const lines: string[] = [];
  if (t.title) lines.push(`## ${t.title}`, '');
  const average = averageRow(t);
  const averageHeader = average === null ? [] : [average.label === 'Average' ? 'Avg' : average.label.replace('Average', 'Avg')];
  const shares = opts.shares ? ['Trainable'] : [];
  lines.push(markdownRow(['Method', ...shares, ...t.rows.map((_, i) => rowLabel(t, i)), ...averageHeader]));
  lines.push(markdownRow([':---', ...shares.map(() => '---:'), ...t.rows.map(() => '---:'), ...averageHeader.map(() => '---:')]));
  const emphasis = t.rows.map((_, i) => rowEmphasis(shownRow(t, i), style));
  const averageEmphasis = average === null ? undefined : rowEmphasis(average.values, style);
  t.columns.forEach((method, c) => {
    lines.push(markdownRow([
      methodHeader(method),
      ...(opts.shares ? [opts.shares[c]] : []),
      ...t.rows.map((_, i) => cellText(t, i, c, emphasis[i], opts)),
      ...(average === null ? [] : [averageEmphasis!(average.values[c])]),
    ]));
  });
  return lines.join('\n') + '\n';
}

/** `rte (accuracy)`: a task and the metric its cells report. */
function rowLabel(t: ReportTable, i: number): string {
  return `${escapeMarkdown(t.rows[i])} (${escapeMarkdown(rowMetric(t.cells[i]))})`;
}

/** A task's cells as shown (percent, one decimal), null where missing; emphasis ranks these. */
function shownRow(t: ReportTable, i: number): (string | null)[] {
  return t.cells[i].map((cell) => (cell?.value == null ? null : percent(cell.value / cell.scale)));
}

/** One cell: the emphasised value, its ± std for repeats, and the published number beside it. */
function cellText(t: ReportTable, i: number, c: number, emphasis: (text: string) => string, opts: MarkdownOptions): string {
  const cell = t.cells[i][c];
  if (cell === null || cell.value === null) return MISSING;
  const spread = cell.std === undefined ? '' : ` ± ${percent(cell.std / cell.scale)}`;
  const published = opts.paper?.[i]?.[c];
  const beside = published ? ` (paper ${published.value.toFixed(1)}, ${signedPoints(published.diff)})` : '';
  return emphasis(percent(cell.value / cell.scale)) + spread + beside;
}

/**
 * The mean score of each method over the tasks every method has (so the columns average the same
 * tasks), in percent; none when the table has fewer than two tasks or no task has every method.
 */
export function averageRow(t: ReportTable): {label: string; values: string[]} | null {
  if (t.rows.length < 2) return null;
  const complete = t.rows.map((_, i) => i).filter((i) => t.cells[i].every((c) => c?.value != null));
  if (complete.length === 0) return null;
  const values = t.columns.map((_, c) => percent(complete.reduce((sum, i) => sum + t.cells[i][c]!.value! / t.cells[i][c]!.scale, 0) / complete.length));
  return {label: complete.length === t.rows.length ? 'Average' : `Average (${complete.length} tasks with every method)`, values};
}

/**
 * Each method's trainable share of the model's parameters over its runs (the paper's "0.1%"):
 * one figure, or the range when runs differ (e.g. prompt lengths per task); `–` without runs.
 */
export function trainableShares(columns: readonly string[], runs: readonly {method: string; stage: string; trainableParams: number; totalParams: number}[]): string[] {
  return columns.map((method) => {
    const own = runs.filter((r) => r.method === method && r.stage !== 'shared' && r.totalParams > 0);
    if (own.length === 0) return MISSING;
    const shares = own.map((r) => (100 * r.trainableParams) / r.totalParams);
    const [low, high] = [Math.min(...shares), Math.max(...shares)].map(shareText);
    return low === high ? low : `${low.slice(0, -1)}–${high}`;
  });
}

/** A share in percent with two significant decimals at least: 100%, 0.45%, 0.012%. */
function shareText(percentValue: number): string {
  if (percentValue >= 1) return `${percentValue.toFixed(percentValue >= 99.995 ? 0 : 2)}%`;
  const digits = Math.max(2, 1 - Math.floor(Math.log10(percentValue)));
  return `${percentValue.toFixed(digits)}%`;
}

/**
 * Header `task,metric,scale,<method ids...>` (mean tables: then `<method>_std`, `<method>_n`): raw values as the scorer reports them, empty where
 * missing; `scale` is what 100% is in the row (1 for fractions, 100 for SQuAD's percentages).
 */
export function renderCsv(t: ReportTable): string {
  // Mean tables add each method's standard deviation and run count after the values.
  const spread = t.cells.flat().some((cell) => cell?.std !== undefined);
  const extra = spread ? [...t.columns.map((m) => `${m}_std`), ...t.columns.map((m) => `${m}_n`)] : [];
  const lines = [['task', 'metric', 'scale', ...t.columns, ...extra]];
  t.rows.forEach((task, i) => {
    const field = (pick: (cell: ReportCell) => number | null | undefined) =>
      t.cells[i].map((cell) => {
        const v = cell === null ? undefined : pick(cell);
        return v === null || v === undefined ? '' : String(v);
      });
    const spreadFields = spread ? [...field((c) => c.std), ...field((c) => c.n)] : [];
    lines.push([task, rowMetric(t.cells[i]), rowScale(t.cells[i]), ...field((c) => c.value), ...spreadFields]);
  });
  return lines.map((fields) => fields.map(csvField).join(',') + CSV_LINE_END).join('');
}

/**
 * An array of {task, method, metric, value, scale}, one per cell that has a value, row by row;
 * with `paper`, each compared cell also carries the published number and where it is from.
 */
export function renderJson(t: ReportTable, opts: {paper?: (CellComparison | null)[][]} = {}): string {
  const entries = t.cells.flatMap((row, i) =>
    row.flatMap((cell, c) => {
      if (cell === null || cell.value === null) return [];
      const {task, method, metric, value, scale, std, n} = cell;
      const paper = opts.paper?.[i]?.[c];
      return [{task, method, metric, value, scale, ...(std === undefined ? {} : {std, n}), ...(paper ? {paper} : {})}];
    }),
  );
  return JSON.stringify(entries, null, 2) + '\n';
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function orderMethods(methods: string[], order: readonly string[]): string[] {
  const listed = order.filter((m) => methods.includes(m));
  const others = methods.filter((m) => !order.includes(m)).sort();
  return [...listed, ...others];
}

function cellKey(task: string, method: string): string {
  return JSON.stringify([task, method]);
}

function isBetter(candidate: number | null, current: number | null): boolean {
  return candidate !== null && (current === null || candidate > current);
}

/** The key metric a row's cells report; normally one, but runs configured differently are all named. */
function rowMetric(cells: (ReportCell | null)[]): string {
  return unique(cells.flatMap((cell) => (cell === null ? [] : [cell.metric]))).join('/');
}

/** The scale of a row's cells (one per task in practice; several are all named). */
function rowScale(cells: (ReportCell | null)[]): string {
  return [...new Set(cells.flatMap((cell) => (cell === null ? [] : [String(cell.scale)])))].join('/');
}

/** A fraction as a percentage with one decimal. */
export function percent(value: number): string {
  const text = (value * 100).toFixed(1);
  return text === '-0.0' ? '0.0' : text;
}

/**
 * Ranks on the shown text, so values that print the same get the same emphasis. A row with a single
 * value has nothing to compare against and stays plain.
 */
function rowEmphasis(shown: (string | null)[], style = EMPHASIS.markdown): (text: string) => string {
  const present = shown.filter((text): text is string => text !== null);
  if (present.length < 2) return (text) => text;
  const ranked = unique(present).sort((a, b) => Number(b) - Number(a));
  const [first, second] = ranked;
  return (text) => (text === first ? style.first(text) : text === second ? style.second(text) : text);
}

export function markdownRow(fields: string[]): string {
  return `| ${fields.join(' | ')} |`;
}

export function escapeMarkdown(text: string): string {
  return text.replaceAll('|', '\\|');
}

export function csvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}
