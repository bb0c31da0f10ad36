/**
 * Stopping the trainer: it yields to the event loop once per step, so a timer (or a signal
 * handler) gets to run while it trains, and an aborted signal ends training after the step in
 * progress with the abort's reason, leaving no tensors behind.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {trainingBatches, type Batch, type Feature} from '../../src/data/features.js';
import {InterruptedError} from '../../src/errors.js';
import {TaskModel} from '../../src/model/model.js';
import {mulberry32} from '../../src/random.js';
import {train, yieldToEventLoop} from '../../src/train/trainer.js';
import {tinyWeights, useBackend} from '../helpers/tiny.js';

const prompt = {method: 'pt2', length: 4, reparameterize: false, reparamHidden: 16, dropout: 0.1, depthOrder: 'ascending' as const, shiftPositions: true, initStd: 1, seed: 1};

function features(count: number): Feature[] {
  return Array.from({length: count}, (_, i) => ({inputIds: [2, 6 + (i % 2), 9, 10, 3], tokenTypeIds: [0, 0, 0, 0, 0], label: i % 2, example: i}));
}

test('a timer fires while training runs, and aborting stops training after the step in progress', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const weights = tinyWeights();
  const model = new TaskModel(weights, {prompt, numLabels: 2, dropout: 0.1, usePooler: false, seed: 3});
  const trainSet = features(64);
  const rng = mulberry32(1);
  const controller = new AbortController();
  let steps = 0;
  let stepAtAbort = -1;
  // A macrotask, as a signal handler is: it runs only if the loop yields.
  const timer = setTimeout(() => {
    stepAtAbort = steps;
    controller.abort(new InterruptedError('SIGTERM'));
  }, 0);
  await assert.rejects(
    train<Batch>({
      variables: model.variables,
      epochs: 50,
      lr: 1e-3,
      weightDecay: 0,
      warmupRatio: 0,
      maxGradNorm: 1,
      logEvery: 1,
      stepsPerEpoch: 8,
      batchesForEpoch: () => trainingBatches(trainSet, 8, 0, rng),
      lossOf: (b, training) => model.loss(b, b.labels, training),
      evaluate: () => ({accuracy: 0.5}),
      keyMetric: 'accuracy',
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'progress') steps = e.step;
      },
    }),
    (error: Error) => error instanceof InterruptedError && error.signal === 'SIGTERM' && error.exitCode === 143,
  );
  clearTimeout(timer);
  assert.ok(stepAtAbort >= 1, `the timer ran while training (at step ${stepAtAbort})`);
  assert.equal(steps, stepAtAbort, 'no step after the one in progress when the stop came');
  assert.ok(steps < 400);
  model.dispose();
  weights.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
});

test('yieldToEventLoop throws the abort reason once aborted, and only then', async () => {
  const controller = new AbortController();
  await yieldToEventLoop(controller.signal);
  controller.abort(new InterruptedError('SIGINT'));
  await assert.rejects(yieldToEventLoop(controller.signal), {name: 'InterruptedError', message: 'interrupted by SIGINT'});
});
