import {Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {UserError} from '../errors.js';
import {depthOrderOf} from '../report/labels.js';

/** The depth order of a prompt.depth sweep's runs, for the axis and headings. */
function depthOrder(runs: Parameters<typeof depthOrderOf>[0]) {
  const order = depthOrderOf(runs);
  return order ? {depthOrder: order} : {};
}

export default class Report extends Ptv2Command {
  static override description = `Print the task × method table of an experiment: each cell is the best dev score of the task's key metric.

Reads the database only. Markdown marks the best of each row in bold and the second underlined (on a terminal, or with --color, in ANSI bold and underline), and adds an average row over the tasks every method has and each method's share of trainable parameters. \`--experiment A,B\` merges several experiments into one table (a cell several of them have shows their mean ± std, as repeats). \`--compare paper\` puts the published number beside each cell whose checkpoint matches a model of the paper's tables (architecture recorded with the run), with the difference.

For a sweep (\`ptv2 sweep\`, or a config's \`sweep:\`) the table is followed by one table per method over the sweep values, in the order they were run; CSV and JSON then give those values raw. \`--plot FILE.svg\` draws them as a line chart instead: one line per task × method.`;

  static override examples = [
    '<%= config.bin %> report',
    '<%= config.bin %> report --experiment quickstart --format csv',
    '<%= config.bin %> report --compare paper',
    '<%= config.bin %> report --layout paper',
    '<%= config.bin %> report --db runs/ptv2.db --format json',
    '<%= config.bin %> report --runs',
    '<%= config.bin %> report --runs --format csv',
    '<%= config.bin %> report --format html --out runs/quickstart.html',
  ];

  static override flags = {
    db: Flags.string({description: 'SQLite database', default: 'runs/ptv2.db'}),
    experiment: Flags.string({description: 'experiment name (latest with that name) or id, or several separated by commas to merge into one table; default: the latest experiment'}),
    compare: Flags.string({description: 'put published numbers beside the cells whose checkpoint matches a model of the paper (data/paper-results.json)', options: ['paper']}),
    layout: Flags.string({description: 'markdown: tasks as rows (default), or paper: methods as rows with their trainable share and an average column, as the paper\'s tables', options: ['tasks', 'paper'], default: 'tasks'}),
    color: Flags.boolean({description: 'bold and underline with ANSI codes instead of Markdown (default: when stdout is a terminal)', allowNo: true}),
    format: Flags.string({description: 'output format', options: ['markdown', 'csv', 'json', 'html'], default: 'markdown'}),
    out: Flags.string({description: 'with --format html: write the page (tables and charts, self-contained) to this file instead of stdout'}),
    split: Flags.string({description: 'scores of this split: dev, test, or a test set\'s own name (test_wsj, …) when a task has several; test splits are scored only where the file has labels', default: 'dev'}),
    runs: Flags.boolean({description: 'one row per run: status, best epoch, dev and test scores, trainable share, truncated inputs', exclusive: ['plot']}),
    plot: Flags.string({description: 'write a line chart of a sweep experiment to this SVG file (x: sweep value, y: score in percent)', exclusive: ['runs']}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(Report);
    const fs = await import('node:fs');
    if (!fs.existsSync(flags.db)) {
      throw new UserError('no database here yet', {file: flags.db}, ['run an experiment first: ptv2 run configs/quickstart.yaml', 'or pass --db PATH']);
    }
    const {Store} = await import('../store/index.js');
    const {buildTaskMethodTable, mergeTables, renderCsv, renderJson, renderMarkdown: byTask, renderPaperLayout} = await import('../report/tables.js');
    const renderMarkdown = flags.layout === 'paper' ? renderPaperLayout : byTask;
    // Read only: never migrates or marks anything; the previous schema is read as it is.
    const store = Store.openReadOnly(flags.db);
    try {
      const {resolveExperiments, experimentsTitle} = await import('../report/experiments.js');
      const experiments = resolveExperiments(store, flags.experiment, flags.db);
      const [experiment] = experiments;
      if (experiments.length > 1 && flags.format === 'html') {
        throw new UserError('--format html shows one experiment', {field: '--experiment'}, ['name one experiment, or use markdown, csv or json to merge several']);
      }
      if (flags.format === 'html') {
        const {experimentHtml} = await import('../dashboard/html-report.js');
        const html = await experimentHtml(store, experiment, flags.split);
        if (flags.out === undefined) {
          process.stdout.write(html);
        } else {
          const path = await import('node:path');
          fs.mkdirSync(path.dirname(path.resolve(flags.out)), {recursive: true});
          fs.writeFileSync(flags.out, html);
          this.log(`wrote ${experiment.name} #${experiment.id} to ${flags.out}`);
        }
        return;
      }
      const format = flags.format as 'markdown' | 'csv' | 'json';
      if (flags.runs) {
        const {buildRunSummaries, renderRunsCsv, renderRunsJson, renderRunsMarkdown} = await import('../report/runs.js');
        const rows = experiments.flatMap((e) => buildRunSummaries(store.runs(e.id), store.bestScores(e.id, 'dev'), store.bestScores(e.id, 'test')));
        const render = {markdown: (r: typeof rows) => renderRunsMarkdown(`${experimentsTitle(experiments)} (runs)`, r), csv: renderRunsCsv, json: renderRunsJson}[format];
        this.log(render(rows).replace(/\n$/, ''));
        return;
      }
      const all = experiments.flatMap((e) => store.bestScores(e.id, flags.split).map((row) => ({...row, experimentId: e.id})));
      const runs = experiments.flatMap((e) => store.runs(e.id));
      const scores = all.filter((s) => s.status === 'completed' && s.value !== null);
      const name = experimentsTitle(experiments);
      const {markdownExtras} = await import('../report/compare.js');
      const extras = (table: Parameters<typeof markdownExtras>[0]) =>
        markdownExtras(table, runs, scores, {split: flags.split, compare: flags.compare === 'paper', ansi: flags.color ?? process.stdout.isTTY === true});
      // Reference runs of a sweep (the swept key cannot change them) have a key and no value.
      const swept = all.filter((s): s is typeof s & {sweepKey: string} => s.sweepKey !== null);
      if (flags.plot !== undefined && swept.length === 0) {
        throw new UserError(`experiment ${name} has no sweep, so there is nothing to plot`, {file: flags.db}, [
          'run a sweep first: ptv2 sweep prompt-length CONFIG --values 4,8,16',
          'or name a sweep experiment with --experiment NAME',
        ]);
      }
      if (scores.length === 0 && flags.split !== 'dev') {
        const splits = [...new Set(experiments.flatMap((e) => store.scoredSplits(e.id)))];
        throw new UserError(`experiment ${name} has no ${flags.split} scores`, {file: flags.db}, [
          `splits with scores: ${splits.join(', ')}`,
          'test scores exist only for tasks whose test_file has labels',
        ]);
      }
      if (swept.length === 0) {
        const table = mergeTables(experiments.map((e) => buildTaskMethodTable(scores.filter((sc) => sc.experimentId === e.id))), '');
        const repeated = table.cells.flat().some((cell) => cell?.n !== undefined);
        table.title = `${name} (best ${flags.split} score${repeated ? '; mean ± std of the experiments where several have a cell' : ''})`;
        const options = extras(table);
        const render = {markdown: () => renderMarkdown(table, options), csv: () => renderCsv(table), json: () => renderJson(table, options)}[format];
        this.log(render().replace(/\n$/, ''));
        return;
      }

      const sweep = await import('../report/sweep.js');
      // A failed run keeps its value's column (with no score) so the columns are the values run.
      const report = sweep.buildSweepReport(
        swept.map((s) => ({...s, value: s.status === 'completed' ? s.value : null})),
        {title: name, split: flags.split, ...depthOrder(runs)},
      );
      if (flags.plot !== undefined) {
        const path = await import('node:path');
        const svg = await sweep.renderSweepSvg(sweep.sweepPlotSpec(report));
        fs.mkdirSync(path.dirname(path.resolve(flags.plot)), {recursive: true});
        fs.writeFileSync(flags.plot, svg);
        this.log(`wrote the ${report.sweepKey} sweep of ${name} to ${flags.plot}`);
        return;
      }
      if (format === 'markdown') {
        // Repeats over seeds are summarised by mean ± std; any other sweep by its best setting.
        const seeds = report.sweepKey === 'seed';
        const title = seeds ? `${name} (mean ± std of the ${flags.split} score over seeds)` : `${name} (best ${flags.split} score over ${report.sweepKey})`;
        const table = mergeTables(experiments.map((e) => buildTaskMethodTable(scores.filter((sc) => sc.experimentId === e.id), {aggregate: seeds ? 'mean' : 'best'})), title);
        const options = extras(table);
        this.log(`${renderMarkdown(table, options)}\n${sweep.renderSweepMarkdown(report, {style: options.style})}`.replace(/\n$/, ''));
      } else {
        this.log((format === 'csv' ? sweep.renderSweepCsv(report) : sweep.renderSweepJson(report)).replace(/\n$/, ''));
      }
    } finally {
      store.close();
    }
  }
}
