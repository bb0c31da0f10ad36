/**
 * P-tuning's prompt encoder (ptv1) and the verbalizer head: parameter counts against their
 * formulas, gradients against finite differences, training on a tiny fixed batch, the label
 * scores against a hand computation of the MLM head, and the errors for bad words and heads.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {TaskModel, type ModelSpec} from '../../src/model/model.js';
import {promptEncoderParamCount} from '../../src/model/prompt-encoder.js';
import {encodeTemplate, labelWordIds, maskRows, mlmHeadParamCount, parseTemplate, readMlmHead, type StoredMlmHead} from '../../src/model/verbalizer.js';
import type {NamedTensor} from '../../src/model/safetensors.js';
import {mulberry32, normalArray} from '../../src/random.js';
import {checkDirectionalDerivative} from '../helpers/finite-difference.js';
import {randomBatch, tinyCheckpoint, tinyWeights} from '../helpers/tiny.js';

const H = 16;
const V = 50;
const MASK_ID = 4;

function prompt(method: string, extra: Partial<ModelSpec['prompt']> = {}): ModelSpec['prompt'] {
  return {method, length: 3, reparameterize: false, reparamHidden: 8, dropout: 0, depthOrder: 'ascending', shiftPositions: true, initStd: 0.5, seed: 1, ...extra};
}

/** An MLM head of random values in BERT's layout (relu, so a test can compute it by hand). */
function storedHead(seed = 3): StoredMlmHead {
  const rng = mulberry32(seed);
  const t = (shape: number[], std = 0.5, mean = 0): NamedTensor => ({shape, data: normalArray(rng, shape.reduce((a, b) => a * b, 1), std, mean)});
  return {
    names: {dense: 'cls.predictions.transform.dense', norm: 'cls.predictions.transform.LayerNorm', bias: 'cls.predictions.bias', decoder: 'cls.predictions.decoder.weight'},
    dense: {weight: t([H, H]), bias: t([H])},
    norm: {weight: t([H], 0.1, 1), bias: t([H], 0.1)},
    bias: t([V]),
    activation: 'relu',
  };
}

/** A batch whose second real token is the mask in every row. */
function maskedBatch() {
  const batch = randomBatch([6, 4], {pairTypes: false, seed: 9});
  for (let b = 0; b < batch.batch; b++) batch.inputIds[b * batch.seqLen + 1] = MASK_ID;
  return batch;
}

function lossFalls(model: TaskModel, batch: ReturnType<typeof randomBatch>, labels: Int32Array, steps = 25): {first: number; last: number} {
  const optimizer = tf.train.adam(0.05);
  const loss = () => tf.tidy(() => model.loss(batch, labels, false).dataSync()[0]);
  const first = loss();
  for (let i = 0; i < steps; i++) {
    tf.tidy(() => {
      optimizer.minimize(() => model.loss(batch, labels, true), false, model.variables);
    });
  }
  optimizer.dispose();
  return {first, last: loss()};
}

