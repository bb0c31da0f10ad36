/** The split names of a task's test files. */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {testSplitNames} from '../../src/data/splits.js';

const CASES: {name: string; input: string | string[] | null; expected: string[]}[] = [
  {name: 'no test file', input: null, expected: []},
  {name: 'one file is the split "test", whatever its name', input: 'test_wsj.txt', expected: ['test']},
  {name: 'several: named after their files', input: ['test_wsj.txt', 'test_brown.txt'], expected: ['test_wsj', 'test_brown']},
  {name: 'a file whose name does not start with test gets the prefix', input: ['brown.txt', 'sub/wsj.dev.txt'], expected: ['test_brown', 'test_wsj.dev']},
  {name: 'characters a file name may hold but a split name should not', input: ['Test set (v2).jsonl', 'x.y'], expected: ['Test_set_v2_', 'test_x']},
];

for (const c of CASES) {
  test(c.name, () => assert.deepEqual(testSplitNames(c.input).map((t) => t.name), c.expected));
}
