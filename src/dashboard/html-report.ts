/**
 * `ptv2 report --format html`: one experiment's dashboard page (tables, sweep and learning-curve
 * charts, runs, config) as a single self-contained file: the page's script and style, Vega's
 * browser build and the data inline, so it opens offline, without a server.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {ExperimentRow, Store} from '../store/index.js';
import {curveCharts, sweepChart} from './charts.js';
import {curves, experimentView} from './data.js';
import {WEB_DIR, vegaBrowserBuild} from './server.js';

/** `</script` inside inline JSON or code would end the element early. */
function inlineScript(code: string): string {
  return code.replaceAll(/<\/(script)/gi, '<\\/$1').replaceAll('<!--', '<\\!--');
}

export async function experimentHtml(store: Store, experiment: ExperimentRow, split = 'dev'): Promise<string> {
  const view = experimentView(store, experiment, split);
  const charts = [...(view.sweep ? [await sweepChart(view.sweep)] : []), ...(await curveCharts(curves(store, view.runs.map((r) => r.run))))];
  const snapshot = {experiment: {...view, charts}, generatedAt: new Date().toISOString()};
  const read = (file: string) => fs.readFileSync(file, 'utf8');
  const page = read(path.join(WEB_DIR, 'index.html'));
  const title = `ptv2: ${experiment.name} #${experiment.id}`.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
  return page
    .replace('<title>ptv2</title>', () => `<title>${title}</title>`)
    .replace('<link rel="stylesheet" href="/static/style.css">', () => `<style>\n${read(path.join(WEB_DIR, 'style.css'))}</style>`)
    .replace('<script src="/static/vega.min.js"></script>', () => `<script>${inlineScript(read(vegaBrowserBuild()))}</script>`)
    .replace('<script src="/static/app.js"></script>', () => `<script>window.PTV2_SNAPSHOT = ${inlineScript(JSON.stringify(snapshot))};</script>\n<script>${inlineScript(read(path.join(WEB_DIR, 'app.js')))}</script>`);
}
