/** Small files written by tests to a temporary directory, and comparing metric records. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A writer of numbered files in one fresh temporary directory, so names never clash. */
export function tempFiles(prefix = 'ptv2-'): (name: string, text: string) => string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let count = 0;
  return (name, text) => {
    const file = path.join(dir, `${count++}-${name}`);
    fs.writeFileSync(file, text);
    return file;
  };
}

export const jsonl = (rows: readonly unknown[]): string => rows.map((row) => JSON.stringify(row)).join('\n') + '\n';

/** The same metric names, each value within 1e-9. */
export function closeMetrics(actual: Record<string, number>, expected: Record<string, number>): void {
  assert.deepEqual(Object.keys(actual), Object.keys(expected));
  for (const [name, value] of Object.entries(expected)) {
    assert.ok(Math.abs(actual[name] - value) < 1e-9, `${name}: ${actual[name]} != ${value}`);
  }
}
