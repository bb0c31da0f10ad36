/**
 * User-facing errors. Anything the user can fix (a bad config, a malformed data line, a broken
 * checkpoint) is a UserError: commands print its message without a stack trace and exit non-zero.
 */

export interface ErrorLocation {
  /** File the problem is in, as the user named it. */
  file?: string;
  /** 1-based line number in that file. */
  line?: number;
  /** Field or key path, e.g. `train.lr` or `hypothesis`. */
  field?: string;
}

export class UserError extends Error {
  readonly location: ErrorLocation;
  readonly suggestions: string[];

  constructor(message: string, location: ErrorLocation = {}, suggestions: string[] = []) {
    super(formatLocated(message, location));
    this.name = 'UserError';
    this.location = location;
    this.suggestions = suggestions;
  }
}

/** `file:line field: message`, leaving out the parts that are unknown. */
export function formatLocated(message: string, {file, line, field}: ErrorLocation): string {
  let where = file ?? '';
  if (file !== undefined && line !== undefined) where += `:${line}`;
  if (field !== undefined) where += where ? ` ${field}` : field;
  return where ? `${where}: ${message}` : message;
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
