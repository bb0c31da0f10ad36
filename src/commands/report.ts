import {Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {UserError} from '../errors.js';

export default class Report extends Ptv2Command {
  static override description = `Print the task × method table of an experiment: each cell is the best dev score of the task's key metric.

Reads the database only. Markdown marks the best of each row in bold and the second underlined.

For a sweep (\`ptv2 sweep\`, or a config's \`sweep:\`) the table is followed by one table per method over the sweep values, in the order they were run; CSV and JSON then give those values raw. \`--plot FILE.svg\` draws them as a line chart instead: one line per task × method.`;

  static override examples = [
    '<%= config.bin %> report',
    '<%= config.bin %> report --experiment quickstart --format csv',
    '<%= config.bin %> report --db runs/ptv2.db --format json',
    '<%= config.bin %> report --runs',
    '<%= config.bin %> report --runs --format csv',
    '<%= config.bin %> report --format html --out runs/quickstart.html',
  ];

  static override flags = {
    db: Flags.string({description: 'SQLite database', default: 'runs/ptv2.db'}),
    experiment: Flags.string({description: 'experiment name (latest with that name) or id; default: the latest experiment'}),
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
    const {buildTaskMethodTable, renderCsv, renderJson, renderMarkdown} = await import('../report/tables.js');
    // Read only: never migrates or marks anything; the previous schema is read as it is.
    const store = Store.openReadOnly(flags.db);
    try {
      const experiment = flags.experiment ? store.findExperiment(flags.experiment) : store.latestExperiment();
      if (!experiment) {
        const known = store.experiments().map((e) => e.name);
        throw new UserError(
          flags.experiment ? `no experiment "${flags.experiment}"` : 'the database has no experiments',
          {file: flags.db},
          known.length > 0 ? [`known experiments: ${[...new Set(known)].join(', ')}`] : [],
        );
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
        const rows = buildRunSummaries(store.runs(experiment.id), store.bestScores(experiment.id, 'dev'), store.bestScores(experiment.id, 'test'));
        const render = {markdown: (r: typeof rows) => renderRunsMarkdown(`${experiment.name} #${experiment.id} (runs)`, r), csv: renderRunsCsv, json: renderRunsJson}[format];
        this.log(render(rows).replace(/\n$/, ''));
        return;
      }
      const all = store.bestScores(experiment.id, flags.split);
      const scores = all.filter((s) => s.status === 'completed' && s.value !== null);
      const name = `${experiment.name} #${experiment.id}`;
      // Reference runs of a sweep (the swept key cannot change them) have a key and no value.
      const swept = all.filter((s): s is typeof s & {sweepKey: string} => s.sweepKey !== null);
      if (flags.plot !== undefined && swept.length === 0) {
        throw new UserError(`experiment ${name} has no sweep, so there is nothing to plot`, {file: flags.db}, [
          'run a sweep first: ptv2 sweep prompt-length CONFIG --values 4,8,16',
          'or name a sweep experiment with --experiment NAME',
        ]);
      }
      if (scores.length === 0 && flags.split !== 'dev') {
        const splits = store.scoredSplits(experiment.id);
        throw new UserError(`experiment ${name} has no ${flags.split} scores`, {file: flags.db}, [
          `splits with scores: ${splits.join(', ')}`,
          'test scores exist only for tasks whose test_file has labels',
        ]);
      }
      if (swept.length === 0) {
        const table = buildTaskMethodTable(scores, {title: `${name} (best ${flags.split} score)`});
        const render = {markdown: renderMarkdown, csv: renderCsv, json: renderJson}[format];
        this.log(render(table).replace(/\n$/, ''));
        return;
      }

      const sweep = await import('../report/sweep.js');
      // A failed run keeps its value's column (with no score) so the columns are the values run.
      const report = sweep.buildSweepReport(
        swept.map((s) => ({...s, value: s.status === 'completed' ? s.value : null})),
        {title: name, split: flags.split},
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
        const table = buildTaskMethodTable(scores, {title, aggregate: seeds ? 'mean' : 'best'});
        this.log(`${renderMarkdown(table)}\n${sweep.renderSweepMarkdown(report)}`.replace(/\n$/, ''));
      } else {
        this.log((format === 'csv' ? sweep.renderSweepCsv(report) : sweep.renderSweepJson(report)).replace(/\n$/, ''));
      }
    } finally {
      store.close();
    }
  }
}
