/**
 * What `ptv2 report` shows around the task × method table besides the scores: the average row,
 * each method's trainable share, the published numbers (`--compare paper`) and the emphasis style.
 */
import type {BestScoreRow, RunRow} from '../store/index.js';
import {comparePaper, runArchitecture} from './paper.js';
import {trainableShares, type CellComparison, type MarkdownOptions, type ReportTable} from './tables.js';

export function markdownExtras(
  table: ReportTable,
  runs: readonly RunRow[],
  scores: readonly Pick<BestScoreRow, 'runId' | 'task' | 'method' | 'stage'>[],
  opts: {split: string; compare: boolean; ansi: boolean},
): MarkdownOptions {
  return {
    style: opts.ansi ? 'ansi' : 'markdown',
    average: true,
    shares: trainableShares(table.columns, runs),
    ...(opts.compare ? {paper: paperColumn(table, runs, scores, opts.split)} : {}),
  };
}

function paperColumn(table: ReportTable, runs: readonly RunRow[], scores: readonly Pick<BestScoreRow, 'runId' | 'task' | 'method' | 'stage'>[], split: string): (CellComparison | null)[][] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const architectures = (task: string, method: string) =>
    scores.filter((s) => s.task === task && s.method === method && s.stage !== 'shared').map((s) => {
      const run = byId.get(s.runId);
      return run ? runArchitecture(run) : undefined;
    });
  return comparePaper(table, architectures, split).map((row) =>
    row.map((c) => (c === null ? null : {value: c.result.value, diff: c.diff, model: c.model.label, source: c.result.source, table: c.result.table, row: c.result.row, column: c.result.column})),
  );
}
