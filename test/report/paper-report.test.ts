/**
 * The report as the paper prints it: trainable share per method, an average row, best bold and
 * second underlined (ANSI in a terminal), several experiments merged into one table, `ptv2
 * experiments`, and `--compare paper` on runs recorded as BERT-large-shaped. Unit tests on the
 * renderers, then the built CLI against a database this test fills by hand.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';
import {comparePaper, loadPaperResults, paperModelOf, PAPER_RESULTS_FILE} from '../../src/report/paper.js';
import {averageRow, buildTaskMethodTable, mergeTables, renderMarkdown, renderPaperLayout, trainableShares} from '../../src/report/tables.js';
import {Store, type RunStart} from '../../src/store/index.js';
import {ptv2, ROOT} from '../helpers/cli.js';

const score = (task: string, method: string, value: number, keyMetric = 'accuracy') => ({task, method, keyMetric, value});

describe('the task × method table as the paper prints it', () => {
  const table = buildTaskMethodTable([score('rte', 'ft', 0.8), score('rte', 'pt', 0.6), score('rte', 'pt2', 0.7), score('cb', 'ft', 0.9), score('cb', 'pt', 0.5), score('cb', 'pt2', 0.9), score('wic', 'ft', 0.55)]);

  test('average over the tasks every method has; best bold and second underlined in it too', () => {
    assert.deepEqual(averageRow(table), {label: 'Average (2 tasks with every method)', values: ['85.0', '55.0', '80.0']});
    const md = renderMarkdown(table, {average: true, shares: ['100%', '0.012%', '0.45%']});
    assert.match(md, /\| rte \(accuracy\) \| \*\*80\.0\*\* \| 60\.0 \| <u>70\.0<\/u> \|/);
    assert.match(md, /\| cb \(accuracy\) \| \*\*90\.0\*\* \| <u>50\.0<\/u> \| \*\*90\.0\*\* \|/, 'ties share the bold; the next value is second');
    assert.match(md, /\| Average \(2 tasks with every method\) \| \*\*85\.0\*\* \| 55\.0 \| <u>80\.0<\/u> \|/);
    assert.match(md, /\| Trainable parameters \| 100% \| 0\.012% \| 0\.45% \|\n$/);
  });

  test('the paper\'s layout: a row per method with its share, a column per task and an average column, ranked per column', () => {
    assert.equal(
      renderPaperLayout(table, {shares: ['100%', '0.012%', '0.45%']}),
      [
        '| Method | Trainable | rte (accuracy) | cb (accuracy) | wic (accuracy) | Avg (2 tasks with every method) |',
        '| :--- | ---: | ---: | ---: | ---: | ---: |',
        '| FT | 100% | **80.0** | **90.0** | 55.0 | **85.0** |',
        '| PT | 0.012% | 60.0 | <u>50.0</u> | – | 55.0 |',
        '| PT-2 | 0.45% | <u>70.0</u> | **90.0** | – | <u>80.0</u> |',
        '',
      ].join('\n'),
    );
  });

  test('merging experiments: a cell one experiment has is its own; a cell several have is their mean ± std (n experiments)', () => {
    const a = buildTaskMethodTable([score('rte', 'pt2', 0.6), score('rte', 'ft', 0.8)]);
    const b = buildTaskMethodTable([score('rte', 'pt2', 0.8), score('cb', 'ptv1', 0.5)]);
    const merged = mergeTables([a, b], 'a + b');
    assert.deepEqual(merged.rows, ['rte', 'cb']);
    assert.deepEqual(merged.columns, ['ft', 'ptv1', 'pt2']);
    assert.deepEqual(merged.cells[0][0], {task: 'rte', method: 'ft', metric: 'accuracy', scale: 1, value: 0.8});
    const pt2 = merged.cells[0][2]!;
    assert.ok(Math.abs(pt2.value! - 0.7) < 1e-12 && Math.abs(pt2.std! - Math.sqrt(0.02)) < 1e-12 && pt2.n === 2, JSON.stringify(pt2));
    assert.equal(merged.cells[1][0], null);
    assert.match(renderMarkdown(merged), /\| rte \(accuracy\) \| \*\*80\.0\*\* \| – \| <u>70\.0<\/u> ± 14\.1 \|/);
  });

  test('ANSI: bold and underline escape codes, no Markdown emphasis or <u> tags', () => {
    const ansi = renderMarkdown(table, {average: true, style: 'ansi'});
    assert.ok(ansi.includes('| \u001b[1m80.0\u001b[22m | 60.0 | \u001b[4m70.0\u001b[24m |'), ansi);
    assert.doesNotMatch(ansi, /\*\*|<u>/);
  });

  test('trainable share per method: one figure, or the range over its runs; the shared MPT-2 stage left out', () => {
    const run = (method: string, trainable: number, total: number, stage = 'single') => ({method, stage, trainableParams: trainable, totalParams: total});
    assert.deepEqual(
      trainableShares(['ft', 'pt', 'pt2', 'mpt2', 'prefix'], [run('ft', 1000, 1000), run('pt', 12, 100_000), run('pt2', 450, 100_000), run('pt2', 800, 100_000), run('mpt2', 450, 100_000), run('mpt2', 99_999, 100_000, 'shared')]),
      ['100%', '0.012%', '0.45–0.80%', '0.45%', '–'],
    );
  });
});

describe('published numbers (data/paper-results.json)', () => {
  const paper = loadPaperResults();

  test('every stored number names its source, table, row and column; the models are the paper\'s architectures', () => {
    assert.ok(PAPER_RESULTS_FILE.endsWith(path.join('data', 'paper-results.json')));
    assert.ok(paper.results.length > 0);
    for (const r of paper.results) {
      assert.ok(paper.sources[r.source]?.url.startsWith('https://github.com/THUDM/P-tuning-v2/'), r.source);
      for (const key of ['table', 'row', 'column', 'task', 'method', 'metric'] as const) assert.ok(r[key], `${key} of ${JSON.stringify(r)}`);
      assert.ok(paper.models.some((m) => m.name === r.model), r.model);
      assert.ok(r.value > 0 && r.value <= 100);
    }
    assert.equal(paperModelOf({model_type: 'bert', layers: 24, hidden: 1024}, paper.models)?.label, 'BERT-large');
    assert.equal(paperModelOf({model_type: 'roberta', layers: 24, hidden: 1024}, paper.models)?.label, 'RoBERTa-large');
    assert.equal(paperModelOf({model_type: 'bert', layers: 2, hidden: 64}, paper.models), undefined);
  });

  test('a cell is compared only when its runs match one paper model and the task, method and metric have a number', () => {
    const table = buildTaskMethodTable([score('rte', 'pt2', 0.75), score('rte', 'ft', 0.9), score('cb', 'pt2', 0.8)]);
    const large = {model_type: 'bert', layers: 24, hidden: 1024};
    const small = {model_type: 'bert', layers: 2, hidden: 64};
    const cells = comparePaper(table, (task) => (task === 'rte' ? [large] : [large]), 'dev', paper);
    const rte = cells[0][table.columns.indexOf('pt2')]!;
    const published = paper.results.find((r) => r.model === 'bert-large' && r.task === 'rte' && r.method === 'pt2')!;
    assert.equal(rte.result, published);
    assert.ok(Math.abs(rte.diff - (75 - published.value)) < 1e-9);
    assert.equal(cells[0][table.columns.indexOf('ft')], null, 'no FT number is stored');
    assert.equal(cells[1][table.columns.indexOf('pt2')], null, 'no CB number is stored');
    assert.equal(comparePaper(table, () => [small], 'dev', paper)[0][table.columns.indexOf('pt2')], null, 'a small model matches no row');
    assert.equal(comparePaper(table, () => [large, small], 'dev', paper)[0][table.columns.indexOf('pt2')], null, 'mixed models match none');
  });
});

/** A run with dev accuracy `value`, its architecture recorded as a run does. */
function addRun(store: Store, experimentId: number, task: string, method: string, value: number, opts: {architecture?: object; trainable?: number; total?: number} = {}): void {
  const start: RunStart = {
    experimentId, task, method, seed: 1, backend: 'wasm', keyMetric: 'accuracy',
    trainableParams: opts.trainable ?? (method === 'ft' ? 1000 : 10), totalParams: opts.total ?? 1000,
    params: {model: {architecture: opts.architecture ?? {model_type: 'bert', layers: 2, hidden: 64}}, task: {metric_scale: 1}},
  };
  const id = store.startRun(start);
  store.recordMetrics(id, [{epoch: 1, step: 1, split: 'dev', name: 'accuracy', value}]);
  store.finishRun(id, {status: 'completed', bestEpoch: 1, bestValue: value});
}

