/**
 * The dashboard in a real headless Chromium: experiments trained by the built CLI, the list, an
 * experiment, a learning-curve view across experiments, a live experiment while another process
 * trains, and the self-contained `ptv2 report --format html` file. Table cells are compared with
 * the store's numbers, charts must have drawn marks, and the console must stay free of errors.
 * Screenshots go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import type {Browser, Page} from 'puppeteer-core';
import {startDashboard, type Dashboard} from '../../src/dashboard/server.js';
import {Store} from '../../src/store/index.js';
import {percent} from '../../src/report/tables.js';
import {artifactDir, launchChromium, skipWithoutChromium, watchedPage} from '../helpers/browser.js';
import {ptv2, ROOT, tinyConfig, tinyExperimentHeader} from '../helpers/cli.js';

const skip = skipWithoutChromium();
if (skip) console.log(`# skipping the dashboard browser tests: ${skip}`);

/** Cells of a table as text, keyed by row label then column header. */
async function tableCells(page: Page, selector: string): Promise<Record<string, Record<string, string>>> {
  return page.$$eval(`${selector} td[data-row]`, (cells) => {
    const out: Record<string, Record<string, string>> = {};
    for (const cell of cells) {
      const row = cell.getAttribute('data-row')!;
      (out[row] ??= {})[cell.getAttribute('data-column')!] = cell.textContent!;
    }
    return out;
  });
}

/** Every chart on the page has an SVG with drawn marks (paths of line, symbol or rule marks). */
async function assertChartsDrawn(page: Page, min: number): Promise<void> {
  const counts = await page.$$eval('.chart', (charts) => charts.map((c) => c.querySelectorAll('svg g.mark-line path, svg g.mark-symbol path, svg g.mark-rule line').length));
  assert.ok(counts.length >= min, `expected ${min} charts, found ${counts.length}`);
  for (const n of counts) assert.ok(n > 0, `a chart drew no marks: ${JSON.stringify(counts)}`);
}

async function show(page: Page, url: string): Promise<void> {
  await page.goto(url, {waitUntil: 'load'});
  await page.waitForFunction('Number(document.body.dataset.rendered) > 0', {timeout: 20_000});
}