describe('ptv1: P-tuning prompt encoder', () => {
  for (const encoder of ['lstm', 'mlp'] as const) {
    test(`${encoder}: trainable parameters equal the formula, and the encoder's gradients agree with finite differences`, async () => {
      await tf.setBackend('cpu');
      const weights = tinyWeights({modelType: 'roberta', initializerRange: 0.3});
      const model = new TaskModel(weights, {prompt: prompt('ptv1', {encoder}), numLabels: 3, dropout: 0, usePooler: true, seed: 11});
      const lstm = encoder === 'lstm' ? 2 * 2 * (4 * (H / 2) * H + 4 * (H / 2) * (H / 2) + 8 * (H / 2)) : 0;
      assert.equal(promptEncoderParamCount(encoder, 3, H), 3 * H + lstm + 2 * (H * H + H));
      assert.equal(model.params.trainable, promptEncoderParamCount(encoder, 3, H) + H * 3 + 3);
      assert.equal(model.params.total, weights.totalParams() + model.params.trainable);

      const batch = randomBatch([5, 3], {pairTypes: false});
      const labels = new Int32Array([1, 0]);
      const rng = mulberry32(5);
      const head = model.head.variables[0];
      head.assign(tf.tensor(normalArray(rng, head.size, 1), head.shape));
      const lossValue = () => tf.tidy(() => model.loss(batch, labels, false).dataSync()[0]);
      const {grads} = tf.variableGrads(() => model.loss(batch, labels, false), model.prompt.variables);
      let sizeable = 0;
      for (const v of model.prompt.variables) {
        const {numeric} = checkDirectionalDerivative(v, grads[v.name].dataSync(), lossValue, rng, `ptv1 ${encoder}`);
        if (Math.abs(numeric) > 1e-4) sizeable++;
      }
      assert.ok(sizeable >= Math.min(3, model.prompt.variables.length), `only ${sizeable} prompt variables with sizeable gradients`);
      tf.dispose(Object.values(grads));
      // The materialised table is the encoder's [P, h] output, what the encoder reads.
      const [[name, table]] = model.savedTensors();
      assert.equal(name, 'prompt.table');
      assert.deepEqual(table.shape, [3, H]);
      const hooks = tf.tidy(() => Array.from(model.prompt.hooks(1, false).inputPrompt!.dataSync()));
      assert.deepEqual(Array.from(table.dataSync()), hooks);
      table.dispose();
      model.dispose();
      weights.dispose();
    });
  }

  test('ptv1 trains on a tiny batch: the loss goes down', async () => {
    await tf.setBackend('cpu');
    const weights = tinyWeights();
    const model = new TaskModel(weights, {prompt: prompt('ptv1'), numLabels: 2, dropout: 0, usePooler: true, seed: 4});
    const {first, last} = lossFalls(model, randomBatch([6, 4, 5, 3], {pairTypes: false}), new Int32Array([1, 0, 1, 0]));
    assert.ok(last < first * 0.7, `loss ${first} → ${last}`);
    model.dispose();
    weights.dispose();
  });
});

describe('verbalizer head', () => {
  test('scores exactly the label words\' logits of the MLM head (hand computation)', async () => {
    await tf.setBackend('cpu');
    const weights = tinyWeights();
    const stored = storedHead();
    const wordIds = new Int32Array([7, 21, 33]);
    const model = new TaskModel(weights, {prompt: prompt('ft'), numLabels: 3, dropout: 0, usePooler: true, seed: 2, verbalizer: {stored, wordIds, maskId: MASK_ID, trainLmHead: false}});
    const batch = maskedBatch();
    const logits = tf.tidy(() => model.logits(batch, false).arraySync());
    const sequence = tf.tidy(() => model.encoder.forward(batch, {}, false).arraySync());
    const embeddings = weights.get('embeddings.word_embeddings.weight').arraySync() as number[][];
    const w = stored.dense.weight.data;
    for (let b = 0; b < batch.batch; b++) {
      const x = sequence[b * batch.seqLen + 1];
      // dense ([out, in]) → relu → LayerNorm (biased variance) → dot with each word's embedding + its bias.
      const dense = Array.from({length: H}, (_, o) => Math.max(0, x.reduce((sum, xi, i) => sum + xi * w[o * H + i], stored.dense.bias.data[o])));
      const mean = dense.reduce((a, c) => a + c, 0) / H;
      const variance = dense.reduce((a, c) => a + (c - mean) ** 2, 0) / H;
      const normed = dense.map((d, i) => ((d - mean) / Math.sqrt(variance + 1e-12)) * stored.norm.weight.data[i] + stored.norm.bias.data[i]);
      wordIds.forEach((word, label) => {
        const expected = normed.reduce((sum, n, i) => sum + n * embeddings[word][i], stored.bias.data[word]);
        assert.ok(Math.abs(logits[b][label] - expected) < 1e-4, `row ${b} label ${label}: ${logits[b][label]} vs ${expected}`);
      });
    }
    model.dispose();
    weights.dispose();
  });

  test('trainable parameters: the prompt alone with a frozen MLM head, plus h² + 3h + V when it trains', async () => {
    await tf.setBackend('cpu');
    const weights = tinyWeights();
    const lm = mlmHeadParamCount(H, V);
    assert.equal(lm, H * H + 3 * H + V);
    for (const trainLmHead of [false, true]) {
      const model = new TaskModel(weights, {prompt: prompt('pt2'), numLabels: 2, dropout: 0, usePooler: true, seed: 2, verbalizer: {stored: storedHead(), wordIds: new Int32Array([7, 21]), maskId: MASK_ID, trainLmHead}});
      const promptSize = 3 * 2 * 2 * H;
      assert.equal(model.params.trainable, promptSize + (trainLmHead ? lm : 0));
      assert.equal(model.params.total, weights.totalParams() + promptSize + lm);
      model.dispose();
    }
    weights.dispose();
  });

  for (const method of ['pt', 'pt2', 'ft']) {
    test(`${method} with the verbalizer trains on a tiny batch: the loss goes down`, async () => {
      await tf.setBackend('cpu');
      // Weights at a larger scale than BERT's 0.02, so a frozen random encoder passes the prompt's signal on.
      const weights = tinyWeights({initializerRange: 0.3});
      const model = new TaskModel(weights, {prompt: prompt(method), numLabels: 2, dropout: 0, usePooler: true, seed: 6, verbalizer: {stored: storedHead(), wordIds: new Int32Array([7, 21]), maskId: MASK_ID, trainLmHead: false}});
      const batch = randomBatch([6, 4, 5, 3], {pairTypes: false, seed: 12});
      for (let b = 0; b < batch.batch; b++) batch.inputIds[b * batch.seqLen + 1] = MASK_ID;
      const {first, last} = lossFalls(model, batch, new Int32Array([1, 0, 1, 0]), method === 'ft' ? 10 : 25);
      assert.ok(last < first * 0.7, `loss ${first} → ${last}`);
      model.dispose();
      weights.dispose();
    });
  }

  test('mask rows skip an input prompt, and an input without a mask is an error', () => {
    assert.deepEqual(Array.from(maskRows(new Int32Array([1, 4, 2, 1, 2, 4]), 2, 3, 4, 2)), [3, 9]);
    assert.throws(() => maskRows(new Int32Array([1, 2, 3]), 1, 3, 4, 0), /no mask token/);
  });
});

