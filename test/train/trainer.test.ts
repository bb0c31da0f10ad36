/**
 * The trainer on a tiny model: no tensor growth across steps, a learnable task is learnt, and the
 * same seed gives the same numbers.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {collate, trainingBatches, type Batch, type Feature} from '../../src/data/features.js';
import {TaskModel} from '../../src/model/model.js';
import {mulberry32} from '../../src/random.js';
import {train, type TrainEvent} from '../../src/train/trainer.js';
import {tinyWeights, useBackend} from '../helpers/tiny.js';

const prompt = {length: 4, reparameterize: false, reparamHidden: 16, dropout: 0.1, depthOrder: 'ascending' as const, shiftPositions: true, initStd: 1, seed: 1};

/**
 * The first token after [CLS] is 7 (label 1) or 6 (label 0), the rest is noise: learnable through
 * attention even by a prompt on a random frozen encoder, and balanced by construction.
 */
function firstTokenTask(count: number, seed: number): Feature[] {
  const rng = mulberry32(seed);
  return Array.from({length: count}, (_, i) => {
    const len = 4 + Math.floor(rng() * 8);
    const ids = [2, ...Array.from({length: len}, () => 8 + Math.floor(rng() * 40)), 3];
    const label = i % 2;
    ids[1] = label === 1 ? 7 : 6;
    return {inputIds: ids, tokenTypeIds: ids.map(() => 0), label, example: i};
  });
}

function accuracyOn(model: TaskModel, features: Feature[]): number {
  const batch = collate(features, features.map((_, i) => i), 0);
  const pred = tf.tidy(() => tf.argMax(model.logits(batch, false), 1).dataSync());
  return features.filter((f, i) => pred[i] === f.label).length / features.length;
}

async function fit(method: string, lr: number, epochs: number, batchSize: number, onEvent?: (e: TrainEvent) => void) {
  const weights = tinyWeights({hidden: 32, heads: 4, initializerRange: 0.2});
  const model = new TaskModel(weights, {prompt: {...prompt, method}, numLabels: 2, dropout: 0.1, usePooler: false, seed: 3});
  const trainSet = firstTokenTask(256, 1);
  const devSet = firstTokenTask(128, 2);
  const rng = mulberry32(9);
  const losses: number[] = [];
  const result = await train<Batch>({
    variables: model.variables,
    epochs,
    lr,
    weightDecay: 0.01,
    warmupRatio: 0.1,
    maxGradNorm: 1,
    logEvery: 1,
    stepsPerEpoch: Math.ceil(trainSet.length / batchSize),
    batchesForEpoch: () => trainingBatches(trainSet, batchSize, 0, rng),
    lossOf: (b, training) => model.loss(b, b.labels, training),
    evaluate: () => ({accuracy: accuracyOn(model, devSet)}),
    keyMetric: 'accuracy',
    onEvent: (e) => {
      if (e.type === 'epoch') losses.push(e.trainLoss);
      onEvent?.(e);
    },
  });
  return {model, weights, result, losses};
}

test('tensor count does not grow across training steps, and nothing is left after a run (pt2 and ft)', async () => {
  await useBackend('cpu');
  for (const method of ['pt2', 'ft']) {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    // One epoch of 32 steps of 8: no evaluation (which keeps a best-state copy) in between.
    const {model, weights, result} = await fit(method, 1e-3, 1, 8, (e) => {
      if (e.type === 'step') counts.push(tf.memory().numTensors);
    });
    assert.equal(counts.length, 32);
    const steady = counts.slice(1, 21);
    assert.ok(steady.every((c) => c === steady[0]), `${method}: tensor counts ${steady.join(',')}`);
    tf.dispose(result.bestState);
    model.dispose();
    weights.dispose();
    assert.equal(tf.memory().numTensors, before, `${method}: tensors left after disposing the run`);
  }
});

test('on a learnable task the loss falls and dev accuracy beats chance (pt2 and ft)', async () => {
  await useBackend('wasm');
  for (const [method, lr] of [['pt2', 3e-2], ['ft', 3e-3]] as const) {
    const {model, weights, result, losses} = await fit(method, lr, 8, 16);
    assert.ok(losses.at(-1)! < losses[0] * 0.85, `${method}: losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    assert.ok(result.bestValue >= 0.75, `${method}: best dev accuracy ${result.bestValue}`);
    tf.dispose(result.bestState);
    model.dispose();
    weights.dispose();
  }
});

test('same seed, same backend: identical losses', async () => {
  await useBackend('wasm');
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const {model, weights, result, losses} = await fit('pt2', 1e-2, 1, 16);
    runs.push(losses);
    tf.dispose(result.bestState);
    model.dispose();
    weights.dispose();
  }
  assert.deepEqual(runs[0], runs[1]);
});
