/**
 * Tests for the per-run listing of `ptv2 report --runs`: joining runs with their best dev and test
 * scores, and the Markdown, CSV (RFC 4180) and JSON renderings. Rows are built by hand in the shape
 * the store returns them (src/store/index.ts), so the expected text is computed here, not by the code.
 */

import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {buildRunSummaries, renderRunsCsv, renderRunsJson, renderRunsMarkdown, type RunSummary} from '../../src/report/runs.js';
import type {BestScoreRow, RunRow} from '../../src/store/index.js';

function runRow(fields: Partial<RunRow> & Pick<RunRow, 'id' | 'task' | 'method'>): RunRow {
  return {
    experimentId: 1,
    stage: 'single',
    sweepKey: null,
    sweepValue: null,
    params: {},
    seed: 42,
    backend: 'cpu',
    modelPath: null,
    trainableParams: 110_000,
    totalParams: 110_000,
    keyMetric: 'accuracy',
    status: 'completed',
    error: null,
    bestEpoch: null,
    bestValue: null,
    pid: null,
    host: null,
    heartbeatAt: null,
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: null,
    seconds: null,
    ...fields,
  };
}

/** A best-score row for a run, as `Store.bestScores` returns it (task fields copied from the run). */
function scoreOf(run: RunRow, value: number | null, epoch: number | null, metricScale = 1): BestScoreRow {
  return {
    runId: run.id,
    task: run.task,
    method: run.method,
    stage: run.stage,
    sweepKey: run.sweepKey,
    sweepValue: run.sweepValue,
    keyMetric: run.keyMetric,
    value,
    epoch,
    status: run.status,
    metricScale,
  };
}

// Three runs: a fine-tuned classifier, a SQuAD sweep point whose scorer reports percentages, and a
// sweep point that failed before its first evaluation.
const RTE_FT = runRow({id: 1, task: 'rte', method: 'ft', params: {truncated: {train: 0, dev: 0}}});
const SQUAD_PT2 = runRow({
  id: 2,
  task: 'squad',
  method: 'pt2',
  sweepKey: 'prompt.length',
  sweepValue: '16',
  keyMetric: 'f1',
  trainableParams: 1234,
  params: {truncated: {train: 12, dev: 1, test: 0}},
});
const RTE_PT2_FAILED = runRow({
  id: 3,
  task: 'rte',
  method: 'pt2',
  sweepKey: 'train.lr',
  sweepValue: '0.01',
  status: 'failed',
  trainableParams: 0,
  totalParams: 0,
});
const RUNS = [RTE_FT, SQUAD_PT2, RTE_PT2_FAILED];
// The store gives every run a dev row (LEFT JOIN), with nulls when nothing was recorded; listed out of
// run order so that joining by position would fail.
const DEV = [scoreOf(RTE_PT2_FAILED, null, null), scoreOf(SQUAD_PT2, 55.25, 2, 100), scoreOf(RTE_FT, 0.734, 3)];
const TEST = [scoreOf(SQUAD_PT2, 54.04, 2, 100), scoreOf(RTE_FT, 0.701, 3)];

const SUMMARIES: RunSummary[] = [
  {
    run: 1, task: 'rte', method: 'ft', stage: 'single', sweep: null, status: 'completed', keyMetric: 'accuracy',
    bestEpoch: 3, dev: 0.734, test: 0.701, metricScale: 1, trainableParams: 110_000, totalParams: 110_000,
    truncated: {train: 0, dev: 0},
  },
  {
    run: 2, task: 'squad', method: 'pt2', stage: 'single', sweep: 'prompt.length=16', status: 'completed', keyMetric: 'f1',
    bestEpoch: 2, dev: 55.25, test: 54.04, metricScale: 100, trainableParams: 1234, totalParams: 110_000,
    truncated: {train: 12, dev: 1, test: 0},
  },
  {
    run: 3, task: 'rte', method: 'pt2', stage: 'single', sweep: 'train.lr=0.01', status: 'failed', keyMetric: 'accuracy',
    bestEpoch: null, dev: null, test: null, metricScale: 1, trainableParams: 0, totalParams: 0,
    truncated: {},
  },
];