describe('ptv2 report and ptv2 experiments (built CLI)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-paper-report-'));
  const db = path.join(dir, 'ptv2.db');
  const store = Store.open(db);
  const main = store.createExperiment({name: 'superglue', configText: 'name: superglue\n'});
  addRun(store, main, 'rte', 'ft', 0.7, {architecture: {model_type: 'bert', layers: 24, hidden: 1024}, trainable: 335_000_000, total: 335_000_000});
  addRun(store, main, 'rte', 'pt2', 0.75, {architecture: {model_type: 'bert', layers: 24, hidden: 1024}, trainable: 983_040, total: 335_983_040});
  addRun(store, main, 'boolq', 'ft', 0.6, {architecture: {model_type: 'bert', layers: 24, hidden: 1024}, trainable: 335_000_000, total: 335_000_000});
  addRun(store, main, 'boolq', 'pt2', 0.8, {architecture: {model_type: 'bert', layers: 24, hidden: 1024}, trainable: 983_040, total: 335_983_040});
  store.finishExperiment(main, 'completed');
  const extra = store.createExperiment({name: 'ptv1-only', configText: 'name: ptv1-only\n'});
  addRun(store, extra, 'rte', 'ptv1', 0.65);
  addRun(store, extra, 'boolq', 'ptv1', 0.55);
  store.finishExperiment(extra, 'completed');
  // The first experiment again with another seed: the same cells, one of them different.
  const again = store.createExperiment({name: 'superglue-seed2', configText: 'name: superglue-seed2\n'});
  addRun(store, again, 'rte', 'pt2', 0.85, {architecture: {model_type: 'bert', layers: 24, hidden: 1024}});
  store.finishExperiment(again, 'completed');
  store.close();
  const paper = loadPaperResults();
  const published = (task: string) => paper.results.find((r) => r.model === 'bert-large' && r.method === 'pt2' && r.task === task)!.value;

  test('--experiment A,B merges experiments into one table, with the shares and the average', () => {
    const r = ptv2(['report', '--db', db, '--experiment', 'superglue,ptv1-only'], ROOT);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /## superglue #1 \+ ptv1-only #2 \(best dev score\)/);
    assert.match(r.stdout, /\| Task \| FT \| P-tuning \| PT-2 \|/);
    assert.match(r.stdout, /\| rte \(accuracy\) \| <u>70\.0<\/u> \| 65\.0 \| \*\*75\.0\*\* \|/);
    assert.match(r.stdout, /\| Average \| <u>65\.0<\/u> \| 60\.0 \| \*\*77\.5\*\* \|/);
    assert.match(r.stdout, /\| Trainable parameters \| 100% \| 1\.00% \| 0\.29% \|/);
    assert.ok(!r.stdout.includes('\u001b['), 'no ANSI codes when stdout is a pipe');
    const colored = ptv2(['report', '--db', db, '--experiment', 'superglue', '--color'], ROOT);
    assert.ok(colored.stdout.includes('| \u001b[4m70.0\u001b[24m | \u001b[1m75.0\u001b[22m |'), colored.stdout);
    const paperLayout = ptv2(['report', '--db', db, '--experiment', 'superglue,ptv1-only', '--layout', 'paper'], ROOT);
    assert.match(paperLayout.stdout, /\| Method \| Trainable \| rte \(accuracy\) \| boolq \(accuracy\) \| Avg \|\n\| :--- \| ---: \| ---: \| ---: \| ---: \|\n\| FT \| 100% \| <u>70\.0<\/u> \| <u>60\.0<\/u> \| <u>65\.0<\/u> \|\n\| P-tuning \| 1\.00% \| 65\.0 \| 55\.0 \| 60\.0 \|\n\| PT-2 \| 0\.29% \| \*\*75\.0\*\* \| \*\*80\.0\*\* \| \*\*77\.5\*\* \|/);
    const repeats = ptv2(['report', '--db', db, '--experiment', 'superglue,superglue-seed2'], ROOT);
    assert.match(repeats.stdout, /## superglue #1 \+ superglue-seed2 #3 \(best dev score; mean ± std of the experiments where several have a cell\)/);
    assert.match(repeats.stdout, /\| rte \(accuracy\) \| <u>70\.0<\/u> \| \*\*80\.0\*\* ± 7\.1 \|/);
    const unknown = ptv2(['report', '--db', db, '--experiment', 'superglue,nope'], ROOT);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no experiment "nope"[^]*known experiments: superglue-seed2, ptv1-only, superglue/);
  });

  test('--compare paper: the published number and the difference beside each BERT-large PT-2 cell; nothing beside a small model\'s', () => {
    const r = ptv2(['report', '--db', db, '--experiment', 'superglue,ptv1-only', '--compare', 'paper'], ROOT);
    assert.equal(r.code, 0, r.stderr);
    const diff = (ours: number, theirs: number) => {
      const d = (ours - theirs).toFixed(1);
      return ours > theirs ? `+${d}` : d;
    };
    assert.ok(r.stdout.includes(`**75.0** (paper ${published('rte').toFixed(1)}, ${diff(75, published('rte'))})`), r.stdout);
    assert.ok(r.stdout.includes(`**80.0** (paper ${published('boolq').toFixed(1)}, ${diff(80, published('boolq'))})`), r.stdout);
    assert.match(r.stdout, /\| rte \(accuracy\) \| <u>70\.0<\/u> \| 65\.0 \|/, 'FT and the 2-layer P-tuning runs have no published number');
    const json = JSON.parse(ptv2(['report', '--db', db, '--experiment', 'superglue', '--compare', 'paper', '--format', 'json'], ROOT).stdout) as {task: string; method: string; paper?: {value: number; model: string; table: string}}[];
    const rte = json.find((e) => e.task === 'rte' && e.method === 'pt2')!;
    assert.deepEqual([rte.paper?.value, rte.paper?.model, rte.paper?.table], [published('rte'), 'BERT-large', 'Released results on BERT-large']);
    assert.equal(json.find((e) => e.method === 'ft')!.paper, undefined);
  });

  test('ptv2 experiments lists name, id, date, status, runs and database; --json too', () => {
    const r = ptv2(['experiments', '--db', db], ROOT);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], '| Name | Id | Date | Status | Runs | Database |');
    assert.match(lines[2], /^\| superglue-seed2 \| 3 \| .* \| completed \| 1\/1 completed \|/);
    assert.match(lines[3], new RegExp(`^\\| ptv1-only \\| 2 \\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\| completed \\| 2/2 completed \\| ${db.replaceAll('/', '\\/')} \\|$`));
    assert.match(lines[4], /^\| superglue \| 1 \| .* \| completed \| 4\/4 completed \|/);
    const json = JSON.parse(ptv2(['experiments', '--db', db, '--json'], ROOT).stdout) as {name: string; id: number; status: string; runs: {total: number; completed: number}; database: string}[];
    assert.deepEqual(json.map((e) => [e.name, e.id, e.status, e.runs.total, e.runs.completed, e.database]), [['superglue-seed2', 3, 'completed', 1, 1, db], ['ptv1-only', 2, 'completed', 2, 2, db], ['superglue', 1, 'completed', 4, 4, db]]);
    const missing = ptv2(['experiments', '--db', path.join(dir, 'none.db')], ROOT);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /none\.db: no database here yet/);
  });
});
