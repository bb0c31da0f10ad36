/** A tiny random encoder and batch for model tests (no files needed). */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {normaliseConfig, randomCheckpoint, type Checkpoint, type ModelType} from '../../src/model/checkpoint.js';
import {EncoderWeights, type EncoderBatch} from '../../src/model/encoder.js';
import {mulberry32} from '../../src/random.js';

export function tinyCheckpoint(
  opts: {modelType?: ModelType; layers?: number; hidden?: number; heads?: number; seed?: number; initializerRange?: number} = {},
): Checkpoint {
  const {config, weights} = randomCheckpoint({
    modelType: opts.modelType ?? 'bert',
    layers: opts.layers ?? 2,
    hidden: opts.hidden ?? 16,
    heads: opts.heads ?? 2,
    intermediate: 32,
    maxPositions: 64,
    vocabSize: 50,
    seed: opts.seed ?? 7,
    initializerRange: opts.initializerRange,
  });
  return {dir: '<memory>', config: normaliseConfig(config), weights} as Checkpoint;
}

export function tinyWeights(opts: Parameters<typeof tinyCheckpoint>[0] = {}): EncoderWeights {
  return new EncoderWeights(tinyCheckpoint(opts));
}

/** A padded batch of random ids: example b has `lengths[b]` real tokens; pairTypes marks the second half as segment 1 (BERT only). */
export function randomBatch(lengths: number[], opts: {vocab?: number; seed?: number; pairTypes?: boolean} = {}): EncoderBatch {
  const {vocab = 50, seed = 3, pairTypes = true} = opts;
  const rng = mulberry32(seed);
  const seqLen = Math.max(...lengths);
  const batch = lengths.length;
  const inputIds = new Int32Array(batch * seqLen);
  const tokenTypeIds = new Int32Array(batch * seqLen);
  const attentionMask = new Float32Array(batch * seqLen);
  lengths.forEach((len, b) => {
    for (let s = 0; s < len; s++) {
      inputIds[b * seqLen + s] = 5 + Math.floor(rng() * (vocab - 5));
      tokenTypeIds[b * seqLen + s] = pairTypes && s >= len / 2 ? 1 : 0;
      attentionMask[b * seqLen + s] = 1;
    }
  });
  return {batch, seqLen, inputIds, tokenTypeIds, attentionMask};
}

/**
 * Select a backend for the test; WASM and blas are initialised once, then selected again on later
 * calls. `blas` needs a BLAS library (test/helpers/blas.ts decides whether a test skips).
 */
export async function useBackend(name: 'cpu' | 'wasm' | 'blas'): Promise<void> {
  if (name === 'wasm') {
    const {initBackend} = await import('../../src/compute/backend.js');
    await initBackend('wasm');
  }
  if (name === 'blas') {
    const {findBlas} = await import('../../src/compute/blas.js');
    const {registerBlasBackend} = await import('../../src/compute/blas-backend.js');
    const {blas} = findBlas();
    assert.ok(blas, 'no BLAS library: install libopenblas0-pthread');
    registerBlasBackend(blas);
  }
  await tf.setBackend(name);
  assert.equal(tf.getBackend(), name);
}
