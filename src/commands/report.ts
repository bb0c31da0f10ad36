import {Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {UserError} from '../errors.js';

export default class Report extends Ptv2Command {
  static override description = `Print the task × method table of an experiment: each cell is the best dev score of the task's key metric.

Reads the database only. Markdown marks the best of each row in bold and the second underlined.`;

  static override examples = [
    '<%= config.bin %> report',
    '<%= config.bin %> report --experiment quickstart --format csv',
    '<%= config.bin %> report --db runs/ptv2.db --format json',
    '<%= config.bin %> report --runs',
    '<%= config.bin %> report --split test',
  ];

  static override flags = {
    db: Flags.string({description: 'SQLite database', default: 'runs/ptv2.db'}),
    experiment: Flags.string({description: 'experiment name (latest with that name) or id; default: the latest experiment'}),
    format: Flags.string({description: 'output format', options: ['markdown', 'csv', 'json'], default: 'markdown'}),
    split: Flags.string({description: 'scores of this split (test: only runs whose test file had labels)', options: ['dev', 'test'], default: 'dev'}),
    runs: Flags.boolean({description: 'one row per run: status, best epoch, dev and test scores, trainable share, truncated inputs'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(Report);
    const fs = await import('node:fs');
    if (!fs.existsSync(flags.db)) {
      throw new UserError('no database here yet', {file: flags.db}, ['run an experiment first: ptv2 run configs/quickstart.yaml', 'or pass --db PATH']);
    }
    const {Store} = await import('../store/index.js');
    const {buildTaskMethodTable, renderCsv, renderJson, renderMarkdown} = await import('../report/tables.js');
    const store = Store.open(flags.db);
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
      const format = flags.format as 'markdown' | 'csv' | 'json';
      if (flags.runs) {
        const {buildRunSummaries, renderRunsCsv, renderRunsJson, renderRunsMarkdown} = await import('../report/runs.js');
        const rows = buildRunSummaries(store.runs(experiment.id), store.bestScores(experiment.id, 'dev'), store.bestScores(experiment.id, 'test'));
        const render = {markdown: (r: typeof rows) => renderRunsMarkdown(`${experiment.name} #${experiment.id} (runs)`, r), csv: renderRunsCsv, json: renderRunsJson}[format];
        this.log(render(rows).replace(/\n$/, ''));
        return;
      }
      const scores = store.bestScores(experiment.id, flags.split).filter((s) => s.status === 'completed' && s.value !== null);
      if (scores.length === 0 && flags.split === 'test') {
        throw new UserError(`experiment ${experiment.name} #${experiment.id} has no test scores`, {file: flags.db}, ['test scores exist only for tasks whose test_file has labels']);
      }
      const table = buildTaskMethodTable(scores, {title: `${experiment.name} #${experiment.id} (best ${flags.split} score)`});
      const render = {markdown: renderMarkdown, csv: renderCsv, json: renderJson}[format];
      this.log(render(table).replace(/\n$/, ''));
    } finally {
      store.close();
    }
  }
}
