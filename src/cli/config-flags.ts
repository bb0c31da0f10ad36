/**
 * Flags `ptv2 run` and `ptv2 sweep` share to change a config without editing it: `--profile`
 * picks one of its `profiles:`, each `--set KEY=VALUE` sets one key (see src/config/edits.ts),
 * `--dry-run` checks and plans without training or writing.
 */
import {Flags} from '@oclif/core';

import type {ConfigEdits} from '../config/edits.js';

export const configEditFlags = {
  set: Flags.string({
    description: 'set a config key for this run, VALUE read as YAML (repeatable; tasks by name: tasks.rte.train.lr=0.01); recorded in the stored config text',
    multiple: true,
    helpValue: 'KEY=VALUE',
  }),
  profile: Flags.string({description: 'apply one of the config\'s profiles (e.g. the reference hyper-parameters for roberta-large) before any --set'}),
  'dry-run': Flags.boolean({description: 'check the config, checkpoint, data and every planned job, print the jobs one per line, and stop: nothing is trained or written'}),
};

export function configEdits(flags: {set?: string[]; profile?: string}): ConfigEdits {
  return {...(flags.profile === undefined ? {} : {profile: flags.profile}), sets: flags.set ?? []};
}
