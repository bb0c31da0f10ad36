/**
 * Tests for the report's task × method table: building (column order, best of duplicates, metric
 * scale) and the Markdown, CSV and JSON renderings.
 */

import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {
  buildTaskMethodTable,
  meanAndStd,
  methodHeader,
  renderCsv,
  renderJson,
  renderMarkdown,
  type TaskMethodScore,
} from '../../src/report/tables.js';

function score(task: string, method: string, value: number | null, keyMetric = 'accuracy'): TaskMethodScore {
  return {task, method, keyMetric, value};
}

/** A score from a scorer that reports percentages (SQuAD EM and F1). */
function percentScore(task: string, method: string, value: number | null, keyMetric = 'f1'): TaskMethodScore {
  return {task, method, keyMetric, value, metricScale: 100};
}

const SUPERGLUE: TaskMethodScore[] = [
  score('rte', 'pt2', 0.734),
  score('rte', 'ft', 0.701),
  score('rte', 'pt', 0.532),
  score('rte', 'pt2', 0.72),
  score('cb', 'ft', 0.9, 'f1'),
  score('cb', 'pt2', 0.95, 'f1'),
  score('cb', 'mpt2', 0.95, 'f1'),
  score('cb', 'lora', 0.5, 'f1'),
  score('boolq', 'pt', null),
];

describe('buildTaskMethodTable', () => {
  const CASES: {name: string; input: {methods: string[]; methodOrder?: string[]}; expected: string[]}[] = [
    {
      name: 'paper order first, then others alphabetically',
      input: {methods: ['zeta', 'mpt2', 'pt2', 'alpha', 'prefix', 'ptv1', 'pt', 'ft']},
      expected: ['ft', 'pt', 'ptv1', 'prefix', 'pt2', 'mpt2', 'alpha', 'zeta'],
    },
    {
      name: 'only methods that were run get a column',
      input: {methods: ['pt2', 'ft']},
      expected: ['ft', 'pt2'],
    },
    {
      name: 'a given order replaces the default; unlisted methods follow alphabetically',
      input: {methods: ['ft', 'pt2', 'pt', 'lora'], methodOrder: ['pt2', 'ft']},
      expected: ['pt2', 'ft', 'lora', 'pt'],
    },
  ];
  for (const {name, input, expected} of CASES) {
    test(`columns: ${name}`, () => {
      const scores = input.methods.map((method) => score('rte', method, 0.5));
      assert.deepEqual(buildTaskMethodTable(scores, {methodOrder: input.methodOrder}).columns, expected);
    });
  }

  test('rows follow first appearance; duplicates keep the best value; unrun pairs are null', () => {
    const table = buildTaskMethodTable([...SUPERGLUE, score('boolq', 'pt', 0.6), score('boolq', 'pt', null)]);
    assert.deepEqual(table.rows, ['rte', 'cb', 'boolq']);
    assert.deepEqual(table.columns, ['ft', 'pt', 'pt2', 'mpt2', 'lora']);
    assert.deepEqual(table.cells[0][2], {task: 'rte', method: 'pt2', value: 0.734, metric: 'accuracy', scale: 1});
    assert.equal(table.cells[0][3], null);
    assert.deepEqual(table.cells[2][1], {task: 'boolq', method: 'pt', value: 0.6, metric: 'accuracy', scale: 1});
    assert.equal(table.title, '');
  });

  test('display headers', () => {
    assert.deepEqual(
      ['ft', 'pt', 'ptv1', 'prefix', 'pt2', 'mpt2', 'lora'].map(methodHeader),
      ['FT', 'PT', 'P-tuning', 'Prefix', 'PT-2', 'MPT-2', 'lora'],
    );
  });
});

describe('renderMarkdown', () => {
  test('percentages, best bold (ties included), second underlined, missing as a dash', () => {
    const table = buildTaskMethodTable(SUPERGLUE, {title: 'SuperGLUE dev'});
    const expected = [
      '## SuperGLUE dev',
      '',
      '| Task | FT | PT | PT-2 | MPT-2 | lora |',
      '| :--- | ---: | ---: | ---: | ---: | ---: |',
      '| rte (accuracy) | <u>70.1</u> | 53.2 | **73.4** | – | – |',
      '| cb (f1) | <u>90.0</u> | – | **95.0** | **95.0** | 50.0 |',
      '| boolq (accuracy) | – | – | – | – | – |',
      '',
    ].join('\n');
    assert.equal(renderMarkdown(table), expected);
  });

  test('ranks on the shown values; a lone value stays plain; pipes in task names are escaped', () => {
    const table = buildTaskMethodTable([
      score('a|b', 'ft', 0.80012),
      score('a|b', 'pt2', 0.79996),
      score('a|b', 'pt', 0.7),
      score('close', 'ft', 0.8012),
      score('close', 'pt2', 0.7996),
      score('close', 'pt', 0.7),
      score('solo', 'ft', 0.5),
    ]);
    const expected = [
      '| Task | FT | PT | PT-2 |',
      '| :--- | ---: | ---: | ---: |',
      '| a\\|b (accuracy) | **80.0** | <u>70.0</u> | **80.0** |',
      '| close (accuracy) | **80.1** | 70.0 | <u>80.0</u> |',
      '| solo (accuracy) | 50.0 | – | – |',
      '',
    ].join('\n');
    assert.equal(renderMarkdown(table), expected);
  });
});

