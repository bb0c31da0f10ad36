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
