/**
 * Prompt construction: the initial table a prompt starts from (prompt transfer), checked against
 * the prompt's shape; reparameterised prompts have no table to take.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {PROMPT_KEYS_READ} from '../../src/config/plan.js';
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

describe('the prompt keys each method reads (PROMPT_KEYS_READ, which decides what a sweep reaches)', () => {
  // Each config key as a prompt option, with a changed value to try.
  const CHANGES: {key: string; change: Partial<PromptOptions>}[] = [
    {key: 'length', change: {length: 5}},
    {key: 'reparameterize', change: {reparameterize: true}},
    {key: 'reparam_hidden', change: {reparamHidden: 4}},
    {key: 'dropout', change: {dropout: 0.5}},
    {key: 'depth', change: {depth: 1}},
    {key: 'depth_order', change: {depthOrder: 'descending', depth: 1}},
    {key: 'shift_positions', change: {shiftPositions: false}},
    {key: 'init_std', change: {initStd: 0.5}},
    {key: 'encoder', change: {encoder: 'mlp'}},
  ];

  /** Everything a prompt yields: its variables and, in training mode, its hooks for a batch of 2. */
  function outputs(opts: PromptOptions): unknown {
    const prompt = createPrompt(CONFIG, opts);
    try {
      let result: unknown;
      tf.tidy(() => {
        const hooks = prompt.hooks(2, true);
        const values = (t: tf.Tensor | undefined | null) => (t ? Array.from(t.dataSync()) : null);
        result = {
          variables: prompt.variables.map((v) => [v.shape, Array.from(v.dataSync())]),
          input: values(hooks.inputPrompt),
          layers: (hooks.layerPrefix ?? []).map((kv) => (kv ? [values(kv.key), values(kv.value)] : null)),
          positionStart: hooks.positionStart ?? 0,
        };
      });
      return result;
    } finally {
      prompt.dispose();
    }
  }

  for (const method of ['ft', 'pt', 'ptv1', 'prefix', 'pt2']) {
    test(`${method}: a key it does not read changes nothing it computes; a key it reads changes something`, () => {
      const read = PROMPT_KEYS_READ.get(method)!;
      // The base is a deep prompt in both layers, so depth and its order can show.
      const base = options({method, reparameterize: method === 'prefix'});
      for (const {key, change} of CHANGES) {
        // reparam_hidden matters only with the MLP, depth_order only below the layer count.
        const from = key === 'reparam_hidden' ? {...base, reparameterize: method !== 'pt'} : key === 'depth_order' ? {...base, depth: 1} : base;
        const reference = outputs(from);
        const after = outputs({...from, ...change});
        if (read.includes(key)) assert.notDeepEqual(after, reference, `${method} reads ${key}`);
        else assert.deepEqual(after, reference, `${method} does not read ${key}`);
      }
    });
  }
});