describe('verbalizer templates, words and checkpoints', () => {
  // A whitespace tokenizer: [CLS]=1, [SEP]=2, [MASK]=4, [UNK]=3, words by a fixed table.
  const table = new Map(['yes', 'no', 'maybe', 'the', 'cat', 'sat', '?', ','].map((w, i) => [w, 10 + i]));
  const tokenizer = {
    clsId: 1, sepId: 2, maskId: MASK_ID, unkId: 3,
    encode: (text: string) => ({inputIds: [1, ...text.split(/\s+/).filter(Boolean).map((w) => table.get(w) ?? 3), 2]}),
  };
  const where = {file: 'x.yaml', field: 'tasks[0].verbalizer.words'};

  test('a template fills its fields, keeps its mask and cuts the longer text first', () => {
    const parts = parseTemplate('{premise} ? [MASK] , {hypothesis}', 'rte', {field: 't'});
    const full = encodeTemplate(parts, {a: 'the cat sat', b: 'cat'}, tokenizer, 20);
    assert.deepEqual(full.inputIds, [1, 13, 14, 15, 16, MASK_ID, 17, 14, 2]);
    assert.equal(full.truncated, false);
    const cut = encodeTemplate(parts, {a: 'the cat sat', b: 'cat'}, tokenizer, 7);
    assert.deepEqual(cut.inputIds, [1, 13, 16, MASK_ID, 17, 14, 2]);
    assert.equal(cut.truncated, true);
  });

  test('bad templates and words are errors naming them', () => {
    assert.throws(() => parseTemplate('{a} {b}', 'rte', {field: 't'}), /exactly one \[MASK\], it has 0/);
    assert.throws(() => parseTemplate('{a} [MASK] {nope}', 'rte', {field: 't'}), /unknown field \{nope\}.*\{premise\}/);
    assert.deepEqual(Array.from(labelWordIds(['true', 'false'], {true: 'yes', false: 'no'}, tokenizer, where)), [10, 11]);
    assert.throws(() => labelWordIds(['true', 'false'], {true: 'yes', false: 'nope'}, tokenizer, where), /label word "nope" \(label "false"\) is not in the checkpoint's vocabulary/);
    assert.throws(() => labelWordIds(['true', 'false'], {true: 'the cat', false: 'no'}, tokenizer, where), /label word "the cat" \(label "true"\) is 2 tokens of/);
    assert.throws(() => labelWordIds(['true', 'false'], {true: 'yes'}, tokenizer, where), /no word for label "false"/);
  });

  test('a checkpoint without an MLM head is an error naming the missing tensors', () => {
    const checkpoint = tinyCheckpoint();
    assert.throws(() => readMlmHead(new Map(), checkpoint.config, '/models/bare'), /\/models\/bare has none: missing cls\.predictions\.transform\.dense\.weight, .*cls\.predictions\.bias/);
    const stored = storedHead();
    const heads = new Map<string, NamedTensor>([
      ['lm_head.dense.weight', stored.dense.weight], ['lm_head.dense.bias', stored.dense.bias],
      ['lm_head.layer_norm.weight', stored.norm.weight], ['lm_head.layer_norm.bias', stored.norm.bias], ['lm_head.bias', stored.bias],
    ]);
    const roberta = readMlmHead(heads, checkpoint.config, '/models/roberta');
    assert.equal(roberta.activation, 'gelu');
    assert.equal(roberta.names.dense, 'lm_head.dense');
  });
});

describe('prompt init from word embeddings (pt, ptv1)', () => {
  test('the prompt starts from the given tokens\' word embeddings, repeated to fill P; ptv1\'s encoder reads them', async () => {
    await tf.setBackend('cpu');
    const weights = tinyWeights();
    const table = weights.get('embeddings.word_embeddings.weight').arraySync() as number[][];
    const ids = new Int32Array([3, 7]);
    const pt = new TaskModel(weights, {prompt: prompt('pt'), numLabels: 2, dropout: 0, usePooler: true, seed: 1, promptInitIds: ids});
    const values = pt.prompt.variables[0].arraySync() as number[][];
    assert.deepEqual(values.map((row) => row.map((v) => Math.fround(v))), [table[3], table[7], table[3]].map((row) => row.map((v) => Math.fround(v))));
    const ptv1 = new TaskModel(weights, {prompt: prompt('ptv1'), numLabels: 2, dropout: 0, usePooler: true, seed: 1, promptInitIds: ids});
    assert.deepEqual(ptv1.prompt.variables[0].arraySync(), values, 'the encoder\'s input embeddings');
    pt.dispose();
    ptv1.dispose();
    weights.dispose();
  });

  test('init ids: words by their sub-tokens, vocab by a seeded draw of ordinary tokens', async () => {
    const {promptInitIds} = await import('../../src/experiment/verbalizer-setup.js');
    const {parseConfig} = await import('../../src/config/load.js');
    const {planJobs} = await import('../../src/config/plan.js');
    const tokenizer = {
      clsId: 1, sepId: 2, maskId: 4, unkId: 3, padId: 0, vocabSize: 12,
      encode: (text: string) => ({inputIds: [1, ...text.split(/\s+/).map((w) => ({good: 10, bad: 11})[w] ?? 3), 2]}),
    };
    const job = (prompt: string) => planJobs(parseConfig(`name: x\nmodel: {path: m}\nmethods: [pt, pt2]\nprompt: {length: 5, ${prompt}}\ntasks: [{name: rte, data: d}]\n`, 'x.yaml').config);
    const [words, deep] = job('init: words, init_words: [good, bad]');
    assert.deepEqual(Array.from(promptInitIds(words, tokenizer, 1, 'x.yaml')!), [10, 11]);
    assert.equal(promptInitIds(deep, tokenizer, 1, 'x.yaml'), undefined, 'pt2 has no input prompt to start');
    const [vocab] = job('init: vocab');
    const drawn = Array.from(promptInitIds(vocab, tokenizer, 1, 'x.yaml')!);
    assert.equal(drawn.length, 5);
    assert.ok(drawn.every((id) => id >= 5 && id < 12), `ordinary tokens only: ${drawn}`);
    assert.deepEqual(Array.from(promptInitIds(vocab, tokenizer, 1, 'x.yaml')!), drawn, 'seeded');
    assert.equal(promptInitIds(job('init: random')[0], tokenizer, 1, 'x.yaml'), undefined);
  });
});
