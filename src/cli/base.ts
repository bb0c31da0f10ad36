/**
 * Base of every ptv2 command: user errors (bad config, data or checkpoint) are printed as one
 * message per problem with suggestions and a non-zero exit, never as a stack trace. The message
 * is printed unwrapped so `file:line key` locations stay on one line for editors and scripts.
 */
import {Command} from '@oclif/core';
import {isUserError} from '../errors.js';

export abstract class Ptv2Command extends Command {
  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (isUserError(error)) {
      this.logToStderr(`Error: ${error.message}`);
      for (const suggestion of error.suggestions) this.logToStderr(`  try: ${suggestion}`);
      this.exit(1);
    }
    return super.catch(error);
  }
}
