/**
 * Reading a user's file as UTF-8 text: BOM dropped, an unreadable file or one that is not valid
 * UTF-8 (a Latin-1 or Windows-1252 file, say) is a UserError naming the file and the line of the
 * first bad byte, never text with U+FFFD where the bytes were.
 */
import fs from 'node:fs';
import {UserError} from '../errors.js';

const STRICT_UTF8 = new TextDecoder('utf-8', {fatal: true});

export function readText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new UserError(`cannot read file: ${(error as Error).message}`, {file});
  }
  return decodeUtf8(bytes, file);
}

/** Bytes as UTF-8 text (BOM dropped); invalid UTF-8 is a UserError at the line of the first bad byte. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
    const byte = bytes[offset].toString(16).toUpperCase().padStart(2, '0');
    throw new UserError(`not valid UTF-8: byte 0x${byte} at offset ${offset} cannot start or continue a character`, {file, line}, [
      'save the file as UTF-8, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8',
    ]);
  }
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/**
 * Offset of the first byte that breaks UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), or bytes.length when every sequence is whole and valid.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    // Lead byte → sequence length and the allowed range of the second byte.
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b < 0x80) length = 1;
    else if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) [length, low, high] = [3, b === 0xe0 ? 0xa0 : 0x80, b === 0xed ? 0x9f : 0xbf];
    else if (b >= 0xf0 && b <= 0xf4) [length, low, high] = [4, b === 0xf0 ? 0x90 : 0x80, b === 0xf4 ? 0x8f : 0xbf];
    else return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      if (k === 1 ? c < low || c > high : c < 0x80 || c > 0xbf) return i;
    }
    i += length;
  }
  return i;
}

/**
 * A JSON file that must hold one object (config.json, adapter_config.json). A missing file is
 * `missing` (the caller says what needs it); invalid JSON or another kind of value names the file.
 */
export function readJsonObject(file: string, missing: {message: string; suggestions?: string[]}): Record<string, unknown> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new UserError(missing.message, {file}, missing.suggestions ?? []);
  }
  const text = decodeUtf8(bytes, file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`not valid JSON (${(error as Error).message})`, {file});
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError('must be a JSON object', {file});
  return value as Record<string, unknown>;
}
