/**
 * `ptv2 sweep KEY` without CONFIG or --values: which config it picks, and the paper's grids cut
 * to the model's positions (with the line saying what was left out).
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {parseConfig} from '../../src/config/load.js';
import {defaultConfigFile, defaultGrid} from '../../src/cli/default-grids.js';

const config = (maxPositions: number, methods = '[ft, pt2]') => parseConfig(`name: g
model: {path: /nonexistent/model, init: {layers: 3, max_positions: ${maxPositions}}, max_length: 96}
methods: ${methods}
tasks: [{name: rte, data: d}]
`, 'g.yaml').config;

describe('default sweep grids', () => {
  test('prompt length: 4…128 when 96 + 128 fits, else the longer ones are left out with the reason', () => {
    assert.deepEqual(defaultGrid('prompt.length', config(256)), {values: [4, 8, 16, 32, 64, 128], notes: []});
    const cut = defaultGrid('prompt.length', config(128));
    assert.deepEqual(cut.values, [4, 8, 16, 32]);
    assert.deepEqual(cut.notes, ['prompt lengths 64, 128 left out: inputs of up to 96 tokens plus the prompt need more than the 128 positions of model.init']);
    assert.deepEqual(defaultGrid('prompt.length', config(128, '[ft]')).values, [4, 8, 16, 32, 64, 128], 'ft has no prompt positions');
  });

  test('depth 1…L in both orders, reparameterize off/on, the reference lr grid, linear vs verbalizer head; no grid for the rest', () => {
    assert.deepEqual(defaultGrid('prompt.depth', config(256)), {values: [1, 2, 3], notes: [], orders: ['ascending', 'descending']});
    assert.deepEqual(defaultGrid('prompt.reparameterize', config(256)).values, [false, true]);
    assert.deepEqual(defaultGrid('train.lr', config(256)).values, [5e-3, 7e-3, 1e-2]);
    assert.deepEqual(defaultGrid('head', config(256)).values, ['linear', 'verbalizer'], 'Table 4: linear head against the verbalizer');
    assert.throws(() => defaultGrid('seed', config(256)), /--values: the paper has no grid for seed; give one/);
  });

  test('the default config: ptv2.yaml here, else configs/quickstart.yaml, else an error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-grid-'));
    assert.throws(() => defaultConfigFile(dir), /neither ptv2.yaml nor configs\/quickstart.yaml/);
    fs.mkdirSync(path.join(dir, 'configs'));
    fs.writeFileSync(path.join(dir, 'configs/quickstart.yaml'), '');
    assert.deepEqual(defaultConfigFile(dir), {file: 'configs/quickstart.yaml', line: 'config: configs/quickstart.yaml (no ptv2.yaml in the current directory)'});
    fs.writeFileSync(path.join(dir, 'ptv2.yaml'), '');
    assert.deepEqual(defaultConfigFile(dir), {file: 'ptv2.yaml', line: 'config: ptv2.yaml (found in the current directory)'});
    fs.rmSync(dir, {recursive: true});
  });
});
