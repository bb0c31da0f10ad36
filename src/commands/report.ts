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
  ];

  static override flags = {
    db: Flags.string({description: 'SQLite database', default: 'runs/ptv2.db'}),
    experiment: Flags.string({description: 'experiment name (latest with that name) or id; default: the latest experiment'}),
    format: Flags.string({description: 'output format', options: ['markdown', 'csv', 'json'], default: 'markdown'}),
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
      const scores = store.bestDevScores(experiment.id).filter((s) => s.status === 'completed');
      const table = buildTaskMethodTable(scores, {title: `${experiment.name} #${experiment.id} (best dev score)`});
      const render = {markdown: renderMarkdown, csv: renderCsv, json: renderJson}[flags.format as 'markdown' | 'csv' | 'json'];
      this.log(render(table).replace(/\n$/, ''));
    } finally {
      store.close();
    }
  }
}
