/**
 * Tests for the sweep report: tables per method with value columns in run order, the Markdown,
 * CSV and JSON renderings (hand-computed percentages, best of a row bold), the chart's points,
 * y range and Vega-Lite spec, and the SVG drawn from it (one line path per task × method, legend
 * labels, titles).
 */

import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {
  buildSweepReport,
  percentDomain,
  renderSweepCsv,
  renderSweepJson,
  renderSweepMarkdown,
  renderSweepSvg,
  sweepPlotSpec,
  sweepPoints,
  type SweepScore,
} from '../../src/report/sweep.js';

function score(task: string, method: string, sweepValue: string | null, value: number | null, keyMetric = 'accuracy', metricScale = 1): SweepScore {
  return {task, method, keyMetric, sweepKey: 'prompt.length', sweepValue, value, metricScale};
}

/** Values run in the order 8, 16, 4 (neither numeric nor text order); pt2 listed before ft; squad in percent. */
const SCORES: SweepScore[] = [
  score('rte', 'pt2', '8', 0.7),
  score('rte', 'ft', '8', 0.6),
  score('squad', 'pt2', '8', 41.25, 'f1', 100),
  score('rte', 'pt2', '16', 0.65),
  score('rte', 'ft', '16', 0.6),
  score('squad', 'pt2', '16', 43.5, 'f1', 100),
  score('rte', 'pt2', '4', 0.725),
  score('rte', 'ft', '4', null), // failed
  score('squad', 'pt2', '4', null),
];

describe('buildSweepReport', () => {
  const report = buildSweepReport(SCORES, {title: 'plen #3'});

  test('value columns keep the order run; one table per method in the paper\'s order', () => {
    assert.deepEqual(report.values, ['8', '16', '4']);
    assert.equal(report.sweepKey, 'prompt.length');
    assert.deepEqual(report.tables.map((t) => t.method), ['ft', 'pt2']);
    assert.deepEqual(report.tables.map((t) => t.rows), [['rte'], ['rte', 'squad']]);
  });

  test('cells hold the raw value and its scale; missing and failed runs are null', () => {
    const pt2 = report.tables[1];
    assert.deepEqual(pt2.cells[1].map((c) => c?.value ?? null), [41.25, 43.5, null]);
    assert.equal(pt2.cells[1][0]?.scale, 100);
    assert.deepEqual(report.tables[0].cells[0].map((c) => c?.value ?? null), [0.6, 0.6, null]);
  });

  test('MPT-2\'s shared stage has no row: only its per-task fine-tuning runs do', () => {
    const r = buildSweepReport([{...score('rte+cb', 'mpt2', '4', 0.9), stage: 'shared'}, {...score('rte', 'mpt2', '4', 0.6), stage: 'finetune'}]);
    assert.deepEqual(r.tables.map((t) => [t.method, t.rows]), [['mpt2', ['rte']]]);
    assert.equal(r.tables[0].cells[0][0]?.value, 0.6);
  });

  test('several scores at one point (repeats) give their mean ± sample std and count; a task with no score for a method has no row', () => {
    const r = buildSweepReport([score('cb', 'pt2', '16', 0.5), score('cb', 'pt2', '16', 0.75), score('cb', 'ft', '16', null)]);
    assert.deepEqual(r.tables.map((t) => t.method), ['pt2']);
    const cell = r.tables[0].cells[0][0]!;
    assert.equal(cell.value, 0.625);
    assert.ok(Math.abs(cell.std! - Math.sqrt(0.03125)) < 1e-12);
    assert.equal(cell.n, 2);
  });
});

