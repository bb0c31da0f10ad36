/**
 * Base of every ptv2 command: user errors (bad config, data or checkpoint) are printed as one
 * message per problem with suggestions and a non-zero exit, never as a stack trace. The message
 * is printed unwrapped so `file:line key` locations stay on one line for editors and scripts.
 *
 * With --json every failure, whatever its kind, is one JSON object on stdout,
 * `{"error": {"message", "file", "line", "field", "hints"}}`, and the usual line on stderr, so a
 * script reading stdout always gets JSON and a person watching still sees the error.
 */
import {Command, Errors} from '@oclif/core';
import {errorJson, isUserError} from '../errors.js';

export abstract class Ptv2Command extends Command {
  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // this.exit() throws an ExitError: it is how a command ends, not a failure to report.
    if (error instanceof Errors.ExitError) throw error;
    const code = isUserError(error) ? error.exitCode : (error.oclif?.exit ?? error.exitCode ?? 1);
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify(errorJson(error), null, 2)}\n`);
      process.stderr.write(`Error: ${error.message}\n`);
      if (isUserError(error)) for (const suggestion of error.suggestions) process.stderr.write(`  try: ${suggestion}\n`);
      this.exit(code);
    }
    if (isUserError(error)) {
      this.logToStderr(`Error: ${error.message}`);
      for (const suggestion of error.suggestions) this.logToStderr(`  try: ${suggestion}`);
      this.exit(code);
    }
    return super.catch(error);
  }
}
