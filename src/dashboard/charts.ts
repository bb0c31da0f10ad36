/**
 * The dashboard's charts as Vega-Lite specs, compiled here to Vega so that the page (and the
 * self-contained HTML report) needs only the Vega runtime: learning curves (train loss per logged
 * step, dev score per epoch, learning rate) with several runs overlaid, and a sweep's scores by
 * value with mean ± std error bars where seeds repeat and dashed reference lines for the jobs the
 * sweep does not vary.
 *
 * References: vega.github.io/vega-lite/docs (layer, errorbar, rule, line), vega.github.io/vega/docs/api/view.
 */
import type {TopLevelSpec} from 'vega-lite';
import {percentDomain} from '../report/sweep.js';
import type {Curves, SweepView} from './data.js';

export interface Chart {
  id: string;
  title: string;
  /** The compiled Vega spec. */
  vega: unknown;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 420;
const HEIGHT = 240;

type Compile = (spec: TopLevelSpec) => {spec: unknown};

/** Vega-Lite is loaded once, on the first chart. */
let compiler: Compile | undefined;
async function compileSpec(spec: TopLevelSpec): Promise<unknown> {
  compiler ??= (await import('vega-lite')).compile as Compile;
  return compiler(spec).spec;
}

export function lossSpec(c: Curves): TopLevelSpec {
  return {
    $schema: SCHEMA,
    width: WIDTH,
    height: HEIGHT,
    data: {values: c.loss},
    mark: {type: 'line', point: c.loss.length < 60, interpolate: 'linear'},
    encoding: {
      x: {field: 'x', type: 'quantitative', title: 'step', axis: {format: 'd', tickMinStep: 1}},
      y: {field: 'y', type: 'quantitative', title: 'train loss', scale: {zero: false}},
      color: {field: 'run', type: 'nominal', title: 'run', sort: c.runs.map((r) => r.label)},
      tooltip: [{field: 'run'}, {field: 'x', title: 'step'}, {field: 'y', title: 'loss', format: '.4f'}],
    },
  };
}

export function devSpec(c: Curves): TopLevelSpec {
  const metrics = [...new Set(c.runs.map((r) => r.keyMetric))];
  return {
    $schema: SCHEMA,
    width: WIDTH,
    height: HEIGHT,
    data: {values: c.dev},
    mark: {type: 'line', point: true},
    encoding: {
      x: {field: 'x', type: 'quantitative', title: 'epoch', axis: {tickMinStep: 1, format: 'd'}},
      y: {field: 'y', type: 'quantitative', title: `dev ${metrics.length === 1 ? metrics[0] : 'key metric'} (%)`, scale: {domain: percentDomain(c.dev.map((p) => p.y))}},
      color: {field: 'run', type: 'nominal', title: 'run', sort: c.runs.map((r) => r.label)},
      tooltip: [{field: 'run'}, {field: 'x', title: 'epoch'}, {field: 'y', title: '%', format: '.1f'}],
    },
  };
}

export function lrSpec(c: Curves): TopLevelSpec {
  return {
    $schema: SCHEMA,
    width: WIDTH,
    height: 160,
    data: {values: c.lr},
    mark: {type: 'line'},
    encoding: {
      x: {field: 'x', type: 'quantitative', title: 'step', axis: {format: 'd', tickMinStep: 1}},
      y: {field: 'y', type: 'quantitative', title: 'learning rate', axis: {format: '.1e'}},
      color: {field: 'run', type: 'nominal', title: 'run', sort: c.runs.map((r) => r.label)},
    },
  };
}

/** Mean score per value and line; error bars where n > 1; reference rules for unswept jobs. */
export function sweepSpec(s: SweepView): TopLevelSpec {
  const ys = [...s.points.flatMap((p) => [p.lo, p.hi]), ...s.references.map((r) => r.y)];
  const x = {field: 'x', type: 'ordinal' as const, sort: s.values, title: s.keyLabel, axis: {labelAngle: 0}};
  const y = {field: 'y', type: 'quantitative' as const, title: `${s.split} ${s.metric} (%)`, scale: {domain: percentDomain(ys)}};
  const lines = [...new Set([...s.points.map((p) => p.line), ...s.references.map((r) => r.line)])];
  const color = {field: 'line', type: 'nominal' as const, title: 'task / method', sort: lines, scale: {domain: lines}};
  const layers: TopLevelSpec[] = [];
  if (s.points.some((p) => p.n > 1)) {
    layers.push({
      data: {values: s.points.filter((p) => p.n > 1)},
      mark: {type: 'errorbar', ticks: true},
      encoding: {x, y: {...y, field: 'lo'}, y2: {field: 'hi'}, color},
    } as unknown as TopLevelSpec);
  }
  layers.push({
    data: {values: s.points},
    mark: {type: 'line', point: true},
    encoding: {x, y, color, tooltip: [{field: 'line'}, {field: 'x', title: s.keyLabel}, {field: 'y', title: 'mean %', format: '.1f'}, {field: 'n', title: 'runs'}]},
  } as unknown as TopLevelSpec);
  if (s.references.length > 0) {
    layers.push({
      data: {values: s.references},
      mark: {type: 'rule', strokeDash: [6, 4]},
      encoding: {y, color, tooltip: [{field: 'line'}, {field: 'y', title: 'not swept, %', format: '.1f'}]},
    } as unknown as TopLevelSpec);
  }
  return {$schema: SCHEMA, width: WIDTH, height: HEIGHT, layer: layers} as unknown as TopLevelSpec;
}

export async function curveCharts(c: Curves): Promise<Chart[]> {
  const charts: Chart[] = [{id: 'loss', title: 'Train loss', vega: await compileSpec(lossSpec(c))}];
  charts.push({id: 'dev', title: 'Dev score by epoch', vega: await compileSpec(devSpec(c))});
  if (c.lr.length > 0) charts.push({id: 'lr', title: 'Learning rate', vega: await compileSpec(lrSpec(c))});
  return charts;
}

export async function sweepChart(s: SweepView): Promise<Chart> {
  return {id: 'sweep', title: `Scores by ${s.keyLabel}`, vega: await compileSpec(sweepSpec(s))};
}
