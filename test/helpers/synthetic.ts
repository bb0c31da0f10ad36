/** The synthetic files at the default seed, by path, for the data set tests (generated once per test file). */
import assert from 'node:assert/strict';
import {syntheticFiles} from '../../src/data/synthetic/index.js';
import type {SyntheticFile} from '../../src/data/synthetic/files.js';

export const FILES: readonly SyntheticFile[] = syntheticFiles();
export const BY_PATH: ReadonlyMap<string, SyntheticFile> = new Map(FILES.map((file) => [file.path, file]));

/** The text of one generated file; a missing path fails the test. */
export function content(relative: string): string {
  const file = BY_PATH.get(relative);
  assert.ok(file, `no synthetic file ${relative}`);
  return file.content;
}

/** The share of `items` equal to `value`. */
export function share<T>(items: readonly T[], value: T): number {
  return items.filter((item) => item === value).length / items.length;
}