describe('renderCsv', () => {
  test('raw values, RFC 4180 quoting of commas and quotes, empty where missing', () => {
    const table = buildTaskMethodTable([
      score('mnli, matched', 'pt2', 0.85),
      score('mnli, matched', 'ft', 0.8),
      score('say "hi"', 'pt2', 0.5, 'f1'),
    ]);
    assert.equal(
      renderCsv(table),
      'task,metric,scale,ft,pt2\r\n"mnli, matched",accuracy,1,0.8,0.85\r\n"say ""hi""",f1,1,,0.5\r\n',
    );
  });
});

describe('renderJson', () => {
  test('one object per valued cell, and the table rebuilds from it', () => {
    const complete = SUPERGLUE.filter((s) => s.value !== null);
    const table = buildTaskMethodTable(complete, {title: 'SuperGLUE dev'});
    const parsed = JSON.parse(renderJson(table)) as {task: string; method: string; metric: string; value: number}[];
    assert.deepEqual(parsed, [
      {task: 'rte', method: 'ft', metric: 'accuracy', value: 0.701, scale: 1},
      {task: 'rte', method: 'pt', metric: 'accuracy', value: 0.532, scale: 1},
      {task: 'rte', method: 'pt2', metric: 'accuracy', value: 0.734, scale: 1},
      {task: 'cb', method: 'ft', metric: 'f1', value: 0.9, scale: 1},
      {task: 'cb', method: 'pt2', metric: 'f1', value: 0.95, scale: 1},
      {task: 'cb', method: 'mpt2', metric: 'f1', value: 0.95, scale: 1},
      {task: 'cb', method: 'lora', metric: 'f1', value: 0.5, scale: 1},
    ]);
    const rebuilt = buildTaskMethodTable(
      parsed.map(({task, method, metric, value}) => ({task, method, keyMetric: metric, value})),
      {title: 'SuperGLUE dev'},
    );
    assert.deepEqual(rebuilt, table);
  });

  test('cells without a value are left out', () => {
    const table = buildTaskMethodTable([score('boolq', 'pt', null), score('boolq', 'ft', 0.6)]);
    assert.deepEqual(JSON.parse(renderJson(table)), [{task: 'boolq', method: 'ft', metric: 'accuracy', value: 0.6, scale: 1}]);
  });
});

describe('metric scale', () => {
  // rte reports fractions; squad's scorer reports percentages, so 71.4 there is 71.4%, not 7140%.
  const MIXED: TaskMethodScore[] = [
    score('rte', 'ft', 0.701),
    score('rte', 'pt2', 0.734),
    percentScore('squad', 'ft', 70.9),
    percentScore('squad', 'pt2', 71.4),
    percentScore('squad', 'pt', 70.94),
  ];

  test('a cell keeps the scale of its score; a score without one is a fraction', () => {
    const table = buildTaskMethodTable(MIXED);
    assert.deepEqual(table.cells[1][2], {task: 'squad', method: 'pt2', value: 71.4, metric: 'f1', scale: 100});
    assert.equal(table.cells[0][0]?.scale, 1);
  });

  test('markdown shows each cell as a percentage of its own scale and ranks on the shown text', () => {
    // squad: 71.4 first; 70.9 and 70.94 both print 70.9, so both are second.
    const expected = [
      '| Task | FT | PT | PT-2 |',
      '| :--- | ---: | ---: | ---: |',
      '| rte (accuracy) | <u>70.1</u> | – | **73.4** |',
      '| squad (f1) | <u>70.9</u> | <u>70.9</u> | **71.4** |',
      '',
    ].join('\n');
    assert.equal(renderMarkdown(buildTaskMethodTable(MIXED)), expected);
  });

  test('cells of one row on different scales rank by the shown percentage, not the raw value', () => {
    // Raw 70.9 > 0.714, but shown 70.9 < 71.4: the fraction cell is the best.
    const table = buildTaskMethodTable([percentScore('squad', 'pt2', 70.9), {...percentScore('squad', 'ft', 0.714), metricScale: 1}]);
    assert.equal(renderMarkdown(table).split('\n')[2], '| squad (f1) | **71.4** | <u>70.9</u> |');
  });

  test('a percentage half-way between two shown values rounds up: 55.25 on scale 100 is 55.3', () => {
    const table = buildTaskMethodTable([percentScore('squad', 'ft', 55.25)]);
    assert.equal(renderMarkdown(table).split('\n')[2], '| squad (f1) | 55.3 |');
  });

  test('CSV keeps the raw stored values', () => {
    assert.equal(renderCsv(buildTaskMethodTable(MIXED)), 'task,metric,scale,ft,pt,pt2\r\nrte,accuracy,1,0.701,,0.734\r\nsquad,f1,100,70.9,70.94,71.4\r\n');
  });

  test('JSON keeps the raw stored values', () => {
    assert.deepEqual(JSON.parse(renderJson(buildTaskMethodTable(MIXED))), [
      {task: 'rte', method: 'ft', metric: 'accuracy', value: 0.701, scale: 1},
      {task: 'rte', method: 'pt2', metric: 'accuracy', value: 0.734, scale: 1},
      {task: 'squad', method: 'ft', metric: 'f1', value: 70.9, scale: 100},
      {task: 'squad', method: 'pt', metric: 'f1', value: 70.94, scale: 100},
      {task: 'squad', method: 'pt2', metric: 'f1', value: 71.4, scale: 100},
    ]);
  });
});

