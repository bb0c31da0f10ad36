/**
 * JSON lines as the SuperGLUE release and leaderboard write them: one object per line, blank
 * lines skipped, CRLF and a BOM accepted. A bad line is a UserError naming file and line.
 */
import {UserError} from '../errors.js';

export interface JsonlObject {
  value: Record<string, unknown>;
  /** 1-based line number. */
  line: number;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function parseJsonl(text: string, file: string): JsonlObject[] {
  const objects: JsonlObject[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      if (raw.trim() === '') return;
      const where = {file, line: index + 1};
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        throw new UserError(`invalid JSON: ${(error as Error).message}`, where);
      }
      if (!isObject(value)) throw new UserError(`expected a JSON object, got ${describeJson(value)}`, where);
      objects.push({value, line: index + 1});
    });
  return objects;
}