describe('renderers', () => {
  const report = buildSweepReport(SCORES, {title: 'plen #3'});

  test('markdown: one table per method, percentages of each scale, the best of a row bold, ties all bold', () => {
    assert.equal(
      renderSweepMarkdown(report),
      [
        '## plen #3: FT by prompt length (best dev score)',
        '',
        '| Task | 8 | 16 | 4 |',
        '| :--- | ---: | ---: | ---: |',
        '| rte (accuracy) | **60.0** | **60.0** | – |',
        '',
        '## plen #3: PT-2 by prompt length (best dev score)',
        '',
        '| Task | 8 | 16 | 4 |',
        '| :--- | ---: | ---: | ---: |',
        '| rte (accuracy) | 70.0 | 65.0 | **72.5** |',
        '| squad (f1) | 41.3 | **43.5** | – |',
        '',
      ].join('\n'),
    );
  });

  test('markdown: a row with a single value has nothing to beat and stays plain', () => {
    const r = buildSweepReport([score('rte', 'pt2', '16', 0.5), score('rte', 'pt2', '4', null)]);
    assert.match(renderSweepMarkdown(r), /\| rte \(accuracy\) \| 50\.0 \| – \|/);
  });

  test('csv: one row per method and task, raw values, key=value headers, RFC 4180 line ends', () => {
    assert.equal(
      renderSweepCsv(report),
      [
        'task,method,metric,scale,reference,prompt.length=8,prompt.length=16,prompt.length=4',
        'rte,ft,accuracy,1,false,0.6,0.6,',
        'rte,pt2,accuracy,1,false,0.7,0.65,0.725',
        'squad,pt2,f1,100,false,41.25,43.5,',
        '',
      ].join('\r\n'),
    );
  });

  test('json: one entry per cell with a value, the sweep value parsed back', () => {
    const rows = JSON.parse(renderSweepJson(buildSweepReport([score('rte', 'pt2', 'null', 0.5), score('rte', 'pt2', '2', 0.25)]))) as unknown[];
    assert.deepEqual(rows, [
      {task: 'rte', method: 'pt2', metric: 'accuracy', scale: 1, sweepKey: 'prompt.length', sweepValue: null, value: 0.5},
      {task: 'rte', method: 'pt2', metric: 'accuracy', scale: 1, sweepKey: 'prompt.length', sweepValue: 2, value: 0.25},
    ]);
  });
});

