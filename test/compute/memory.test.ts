import {test} from 'node:test';
import assert from 'node:assert/strict';
import {normaliseConfig, type EncoderConfig} from '../../src/model/checkpoint.js';
import {checkWasmFits, estimateWasmHeapBytes} from '../../src/compute/memory.js';

function shape(layers: number, hidden: number, heads: number): EncoderConfig {
  return normaliseConfig({
    model_type: 'bert',
    vocab_size: 30522,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    intermediate_size: 4 * hidden,
    max_position_embeddings: 512,
  });
}

const BASE = shape(12, 768, 12);
const LARGE = shape(24, 1024, 16);

test('the estimate matches the heap measured for BERT-base pt2 (2.95 GB) within 10%', () => {
  const gb = estimateWasmHeapBytes(BASE, {method: 'pt2', batch: 8, seqLen: 128, promptLength: 16}) / 1e9;
  assert.ok(Math.abs(gb - 2.95) / 2.95 < 0.1, `estimate ${gb.toFixed(2)} GB`);
});

test('fits and refusals on the WASM heap', () => {
  const CASES = [
    {name: 'BERT-base pt2 batch 8', cfg: BASE, step: {method: 'pt2', batch: 8, seqLen: 128, promptLength: 16}, fits: true},
    {name: 'BERT-base ft batch 8 (measured to abort)', cfg: BASE, step: {method: 'ft', batch: 8, seqLen: 128, promptLength: 0}, fits: false},
    {name: 'BERT-large pt2 batch 4', cfg: LARGE, step: {method: 'pt2', batch: 4, seqLen: 128, promptLength: 16}, fits: false},
    {name: 'tiny ft', cfg: shape(2, 64, 4), step: {method: 'ft', batch: 16, seqLen: 128, promptLength: 0}, fits: true},
  ];
  for (const c of CASES) {
    if (c.fits) assert.doesNotThrow(() => checkWasmFits(c.cfg, c.step), c.name);
    else assert.throws(() => checkWasmFits(c.cfg, c.step, {file: 'x.yaml'}), /x\.yaml train\.batch_size: .*wasm backend is capped at 4\.0 GiB/, c.name);
  }
});
