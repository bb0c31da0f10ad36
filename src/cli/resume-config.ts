/**
 * `--resume`: the config an experiment continues with. The experiment records the config text it
 * ran (for `ptv2 sweep`, the file's text with the sweep spliced in), so `ptv2 run --resume` on the
 * file a sweep started from is given a text without that sweep; the identity rule (resumeText in
 * sweep-grid.ts) accepts it and this returns the recorded text, so the resumed experiment plans
 * the same jobs it planned the first time.
 */
import fs from 'node:fs';

import {parseConfig, type LoadedConfig} from '../config/load.js';
import {Store} from '../store/index.js';
import {resumeText} from './sweep-grid.js';

export function configToResume(loaded: LoadedConfig, database: string | undefined, command: 'run' | 'sweep'): LoadedConfig {
  const file = database ?? loaded.config.database;
  // No database yet: nothing to resume, which the experiment then reports with its own message.
  if (!fs.existsSync(file) || fs.statSync(file).size === 0) return loaded;
  // Read only: a database that is not ptv2's is refused, never migrated.
  const store = Store.openReadOnly(file);
  try {
    const previous = store.findExperiment(loaded.config.name);
    if (!previous) return loaded;
    const resumed = resumeText(previous.configText, loaded.text, command, {file: loaded.file, experiment: `${previous.name} #${previous.id}`});
    return 'text' in resumed && resumed.text !== loaded.text ? parseConfig(resumed.text, loaded.file) : loaded;
  } finally {
    store.close();
  }
}
