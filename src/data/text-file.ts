/** Reading a user's data file as UTF-8 text: BOM dropped, an unreadable file is a UserError naming it. */
import fs from 'node:fs';
import {UserError} from '../errors.js';

export function readText(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read file: ${(error as Error).message}`, {file});
  }
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/**
 * A JSON file that must hold one object (config.json, adapter_config.json). A missing file is
 * `missing` (the caller says what needs it); invalid JSON or another kind of value names the file.
 */
export function readJsonObject(file: string, missing: {message: string; suggestions?: string[]}): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UserError(missing.message, {file}, missing.suggestions ?? []);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`not valid JSON (${(error as Error).message})`, {file});
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError('must be a JSON object', {file});
  return value as Record<string, unknown>;
}
