import {Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {UserError} from '../errors.js';
import type {ExperimentListing} from '../report/experiments.js';

export default class Experiments extends Ptv2Command {
  static override description = `List the experiments of a database, newest first: name, id, date, status, runs and the database.

Names and ids are what \`ptv2 report --experiment\` takes (several, separated by commas, merge into one table).`;

  static override examples = ['<%= config.bin %> experiments', '<%= config.bin %> experiments --db runs/ptv2.db --json'];

  static override enableJsonFlag = true;

  static override flags = {
    db: Flags.string({description: 'SQLite database', default: 'runs/ptv2.db'}),
  };

  async run(): Promise<ExperimentListing[]> {
    const {flags} = await this.parse(Experiments);
    const fs = await import('node:fs');
    if (!fs.existsSync(flags.db)) throw new UserError('no database here yet', {file: flags.db}, ['run an experiment first: ptv2 run configs/quickstart.yaml', 'or pass --db PATH']);
    const [{Store}, {listExperiments, renderExperimentsMarkdown}] = await Promise.all([import('../store/index.js'), import('../report/experiments.js')]);
    const store = Store.openReadOnly(flags.db);
    try {
      const list = listExperiments(store, flags.db);
      if (!this.jsonEnabled()) this.log(list.length === 0 ? `${flags.db} has no experiments yet` : renderExperimentsMarkdown(list).replace(/\n$/, ''));
      return list;
    } finally {
      store.close();
    }
  }
}