describe('reference runs (a job the swept key cannot change, run once)', () => {
  // FT under prompt.length: one run per task, stored without a sweep value.
  const WITH_REFERENCE: SweepScore[] = [score('rte', 'ft', null, 0.6), score('rte', 'pt2', '8', 0.7), score('rte', 'pt2', '4', 0.725), score('cb', 'ft', null, 0.5)];
  const report = buildSweepReport(WITH_REFERENCE, {title: 'plen #4'});

  test('the one score fills every value column of its row, which is marked as a reference; the columns are the swept values only', () => {
    assert.deepEqual(report.values, ['8', '4']);
    const ft = report.tables[0];
    assert.equal(ft.method, 'ft');
    assert.deepEqual(ft.references, [true, true]);
    assert.deepEqual(ft.cells.map((row) => row.map((c) => c?.value ?? null)), [[0.6, 0.6], [0.5, 0.5]]);
    assert.deepEqual(report.tables[1].references, [false]);
  });

  test('markdown names the table as not swept, labels the rows and bolds nothing in them', () => {
    assert.equal(
      renderSweepMarkdown(report),
      [
        '## plen #4: FT not swept by prompt length: one run per task, shown under every value (best dev score)',
        '',
        '| Task | 8 | 4 |',
        '| :--- | ---: | ---: |',
        '| rte (accuracy), reference | 60.0 | 60.0 |',
        '| cb (accuracy), reference | 50.0 | 50.0 |',
        '',
        '## plen #4: PT-2 by prompt length (best dev score)',
        '',
        '| Task | 8 | 4 |',
        '| :--- | ---: | ---: |',
        '| rte (accuracy) | 70.0 | **72.5** |',
        '',
      ].join('\n'),
    );
  });

  test('csv marks the row; json gives the reference once, without a sweep value', () => {
    assert.match(renderSweepCsv(report), /\r\nrte,ft,accuracy,1,true,0\.6,0\.6\r\n/);
    const rows = JSON.parse(renderSweepJson(report)) as Record<string, unknown>[];
    assert.deepEqual(rows.filter((r) => r.method === 'ft'), [
      {task: 'rte', method: 'ft', metric: 'accuracy', scale: 1, sweepKey: 'prompt.length', reference: true, value: 0.6},
      {task: 'cb', method: 'ft', metric: 'accuracy', scale: 1, sweepKey: 'prompt.length', reference: true, value: 0.5},
    ]);
  });

  test('the chart draws it as a flat, labelled, dashed line across every value', async () => {
    const ft = sweepPoints(report).filter((p) => p.run === 'reference');
    assert.deepEqual(ft.map((p) => [p.line, p.x, p.y]), [
      ['rte / FT (reference)', '8', 60],
      ['rte / FT (reference)', '4', 60],
      ['cb / FT (reference)', '8', 50],
      ['cb / FT (reference)', '4', 50],
    ]);
    const spec = sweepPlotSpec(report) as {layer: {encoding: {strokeDash: {field: string}}}[]};
    assert.equal(spec.layer[0].encoding.strokeDash.field, 'run');
    const svg = await renderSweepSvg(sweepPlotSpec(report));
    assert.ok(svg.includes('legend titled \'task / method\' for fill color and stroke color with 3 values: rte / FT (reference), cb / FT (reference), rte / PT-2'), 'legend labels');
    assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, 3);
    // Flat (one y for both x) and dashed, unlike the swept line.
    assert.match(svg, /rte \/ FT \(reference\); run: reference" role="graphics-symbol" aria-roledescription="line mark" d="M120,(\d+)L360,\1" [^>]*stroke-dasharray="4,2"/);
    assert.match(svg, /rte \/ PT-2; run: swept" role="graphics-symbol" aria-roledescription="line mark" [^>]*stroke-dasharray="1,0"/);
  });
});

describe('chart', () => {
  const report = buildSweepReport(SCORES, {title: 'plen #3'});

  test('points are percentages of each scale, labelled by value and by task / method', () => {
    assert.deepEqual(
      sweepPoints(report).map((p) => [p.line, p.x, Math.round(p.y * 1000) / 1000]),
      [
        ['rte / FT', '8', 60],
        ['rte / FT', '16', 60],
        ['rte / PT-2', '8', 70],
        ['rte / PT-2', '16', 65],
        ['rte / PT-2', '4', 72.5],
        ['squad / PT-2', '8', 41.25],
        ['squad / PT-2', '16', 43.5],
      ],
    );
  });

  const DOMAINS: {name: string; input: number[]; expected: [number, number]}[] = [
    {name: 'widened to multiples of 5 with a point of margin', input: [41.25, 72.5], expected: [40, 75]},
    {name: 'a value on a multiple of 5 gets room below it', input: [60, 62], expected: [55, 65]},
    {name: 'a flat sweep still spans 5 points', input: [58.3, 58.3], expected: [55, 60]},
    {name: 'kept within 0..100', input: [0.5, 100], expected: [0, 100]},
    {name: 'a top score of 100 leaves room below', input: [100], expected: [95, 100]},
    {name: 'no points: the whole range', input: [], expected: [0, 100]},
  ];
  for (const {name, input, expected} of DOMAINS) {
    test(`percentDomain: ${name}`, () => assert.deepEqual(percentDomain(input), expected));
  }

  test('spec: categorical x in run order, y in percent with axis titles, legend in table order, title', () => {
    const spec = sweepPlotSpec(report) as unknown as {
      title: string;
      layer: {mark: {type: string}; encoding: Record<string, {field: string; type: string; sort?: string[]; title: string; scale?: {domain: number[]}}>}[];
    };
    assert.equal(spec.title, 'plen #3: prompt length');
    assert.equal(spec.layer.length, 1, 'no error bars without repeats');
    const [line] = spec.layer;
    assert.equal(line.mark.type, 'line');
    assert.deepEqual(line.encoding.x, {field: 'x', type: 'ordinal', sort: ['8', '16', '4'], title: 'prompt length', axis: {labelAngle: 0}});
    assert.equal(line.encoding.y.title, 'best dev score (%)');
    assert.deepEqual(line.encoding.y.scale?.domain, [40, 75]);
    assert.deepEqual(line.encoding.color.sort, ['rte / FT', 'rte / PT-2', 'squad / PT-2']);
  });

  test('y title names the metric when every task shares it', () => {
    const r = buildSweepReport([score('rte', 'pt2', '4', 0.5), score('cb', 'pt2', '4', 0.6)], {split: 'test'});
    const spec = sweepPlotSpec(r) as unknown as {layer: {encoding: {y: {title: string}}}[]};
    assert.equal(spec.layer[0].encoding.y.title, 'best test accuracy (%)');
  });

  test('SVG: one line path per task × method, the legend labels, axis titles and title', async () => {
    const svg = await renderSweepSvg(sweepPlotSpec(report));
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const lines = svg.match(/<path[^>]*aria-roledescription="line mark"[^>]*>/g) ?? [];
    assert.equal(lines.length, 3);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const label of ['rte / FT', 'rte / PT-2', 'squad / PT-2', 'task / method', 'prompt length', 'best dev score (%)', 'plen #3: prompt length']) {
      assert.ok(texts.includes(label), `no text "${label}" in ${JSON.stringify(texts)}`);
    }
    // The x axis labels appear in run order, left to right.
    const xLabels = [...svg.matchAll(/<text[^>]*transform="translate\(([\d.]+),[\d.]+\)"[^>]*>(16|4|8)<\/text>/g)].map((m) => [Number(m[1]), m[2]] as const);
    assert.deepEqual(xLabels.sort((a, b) => a[0] - b[0]).map(([, label]) => label), ['8', '16', '4']);
  });
});

