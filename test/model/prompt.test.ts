/**
 * Prompt construction: the initial table a prompt starts from (prompt transfer), checked against
 * the prompt's shape; reparameterised prompts have no table to take.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {createPrompt, type PromptOptions} from '../../src/model/prompt.js';
import {tinyCheckpoint} from '../helpers/tiny.js';

const CONFIG = tinyCheckpoint({layers: 2, hidden: 16}).config;

function options(overrides: Partial<PromptOptions>): PromptOptions {
  return {method: 'pt2', length: 3, reparameterize: false, reparamHidden: 8, dropout: 0, depthOrder: 'ascending', shiftPositions: true, initStd: 0.02, seed: 1, ...overrides};
}

describe('initial prompt tables', () => {
  test('a deep prompt holds exactly the given [P, 2·L·h] table; an input prompt the given [P, h]', () => {
    const deep = Float32Array.from({length: 3 * 2 * 2 * 16}, (_, i) => i / 100);
    const pt2 = createPrompt(CONFIG, options({initialTable: deep}));
    assert.deepEqual(Array.from(pt2.variables[0].dataSync()), Array.from(deep));
    const input = Float32Array.from({length: 3 * 16}, (_, i) => -i);
    const pt = createPrompt(CONFIG, options({method: 'pt', initialTable: input}));
    assert.deepEqual(Array.from(pt.variables[0].dataSync()), Array.from(input));
    // Without one, the values are random draws at init_std's scale, not the table.
    const random = createPrompt(CONFIG, options({}));
    const values = random.variables[0].dataSync();
    assert.ok(Math.max(...values.map(Math.abs)) < 0.2 && values.some((v) => v !== 0));
    for (const p of [pt2, pt, random]) p.dispose();
  });

  test('a table of the wrong size, or one for a reparameterised prompt, is refused', () => {
    assert.throws(() => createPrompt(CONFIG, options({initialTable: new Float32Array(10)})), /an initial prompt table of 10 values cannot fill \[3, 64\]/);
    assert.throws(() => createPrompt(CONFIG, options({reparameterize: true, initialTable: new Float32Array(3 * 64)})), /a reparameterised prompt has no table to start from/);
  });
});
