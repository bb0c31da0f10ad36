/** The names a task's test files go by in prediction files, metrics and `ptv2 report --split`. */
import path from 'node:path';

/**
 * One test file is the split `test`; several are named after their files (`test_wsj.txt` →
 * `test_wsj`, `brown.txt` → `test_brown`), so each has its own predictions and scores.
 */
export function testSplitNames(files: string | string[] | null): {name: string; file: string}[] {
  if (files === null) return [];
  if (typeof files === 'string') return [{name: 'test', file: files}];
  return files.map((file) => {
    const stem = path.basename(file).replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_');
    return {name: /^test/i.test(stem) ? stem : `test_${stem}`, file};
  });
}