describe('labels and repeats', () => {
  const depth = (value: string, v: number, task = 'rte') => ({task, method: 'pt2', keyMetric: 'accuracy', sweepKey: 'prompt.depth', sweepValue: value, value: v});

  test('depth: the axis says which layers, null reads "all layers", never a raw key or null', async () => {
    for (const order of ['ascending', 'descending'] as const) {
      const r = buildSweepReport([depth('1', 0.5), depth('null', 0.7)], {title: 'd #1', depthOrder: order});
      const md = renderSweepMarkdown(r);
      assert.match(md, new RegExp(`PT-2 by layers with a prompt \\(${order}\\)`));
      assert.match(md, /\| Task \| 1 \| all layers \|/);
      assert.doesNotMatch(md, /null|prompt\.depth/);
      const svg = await renderSweepSvg(sweepPlotSpec(r));
      const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
      assert.ok(texts.includes(`layers with a prompt (${order})`), JSON.stringify(texts));
      assert.ok(texts.includes('all layers'));
      assert.ok(!texts.some((t) => t === 'null' || t.includes('prompt.depth')), JSON.stringify(texts));
    }
  });

  test('repeats: markdown shows mean ± std, the chart draws error bars from mean − std to mean + std', async () => {
    const r = buildSweepReport([depth('1', 0.5), depth('1', 0.7), depth('null', 0.8), depth('null', 0.8)], {title: 'd #2'});
    assert.match(renderSweepMarkdown(r), /mean ± std of the dev score[^]*\| rte \(accuracy\) \| 60\.0 ± 14\.1 \| \*\*80\.0\*\* ± 0\.0 \|/);
    const points = sweepPoints(r);
    assert.equal(points[0].y, 60);
    assert.ok(Math.abs(points[0].yLow! - (60 - 100 * Math.SQRT2 / 10)) < 1e-9 && Math.abs(points[0].yHigh! - (60 + 100 * Math.SQRT2 / 10)) < 1e-9);
    assert.equal(points[0].n, 2);
    const spec = sweepPlotSpec(r) as unknown as {layer: {mark: {type: string}; encoding: Record<string, {field: string; title?: string}>}[]};
    assert.deepEqual(spec.layer.map((l) => l.mark.type), ['line', 'errorbar']);
    assert.equal(spec.layer[0].encoding.y.title, 'mean dev accuracy (%)');
    assert.equal(spec.layer[1].encoding.y.field, 'yLow');
    assert.equal(spec.layer[1].encoding.y2.field, 'yHigh');
    const svg = await renderSweepSvg(spec as never);
    assert.ok((svg.match(/aria-roledescription="errorbar"/g) ?? []).length >= 2, "error bar marks drawn");
  });
});
