/**
 * The MLM pieces: BERT's masking (counts checked by hand), the head's loss against a hand-computed
 * cross-entropy, gradients against finite differences, the exported tensor names, and no tensor
 * left behind by a training step. Pure-JS CPU backend, tiny sizes.
 */
import {before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {encoderTensorSpecs, normaliseConfig, randomCheckpoint} from '../../src/model/checkpoint.js';
import {EncoderWeights, type EncoderBatch} from '../../src/model/encoder.js';
import {encoderTensors, maskBatch, MaskedLanguageModel, MlmHead, type MaskedBatch, type MaskingSpec} from '../../src/model/mlm.js';
import {AdamW, clipScale, globalNorm} from '../../src/train/optimizer.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {checkDirectionalDerivative} from '../helpers/finite-difference.js';

const [PAD, CLS, SEP, MASK] = [0, 2, 3, 4];

const SPEC: MaskingSpec = {
  maskId: MASK,
  specialIds: new Set([PAD, CLS, SEP, MASK]),
  // Disjoint from the ids the batches below use, so a random replacement is always visible.
  randomIds: Int32Array.from({length: 10}, (_, i) => 40 + i),
  rate: 0.15,
};

/** [CLS] w… [SEP] [PAD]…: `words[b]` real non-special tokens in row b, ids 5…, padded to seqLen. */
function paddedBatch(words: number[], seqLen: number): EncoderBatch {
  const batch = words.length;
  const inputIds = new Int32Array(batch * seqLen).fill(PAD);
  const attentionMask = new Float32Array(batch * seqLen);
  words.forEach((n, b) => {
    const row = b * seqLen;
    inputIds[row] = CLS;
    for (let s = 1; s <= n; s++) inputIds[row + s] = 5 + ((b * 7 + s) % 30);
    inputIds[row + n + 1] = SEP;
    attentionMask.fill(1, row, row + n + 2);
  });
  return {batch, seqLen, inputIds, tokenTypeIds: new Int32Array(batch * seqLen), attentionMask};
}

describe('maskBatch', () => {
  // Four rows of 20 words: round(0.15 · 20) = 3 predicted per row, 12 in all; of those
  // round(0.8 · 12) = 10 become [MASK], round(0.1 · 12) = 1 a random token, 1 stays.
  const source = paddedBatch([20, 20, 20, 20], 26);
  const masked = maskBatch(source, SPEC, mulberry32(1));

  test('predicts round(15%) of each row\'s real tokens, never [CLS], [SEP] or padding', () => {
    assert.equal(masked.positions.length, 12);
    const perRow = [0, 0, 0, 0];
    for (const i of masked.positions) {
      perRow[Math.floor(i / source.seqLen)] += 1;
      assert.ok(!SPEC.specialIds.has(source.inputIds[i]), `position ${i} holds special token ${source.inputIds[i]}`);
      assert.equal(source.attentionMask[i], 1, `position ${i} is padding`);
    }
    assert.deepEqual(perRow, [3, 3, 3, 3]);
    assert.deepEqual([...masked.positions], [...masked.positions].sort((a, b) => a - b));
    assert.equal(new Set(masked.positions).size, 12);
  });

  test('replaces 10 with [MASK], 1 with a random token and keeps 1; targets are the original tokens', () => {
    const kinds = {mask: 0, random: 0, kept: 0};
    masked.positions.forEach((i, k) => {
      assert.equal(masked.targets[k], source.inputIds[i]);
      const now = masked.inputIds[i];
      if (now === MASK) kinds.mask += 1;
      else if (SPEC.randomIds.includes(now)) kinds.random += 1;
      else if (now === source.inputIds[i]) kinds.kept += 1;
    });
    assert.deepEqual(kinds, {mask: 10, random: 1, kept: 1});
    const predicted = new Set(masked.positions);
    for (let i = 0; i < source.inputIds.length; i++) {
      if (!predicted.has(i)) assert.equal(masked.inputIds[i], source.inputIds[i], `unpredicted position ${i} changed`);
    }
    assert.notEqual(masked.inputIds, source.inputIds, 'the input ids are copied, not changed in place');
  });

  test('a row with no real word gets nothing, a short one at least one; the same seed gives the same masks', () => {
    // Rows of 0, 2 and 10 words: 0, max(1, round(0.3)) = 1 and round(1.5) = 2 predictions.
    const small = paddedBatch([0, 2, 10], 12);
    const result = maskBatch(small, SPEC, mulberry32(3));
    const perRow = [0, 0, 0];
    for (const i of result.positions) perRow[Math.floor(i / small.seqLen)] += 1;
    assert.deepEqual(perRow, [0, 1, 2]);
    assert.deepEqual(maskBatch(small, SPEC, mulberry32(3)), result);
    assert.notDeepEqual([...maskBatch(source, SPEC, mulberry32(2)).positions], [...masked.positions]);
  });

  test('over many rows, about 15% of real tokens are predicted and none of the specials', () => {
    const lengths = Array.from({length: 200}, (_, i) => 3 + (i % 40));
    const big = paddedBatch(lengths, 45);
    const result = maskBatch(big, SPEC, mulberry32(9));
    const words = lengths.reduce((a, b) => a + b, 0);
    const share = result.positions.length / words;
    assert.ok(share > 0.14 && share < 0.17, `predicted share ${share}`);
    assert.ok([...result.positions].every((i) => !SPEC.specialIds.has(big.inputIds[i])));
  });
});

/** A tiny BERT without a pooler, as BertForMaskedLM has none; range 0.3 keeps gradients well above float32 noise. */
function tinyMlmWeights(initializerRange = 0.02): EncoderWeights {
  const {config, weights} = randomCheckpoint({layers: 1, hidden: 8, heads: 2, intermediate: 16, maxPositions: 32, vocabSize: 30, seed: 5, initializerRange});
  const encoderOnly = new Map([...weights].filter(([name]) => !name.startsWith('bert.pooler.')));
  // No dropout anywhere, so the loss is a deterministic function of the weights.
  const encoderConfig = {...normaliseConfig(config), attentionDropout: 0, hiddenDropout: 0};
  return new EncoderWeights({dir: '<memory>', config: encoderConfig, weights: encoderOnly, hasPooler: false, heads: new Map()});
}

function tinyMaskedBatch(seed: number): MaskedBatch {
  const rng = mulberry32(seed);
  const base = paddedBatch([6, 4, 9], 11);
  base.inputIds.forEach((id, i) => {
    if (id >= 5) base.inputIds[i] = 5 + Math.floor(rng() * 25);
  });
  return maskBatch(base, {...SPEC, randomIds: Int32Array.from({length: 25}, (_, i) => 5 + i), rate: 0.3}, rng);
}

describe('MLM loss and gradients', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  test('the head\'s loss is the hand-computed cross-entropy', () => {
    // h = 2: LayerNorm of any [a, b] with a > b is [1, -1] (eps 1e-12), so with an identity dense
    // layer the transform gives [1, -1] for x = [2, 1] and [-1, 1] for x = [1, 3] (GELU keeps the order).
    const config = {...normaliseConfig({model_type: 'bert', vocab_size: 3, hidden_size: 2, num_attention_heads: 1, num_hidden_layers: 1, intermediate_size: 4, max_position_embeddings: 8})};
    const head = new MlmHead(config, 1);
    const [w, , , , bias] = head.variables;
    w.assign(tf.tensor2d([[1, 0], [0, 1]]));
    bias.assign(tf.tensor1d([0.1, 0, -0.1]));
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const loss = tf.tidy(() => {
      const logits = head.logits(tf.tensor2d([[2, 1], [1, 3]]), embeddings);
      const oneHot = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
      return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))).dataSync()[0];
    });
    // Logits [1.1, -1, -0.1] (target 0) and [-0.9, 1, -0.1] (target 2):
    // ln(3.004166 + 0.367879 + 0.904837) - 1.1 = 0.353223, ln(0.406570 + 2.718282 + 0.904837) + 0.1 = 1.493689.
    assert.ok(Math.abs(loss - (0.353223 + 1.493689) / 2) < 1e-5, `loss ${loss}`);
    embeddings.dispose();
    head.dispose();
  });

  test('the loss is the mean cross-entropy over the predicted positions only', () => {
    const weights = tinyMlmWeights(0.3);
    const model = new MaskedLanguageModel(weights, {seed: 3, dropout: 0});
    const batch = tinyMaskedBatch(4);
    assert.ok(batch.positions.length >= 3);
    // Every real position predicted, on the same corrupted input: the per-position losses.
    const all = Int32Array.from(Array.from(batch.attentionMask).flatMap((m, i) => (m > 0 ? [i] : [])));
    const logProbs = tf.tidy(() => tf.logSoftmax(model.logits({...batch, positions: all}, false)).arraySync() as number[][]);
    const perPosition = new Map([...all].map((position, k) => [position, logProbs[k]]));
    const expected = [...batch.positions].reduce((sum, position, k) => sum - perPosition.get(position)![batch.targets[k]], 0) / batch.positions.length;
    const loss = tf.tidy(() => model.loss(batch, false).dataSync()[0]);
    assert.ok(Math.abs(loss - expected) < 1e-5, `loss ${loss} vs ${expected}`);
    model.dispose();
    weights.dispose();
  });

  test('gradients of the head, the tied embeddings and the encoder agree with finite differences', () => {
    const weights = tinyMlmWeights(0.3);
    const model = new MaskedLanguageModel(weights, {seed: 3, dropout: 0});
    const rng = mulberry32(8);
    // Scale the head's dense layer up so its gradients are O(0.1), not O(1e-3).
    const dense = model.head.variables[0];
    dense.assign(tf.tensor(normalArray(rng, dense.size, 0.5), dense.shape));
    const batch = tinyMaskedBatch(6);
    const lossValue = () => tf.tidy(() => model.loss(batch, false).dataSync()[0]);
    const {value, grads} = tf.variableGrads(() => model.loss(batch, false), model.variables);
    let meaningful = 0;
    for (const v of model.variables) {
      assert.ok(grads[v.name], `${v.name} has no gradient`);
      const {numeric} = checkDirectionalDerivative(v, grads[v.name].dataSync(), lossValue, rng, 'mlm');
      if (Math.abs(numeric) > 1e-3) meaningful++;
    }
    assert.ok(meaningful >= model.variables.length - 2, `only ${meaningful} of ${model.variables.length} variables with sizeable gradients`);
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
    weights.dispose();
  });

  test('a training step leaves no tensor behind', () => {
    const weights = tinyMlmWeights();
    const model = new MaskedLanguageModel(weights, {seed: 3, dropout: 0.1});
    const optimizer = new AdamW(model.variables, {weightDecay: 0.01});
    const step = (seed: number) => {
      const {value, grads} = tf.variableGrads(() => model.loss(tinyMaskedBatch(seed), true), model.variables);
      const ordered = model.variables.map((v) => grads[v.name]);
      optimizer.apply(ordered, 1e-3, clipScale(globalNorm(ordered), 1));
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(1);
    const after = tf.memory().numTensors;
    for (let seed = 2; seed < 7; seed++) step(seed);
    model.score(tinyMaskedBatch(9));
    assert.equal(tf.memory().numTensors, after);
    optimizer.dispose();
    model.dispose();
    weights.dispose();
  });
});

