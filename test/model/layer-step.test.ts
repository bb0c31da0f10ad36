/**
 * Without a gradient tape each encoder layer runs in its own tidy (layers.ts layerStep): an eval
 * forward leaves as many tensors alive after 4 layers as after 1, and gives what the same forward
 * gives under a tape, where nothing is disposed early.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {EncoderWeights} from '../../src/model/encoder.js';
import {createEncoder} from '../../src/model/encoders.js';
import type {ModelType} from '../../src/model/checkpoint.js';
import {randomBatch, tinyCheckpoint, useBackend} from '../helpers/tiny.js';

for (const modelType of ['bert', 'deberta-v2'] as ModelType[]) {
  test(`${modelType}: an eval forward frees each layer's intermediates, and matches the forward under a tape`, async () => {
    await useBackend('cpu');
    await tf.setBackend('cpu');
    const batch = randomBatch([6, 4], {pairTypes: modelType === 'bert'});
    const leftAlive = (layers: number) => {
      const encoder = createEncoder(new EncoderWeights(tinyCheckpoint({modelType, layers})), {trainable: true, seed: 1, hiddenDropout: 0});
      const before = tf.memory().numTensors;
      const out = encoder.forward(batch, {}, false);
      const alive = tf.memory().numTensors - before;
      const evalValues = out.dataSync().slice();
      out.dispose();
      let taped: Float32Array = new Float32Array(0);
      const {value, grads} = tf.variableGrads(() => {
        const y = encoder.forward(batch, {}, false);
        taped = Float32Array.from(y.dataSync());
        return tf.sum(y);
      }, encoder.variables);
      tf.dispose([value, ...Object.values(grads)]);
      assert.deepEqual(Array.from(evalValues), Array.from(taped), `${layers} layers: eval and taped forwards differ`);
      encoder.dispose();
      return alive;
    };
    const [one, four] = [leftAlive(1), leftAlive(4)];
    assert.equal(four, one, `tensors left alive by an eval forward: ${one} with 1 layer, ${four} with 4`);
  });
}