describe('ptv2 ui in Chromium', {skip}, () => {
  let dir: string;
  let db: string;
  let dashboard: Dashboard;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  const shots = artifactDir();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-ui-browser-'));
    db = path.join(dir, 'ptv2.db');
    for (const name of ['first', 'second']) {
      const r = ptv2(['run', tinyConfig(dir, name), '--plain'], dir);
      assert.equal(r.code, 0, r.stderr);
    }
    dashboard = await startDashboard({dbPath: db, port: 0, pollMs: 200});
    ({browser, close: closeBrowser} = await launchChromium());
  });
  after(async () => {
    await closeBrowser?.();
    await dashboard?.close();
  });

  test('the experiment list shows each experiment with the store\'s status and run counts', async () => {
    const {page, errors} = await watchedPage(browser);
    await show(page, dashboard.url);
    const rows = await page.$$eval('#experiments tr[data-experiment]', (trs) =>
      trs.map((tr) => ({id: tr.getAttribute('data-experiment'), status: tr.querySelector('[data-status]')!.textContent, completed: tr.querySelector('[data-field=completed]')!.textContent})));
    const store = Store.openReadOnly(db);
    const expected = store.experiments().map((e) => ({id: String(e.id), status: e.status, completed: String(store.runs(e.id).filter((r) => r.status === 'completed').length)}));
    store.close();
    assert.deepEqual(rows, expected);
    await page.screenshot({path: path.join(shots, 'dashboard-experiments.png'), fullPage: true});
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('an experiment page: its table cells are the store\'s best scores, and its charts draw', async () => {
    const {page, errors} = await watchedPage(browser);
    await show(page, `${dashboard.url}#/experiments/2`);
    const cells = await tableCells(page, '#results');
    const store = Store.openReadOnly(db);
    const best = store.bestScores(2, 'dev');
    const runs = store.runs(2);
    store.close();
    for (const s of best) {
      const row = `${s.task} (${s.keyMetric})`;
      const column = s.method === 'ft' ? 'FT' : 'PT-2';
      assert.equal(cells[row][column], percent(s.value! / s.metricScale), `${row} ${column}`);
    }
    const runCells = await page.$$eval('#runs tr[data-run]', (trs) => trs.map((tr) => [Number(tr.getAttribute('data-run')), tr.querySelector('[data-field=dev]')!.textContent, tr.querySelector('[data-field=bestEpoch]')!.textContent]));
    assert.deepEqual(runCells, runs.map((r) => [r.id, percent(best.find((b) => b.runId === r.id)!.value!), String(r.bestEpoch)]));
    await assertChartsDrawn(page, 2);
    await page.screenshot({path: path.join(shots, 'dashboard-experiment.png'), fullPage: true});
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('learning curves overlay runs picked from two experiments', async () => {
    const {page, errors} = await watchedPage(browser);
    await show(page, `${dashboard.url}#/curves?runs=1,6`);
    await assertChartsDrawn(page, 2);
    const legend = await page.$$eval('[data-chart=loss] svg text', (texts) => texts.map((t) => t.textContent));
    assert.ok(legend.includes('#1 rte/FT') && legend.includes('#6 rte/PT-2'), JSON.stringify(legend));
    const ticked = await page.$$eval('.picker input:checked', (boxes) => boxes.map((b) => (b as unknown as {value: string}).value));
    assert.deepEqual(ticked.sort(), ['1', '6']);
    // Ticking another run redraws the charts with it.
    await page.click('.picker input[value="3"]');
    await page.waitForFunction(`[...document.querySelectorAll('[data-chart=loss] svg text')].some((t) => t.textContent === '#3 cb/FT')`, {timeout: 20_000});
    await page.screenshot({path: path.join(shots, 'dashboard-curves.png'), fullPage: true});
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a run page links its prediction files and gives its export command', async () => {
    const {page, errors} = await watchedPage(browser);
    await show(page, `${dashboard.url}#/runs/2`);
    assert.equal(await page.$eval('#export', (e) => e.textContent), `ptv2 export 2 --out runs/export-2 --db ${db}`);
    const links = await page.$$eval('#artifacts a', (as) => as.map((a) => [a.textContent, (a as unknown as {href: string}).href]));
    const predictions = links.find(([kind]) => kind === 'dev_predictions');
    assert.ok(predictions, JSON.stringify(links));
    const text = await (await fetch(predictions[1]!)).text();
    assert.match(text, /"idx"/);
    await assertChartsDrawn(page, 2);
    await page.screenshot({path: path.join(shots, 'dashboard-run.png'), fullPage: true});
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a live experiment updates by itself while another process trains', async () => {
    const config = path.join(dir, 'live.yaml');
    fs.writeFileSync(config, `${tinyExperimentHeader(dir, 'live')}methods: [pt2]
prompt: {length: 4}
train: {epochs: 400, batch_size: 4, max_train_examples: 32, max_eval_examples: 8, log_every: 1}
tasks:
  - {name: rte, data: ${path.join(ROOT, 'datasets/superglue/RTE')}}
`);
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), 'run', config, '--plain'], {cwd: dir, env: {...process.env, PTV2_BACKEND: 'wasm'}, stdio: 'ignore'});
    const {page, errors} = await watchedPage(browser);
    try {
      // Wait for the run to appear, then open its experiment once; the page must update itself.
      let experimentId: number | undefined;
      for (let i = 0; i < 600 && experimentId === undefined; i++) {
        const list = (await (await fetch(new URL('/api/experiments', dashboard.url))).json()) as {id: number; name: string; runs: {running: number}}[];
        experimentId = list.find((e) => e.name === 'live' && e.runs.running > 0)?.id;
        if (experimentId === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(experimentId !== undefined, 'the live run never started');
      await show(page, `${dashboard.url}#/experiments/${experimentId}`);
      await page.waitForSelector('[data-progress-run]', {timeout: 20_000});
      await page.evaluate('window.sameDocument = true');
      const first = Number(await page.$eval('[data-progress-run]', (e) => e.getAttribute('data-step')));
      await page.waitForFunction(`Number(document.querySelector('[data-progress-run]')?.getAttribute('data-step')) > ${first}`, {timeout: 20_000});
      const later = Number(await page.$eval('[data-progress-run]', (e) => e.getAttribute('data-step')));
      assert.ok(later > first, `${later} > ${first}`);
      assert.equal(await page.evaluate('window.sameDocument'), true, 'updated in place, not reloaded');
      assert.equal(await page.$eval('#live', (e) => (e as unknown as {hidden: boolean}).hidden), false);
      await assertChartsDrawn(page, 2);
      await page.screenshot({path: path.join(shots, 'dashboard-live.png'), fullPage: true});
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode === null ? child.on('exit', resolve) : resolve(null)));
    }
  });

  test('ptv2 report --format html writes one self-contained page whose tables and charts render offline', async () => {
    const out = path.join(dir, 'report.html');
    const r = ptv2(['report', '--db', db, '--experiment', '1', '--format', 'html', '--out', out], dir);
    assert.equal(r.code, 0, r.stderr);
    const html = fs.readFileSync(out, 'utf8');
    assert.doesNotMatch(html, /src="\/|href="\/static/, 'no references to server files');
    const {page, errors} = await watchedPage(browser);
    // Any request besides the file itself would be a dependency on a server or a CDN.
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await show(page, `file://${out}`);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:')), []);
    const cells = await tableCells(page, '#results');
    const store = Store.openReadOnly(db);
    for (const s of store.bestScores(1, 'dev')) assert.equal(cells[`${s.task} (${s.keyMetric})`][s.method === 'ft' ? 'FT' : 'PT-2'], percent(s.value!));
    store.close();
    await assertChartsDrawn(page, 2);
    await page.screenshot({path: path.join(shots, 'report-html.png'), fullPage: true});
    assert.deepEqual(errors, []);
    await page.close();
  });
});