describe('exported tensors', () => {
  test('an untrained model gives back its checkpoint\'s tensors under BertForMaskedLM names', async () => {
    await tf.setBackend('cpu');
    const {config, weights: random} = randomCheckpoint({layers: 2, hidden: 8, heads: 2, intermediate: 16, maxPositions: 32, vocabSize: 30, seed: 5});
    const encoderOnly = new Map([...random].filter(([name]) => !name.startsWith('bert.pooler.')));
    const encoderConfig = normaliseConfig(config);
    const weights = new EncoderWeights({dir: '<memory>', config: encoderConfig, weights: encoderOnly, hasPooler: false, heads: new Map()});
    const model = new MaskedLanguageModel(weights, {seed: 1});
    const tensors = model.tensors();
    const encoderNames = encoderTensorSpecs(encoderConfig).filter((spec) => !spec.optional).map((spec) => spec.name);
    const headNames = ['cls.predictions.transform.dense.weight', 'cls.predictions.transform.dense.bias', 'cls.predictions.transform.LayerNorm.weight', 'cls.predictions.transform.LayerNorm.bias', 'cls.predictions.bias'];
    assert.deepEqual([...tensors.keys()].sort(), [...encoderNames, ...headNames].sort());
    // Fused QKV split back and linears transposed back to [out, in]: bit for bit what went in.
    for (const [name, tensor] of encoderOnly) {
      assert.deepEqual(tensors.get(name)!.shape, tensor.shape, name);
      assert.deepEqual(tensors.get(name)!.data, tensor.data, name);
    }
    assert.deepEqual(tensors.get('cls.predictions.bias')!.shape, [30]);
    assert.deepEqual(tensors.get('cls.predictions.transform.dense.weight')!.shape, [8, 8]);
    assert.equal(encoderTensors(model.encoder).size, encoderNames.length);
    model.dispose();
    weights.dispose();
  });
});
