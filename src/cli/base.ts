/**
 * Base of every ptv2 command: user errors (bad config, data or checkpoint) are printed as one
 * message with suggestions and a non-zero exit, never as a stack trace.
 */
import {Command} from '@oclif/core';
import {isUserError} from '../errors.js';

export abstract class Ptv2Command extends Command {
  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (isUserError(error)) this.error(error.message, {exit: 1, suggestions: error.suggestions.length > 0 ? error.suggestions : undefined});
    return super.catch(error);
  }
}