describe('buildRunSummaries', () => {
  test('dev and test values and the best epoch are joined by run id, in run order', () => {
    assert.deepEqual(buildRunSummaries(RUNS, DEV, TEST), SUMMARIES);
  });

  test('a run with no score rows at all gets nulls, and scale 1', () => {
    const [summary] = buildRunSummaries([RTE_FT], [], []);
    assert.equal(summary.bestEpoch, null);
    assert.equal(summary.dev, null);
    assert.equal(summary.test, null);
    assert.equal(summary.metricScale, 1);
  });

  test('a score of 0 at epoch 0 is a value, not a missing one', () => {
    const [summary] = buildRunSummaries([RTE_FT], [scoreOf(RTE_FT, 0, 0)], [scoreOf(RTE_FT, 0, 0)]);
    assert.equal(summary.bestEpoch, 0);
    assert.equal(summary.dev, 0);
    assert.equal(summary.test, 0);
  });

  test('scores of other runs are not picked up', () => {
    const [summary] = buildRunSummaries([RTE_FT], [scoreOf(SQUAD_PT2, 55.25, 2, 100)], [scoreOf(SQUAD_PT2, 54.04, 2, 100)]);
    assert.deepEqual([summary.dev, summary.test, summary.bestEpoch, summary.metricScale], [null, null, null, 1]);
  });

  test('the metric scale comes from the dev row', () => {
    const [summary] = buildRunSummaries([SQUAD_PT2], [scoreOf(SQUAD_PT2, null, null, 100)], []);
    assert.equal(summary.metricScale, 100);
  });

  test('without a dev row the scale comes from the test row', () => {
    const [summary] = buildRunSummaries([SQUAD_PT2], [], [scoreOf(SQUAD_PT2, 54.04, 2, 100)]);
    assert.deepEqual([summary.test, summary.metricScale], [54.04, 100]);
  });

  test('sweep text is key=value; runs outside a sweep have none', () => {
    const sweeps = buildRunSummaries(
      [RTE_FT, runRow({id: 9, task: 'rte', method: 'pt2', sweepKey: 'prompt.layers', sweepValue: '0,6'})],
      [],
      [],
    ).map((s) => s.sweep);
    assert.deepEqual(sweeps, [null, 'prompt.layers=0,6']);
  });

  const TRUNCATION_CASES: {name: string; params: Record<string, unknown>; expected: Record<string, number>}[] = [
    {name: 'counts per split as stored', params: {truncated: {train: 12, dev: 1, test: 0}}, expected: {train: 12, dev: 1, test: 0}},
    {name: 'non-numbers are ignored', params: {truncated: {train: 5, dev: '3', test: null}}, expected: {train: 5}},
    {
      name: 'an MPT-2 shared run: one mapping per task, one level deep',
      params: {truncated: {rte: {train: 2, dev: 0}, squad: {train: 1, deeper: {n: 1}}}},
      expected: {'rte.train': 2, 'rte.dev': 0, 'squad.train': 1},
    },
    {name: 'missing', params: {}, expected: {}},
    {name: 'null', params: {truncated: null}, expected: {}},
    {name: 'not an object', params: {truncated: 17}, expected: {}},
  ];
  for (const {name, params, expected} of TRUNCATION_CASES) {
    test(`truncated: ${name}`, () => {
      const [summary] = buildRunSummaries([runRow({id: 1, task: 'rte', method: 'ft', params})], [], []);
      assert.deepEqual(summary.truncated, expected);
    });
  }
});

describe('renderRunsMarkdown', () => {
  test('one row per run: percentages on each run’s own scale, trainable share, truncation, dashes', () => {
    // squad dev 55.25 on scale 100 is 55.25% and rounds half up to 55.3 (toFixed of 55.25, exact in
    // binary); test 54.04 → 54.0. Trainable 1234 / 110000 = 1.1218…% → 1.12%.
    const expected = [
      '## demo #1 (runs)',
      '',
      '| Run | Task | Method | Sweep | Status | Metric | Epoch | Dev | Test | Trainable | Truncated |',
      '| ---: | :--- | :--- | :--- | :--- | :--- | ---: | ---: | ---: | ---: | :--- |',
      '| 1 | rte | FT | – | completed | accuracy | 3 | 73.4 | 70.1 | 100.00% | 0 |',
      '| 2 | squad | PT-2 | prompt.length=16 | completed | f1 | 2 | 55.3 | 54.0 | 1.12% | 12 train, 1 dev |',
      '| 3 | rte | PT-2 | train.lr=0.01 | failed | accuracy | – | – | – | – | 0 |',
      '',
    ].join('\n');
    assert.equal(renderRunsMarkdown('demo #1 (runs)', buildRunSummaries(RUNS, DEV, TEST)), expected);
  });

  test('pipes in task and sweep text are escaped', () => {
    const rows = buildRunSummaries([runRow({id: 4, task: 'a|b', method: 'ft', sweepKey: 'k', sweepValue: 'x|y'})], [], []);
    const line = renderRunsMarkdown('t', rows).split('\n')[4];
    assert.equal(line, '| 4 | a\\|b | FT | k=x\\|y | completed | accuracy | – | – | – | 100.00% | 0 |');
  });
});

describe('renderRunsCsv', () => {
  test('raw values, one truncated_<split> column per split seen, empty where missing, CRLF', () => {
    const expected = [
      'run,task,method,stage,sweep,status,metric,scale,best_epoch,dev,test,trainable_params,total_params,truncated_train,truncated_dev,truncated_test',
      '1,rte,ft,single,,completed,accuracy,1,3,0.734,0.701,110000,110000,0,0,',
      '2,squad,pt2,single,prompt.length=16,completed,f1,100,2,55.25,54.04,1234,110000,12,1,0',
      '3,rte,pt2,single,train.lr=0.01,failed,accuracy,1,,,,0,0,,,',
      '',
    ].join('\r\n');
    assert.equal(renderRunsCsv(buildRunSummaries(RUNS, DEV, TEST)), expected);
  });

  test('RFC 4180: fields with commas or quotes are quoted, quotes doubled', () => {
    const run = runRow({id: 5, task: 'mnli, "matched"', method: 'pt2', sweepKey: 'prompt.layers', sweepValue: '0,6'});
    assert.equal(
      renderRunsCsv(buildRunSummaries([run], [scoreOf(run, 0.5, 1)], [])),
      'run,task,method,stage,sweep,status,metric,scale,best_epoch,dev,test,trainable_params,total_params\r\n' +
        '5,"mnli, ""matched""",pt2,single,"prompt.layers=0,6",completed,accuracy,1,1,0.5,,110000,110000\r\n',
    );
  });
});

describe('renderRunsJson', () => {
  test('parses back to the summaries', () => {
    const summaries = buildRunSummaries(RUNS, DEV, TEST);
    const text = renderRunsJson(summaries);
    assert.ok(text.endsWith('}\n]\n'));
    assert.deepEqual(JSON.parse(text), summaries);
    assert.deepEqual(JSON.parse(text), SUMMARIES);
  });
});
