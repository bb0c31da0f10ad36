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
  /** The message without its location, for --json (which gives file, line and field apart). */
  readonly reason: string;
  /** Exit status of the command; 1 unless said otherwise. */
  exitCode = 1;
  /** More to put in the --json error object (e.g. the summary of a run with failed jobs). */
  details: Record<string, unknown> = {};

  constructor(message: string, location: ErrorLocation = {}, suggestions: string[] = []) {
    super(formatLocated(message, location));
    this.name = 'UserError';
    this.location = location;
    this.suggestions = suggestions;
    this.reason = message;
  }
}

/** The signals ptv2 stops on, with the exit status a shell gives a process they end (128 + number). */
export const STOP_SIGNALS = {SIGINT: 130, SIGTERM: 143} as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * Training stopped on SIGINT or SIGTERM: the reason of the AbortSignal the trainer checks once per
 * step and per evaluation batch, so the run ends between two steps with the store consistent.
 */
export class InterruptedError extends UserError {
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}`, {}, ['continue with: ptv2 run CONFIG --resume']);
    this.name = 'InterruptedError';
    this.exitCode = STOP_SIGNALS[signal];
  }
}

export function isInterrupted(error: unknown): error is InterruptedError {
  return error instanceof InterruptedError;
}

/** What `--json` prints on failure: one object, the same fields for every command. */
export function errorJson(error: Error): {error: Record<string, unknown>} {
  if (isUserError(error)) {
    // A config with several problems (ConfigError) has one location per issue; the first stands for all.
    const issues = (error as {issues?: {file: string; line?: number; path: string; message: string}[]}).issues;
    if (issues && issues.length > 0) {
      const [first] = issues;
      return {error: {message: error.message, file: first.file || null, line: first.line ?? null, field: first.path || null, hints: error.suggestions, issues}};
    }
    const {file, line, field} = error.location;
    return {error: {message: error.reason, file: file ?? null, line: line ?? null, field: field ?? null, hints: error.suggestions, ...error.details}};
  }
  return {error: {message: error.message, file: null, line: null, field: null, hints: []}};
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
