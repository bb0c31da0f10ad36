import {test} from 'node:test';
import assert from 'node:assert/strict';
import {normaliseConfig, type EncoderConfig} from '../../src/model/checkpoint.js';
import {findBlas} from '../../src/compute/blas.js';
import {checkStepFits, checkWasmFits, estimateJsMemoryBytes, estimateWasmHeapBytes, likelyTfBackend} from '../../src/compute/memory.js';

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

const MB = 2 ** 20;

test('the blas estimate matches the peak RSS measured at four points within 10%', () => {
  // npm run bench on the blas backend, one process per point (src/compute/memory.ts header).
  const CASES = [
    {name: 'BERT-base pt2 batch 8', cfg: BASE, step: {method: 'pt2', batch: 8, seqLen: 128, promptLength: 16}, measuredMb: 1886},
    {name: 'BERT-base ft batch 8', cfg: BASE, step: {method: 'ft', batch: 8, seqLen: 128, promptLength: 16}, measuredMb: 3564},
    {name: 'BERT-large pt2 batch 4', cfg: LARGE, step: {method: 'pt2', batch: 4, seqLen: 128, promptLength: 16}, measuredMb: 3325},
    {name: 'BERT-large ft batch 4', cfg: LARGE, step: {method: 'ft', batch: 4, seqLen: 128, promptLength: 16}, measuredMb: 8246},
  ];
  for (const c of CASES) {
    const mb = estimateJsMemoryBytes(c.cfg, c.step) / MB;
    assert.ok(Math.abs(mb - c.measuredMb) / c.measuredMb < 0.1, `${c.name}: estimate ${mb.toFixed(0)} MB, measured ${c.measuredMb} MB`);
  }
});

test('on blas the paper sizes fit a 24 GiB machine and the refusal names the machine RAM', () => {
  const ram24 = 24 * 1024 ** 3;
  const fits = [
    {cfg: BASE, step: {method: 'ft', batch: 8, seqLen: 128, promptLength: 0}},
    {cfg: LARGE, step: {method: 'pt2', batch: 4, seqLen: 128, promptLength: 16}},
    {cfg: LARGE, step: {method: 'ft', batch: 4, seqLen: 128, promptLength: 0}},
  ];
  for (const c of fits) assert.doesNotThrow(() => checkStepFits('blas', c.cfg, c.step, {}, ram24));
  assert.throws(
    () => checkStepFits('blas', LARGE, {method: 'ft', batch: 64, seqLen: 512, promptLength: 0}, {file: 'x.yaml'}, ram24),
    /x\.yaml train\.batch_size: a ft step \(batch 64, 512 tokens, 24 layers × 1024\) needs about [\d.]+ GiB of memory on the blas backend; this machine has 24\.0 GiB/,
  );
  // A small machine refuses what a large one takes; tensorflow is not estimated.
  assert.throws(() => checkStepFits('blas', BASE, {method: 'ft', batch: 8, seqLen: 128, promptLength: 0}, {}, 2 * 1024 ** 3), /GiB of memory on the blas backend/);
  assert.doesNotThrow(() => checkStepFits('tensorflow', LARGE, {method: 'ft', batch: 64, seqLen: 512, promptLength: 0}, {}, 2 * 1024 ** 3));
});

test('before the backend starts, auto is checked as the backend it will be: blas when a BLAS library loads, else WASM', () => {
  for (const choice of ['wasm', 'blas', 'cpu', 'tensorflow']) assert.equal(likelyTfBackend(choice), choice);
  assert.equal(likelyTfBackend('auto'), findBlas().blas ? 'blas' : 'wasm');
});