describe('mean ± std over repeated runs (seeds)', () => {
  // rte/ft over three seeds: 0.70, 0.74, 0.72 → mean 0.72, sample std 0.02.
  // rte/pt2: 0.60, 0.64 → mean 0.62, std sqrt(((-0.02)^2 + 0.02^2) / 1) = 0.028284…
  // squad/pt2 (percent): 50, 54 → mean 52, std 2.828…
  const SEEDS = [
    score('rte', 'ft', 0.7),
    score('rte', 'ft', 0.74),
    score('rte', 'ft', 0.72),
    score('rte', 'pt2', 0.6),
    score('rte', 'pt2', 0.64),
    score('rte', 'pt2', null),
    percentScore('squad', 'pt2', 50),
    percentScore('squad', 'pt2', 54),
  ];

  test('meanAndStd: the sample standard deviation, 0 for one value', () => {
    const {value, std} = meanAndStd([0.7, 0.74, 0.72]);
    assert.ok(Math.abs(value - 0.72) < 1e-12 && Math.abs(std - 0.02) < 1e-12, `${value} ± ${std}`);
    assert.deepEqual(meanAndStd([3]), {value: 3, std: 0});
  });

  test('cells hold the mean, std and count of the runs that have a value; best is the default', () => {
    const table = buildTaskMethodTable(SEEDS, {aggregate: 'mean'});
    const [ft, pt2] = table.cells[0];
    assert.ok(Math.abs(ft!.value! - 0.72) < 1e-12 && Math.abs(ft!.std! - 0.02) < 1e-12 && ft!.n === 3);
    assert.ok(Math.abs(pt2!.value! - 0.62) < 1e-12 && Math.abs(pt2!.std! - Math.sqrt(0.0008)) < 1e-12 && pt2!.n === 2);
    assert.equal(buildTaskMethodTable(SEEDS).cells[0][0]!.value, 0.74);
  });

  test('markdown shows mean ± std in percent of each cell\'s scale, ranking by the mean', () => {
    assert.equal(
      renderMarkdown(buildTaskMethodTable(SEEDS, {aggregate: 'mean'})),
      [
        '| Task | FT | PT-2 |',
        '| :--- | ---: | ---: |',
        '| rte (accuracy) | **72.0** ± 2.0 | <u>62.0</u> ± 2.8 |',
        '| squad (f1) | – | 52.0 ± 2.8 |',
        '',
      ].join('\n'),
    );
  });

  test('CSV adds <method>_std and <method>_n columns; JSON adds std and n', () => {
    const table = buildTaskMethodTable([score('rte', 'ft', 0.7), score('rte', 'ft', 0.74)], {aggregate: 'mean'});
    const std = table.cells[0][0]!.std!;
    assert.ok(Math.abs(std - Math.sqrt(0.0008)) < 1e-12);
    assert.equal(renderCsv(table), `task,metric,scale,ft,ft_std,ft_n\r\nrte,accuracy,1,${(0.7 + 0.74) / 2},${std},2\r\n`);
    assert.deepEqual(JSON.parse(renderJson(table)), [{task: 'rte', method: 'ft', metric: 'accuracy', value: (0.7 + 0.74) / 2, scale: 1, std, n: 2}]);
  });
});
