/**
 * RoBERTa pretraining at toy sizes: masked-token accuracy on held-out text beats always guessing
 * the most frequent token, and the result is a RobertaForMaskedLM (roberta.*, lm_head.*, pooler
 * as drawn) that loadCheckpoint and the byte-level BPE tokenizer read back; `model.init: {type:
 * roberta, pretrain: …}` writes one through ensureCheckpoint.
 */
import {before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {parseConfig} from '../../src/config/load.js';
import {pretrainingCorpus} from '../../src/data/synthetic/corpus.js';
import {worldPieces} from '../../src/data/synthetic/index.js';
import {ensureCheckpoint} from '../../src/experiment/experiment.js';
import {buildCasedBpeVocab} from '../../src/model/bpe-vocab.js';
import {encoderTensorSpecs, loadCheckpoint, randomCheckpoint, writeCheckpoint, type RandomCheckpointOptions} from '../../src/model/checkpoint.js';
import {pretrainedCheckpoint, vocabTokenizer, type PretrainSettings} from '../../src/pretrain.js';
import {loadTokenizer} from '../../src/tokenizer/index.js';
import {useBackend} from '../helpers/tiny.js';

const HEAD_NAMES = ['lm_head.bias', 'lm_head.dense.bias', 'lm_head.dense.weight', 'lm_head.layer_norm.bias', 'lm_head.layer_norm.weight'];
const VOCAB = buildCasedBpeVocab(worldPieces());
const TINY: RandomCheckpointOptions = {modelType: 'roberta', layers: 1, hidden: 32, heads: 2, intermediate: 64, maxPositions: 32, vocabSize: VOCAB.tokens.length, seed: 3};
const SETTINGS: PretrainSettings = {epochs: 6, batchSize: 32, lr: 0.01, maxLength: 24, maskRate: 0.15, heldOut: 150, warmupRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1, dropout: 0};

describe('RoBERTa pretraining', () => {
  const corpus = pretrainingCorpus({extraScale: 0}).filter((item) => item.textB === undefined && item.textA.length < 80).slice(0, 3000);
  let result: Awaited<ReturnType<typeof pretrainedCheckpoint>>;

  before(async () => {
    await useBackend('wasm');
    const tensorsBefore = tf.memory().numTensors;
    result = await pretrainedCheckpoint(TINY, vocabTokenizer(VOCAB), VOCAB.tokens, corpus, SETTINGS);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'pretraining leaves no tensor behind');
  });

  test('held-out masked-token accuracy beats the most frequent token', () => {
    const {epochs, unigram, heldOutTargets} = result.report;
    const last = epochs.at(-1)!;
    assert.ok(heldOutTargets > 200, `${heldOutTargets} held-out targets`);
    assert.ok(last.accuracy > unigram.accuracy + 0.03, `accuracy ${epochs.map((e) => e.accuracy.toFixed(3)).join(' → ')} vs most frequent token ${unigram.accuracy.toFixed(3)}`);
    assert.ok(last.loss < epochs[0].loss, `held-out loss ${epochs.map((e) => e.loss.toFixed(3)).join(' → ')}`);
  });

  test('writes a RobertaForMaskedLM that ptv2 reads back: encoder by name, lm_head set aside, pooler as drawn', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-roberta-mlm-'));
    writeCheckpoint(dir, result.config, result.weights, VOCAB);
    const loaded = loadCheckpoint(dir);
    assert.deepEqual(loaded.config.raw.architectures, ['RobertaForMaskedLM']);
    assert.deepEqual([...loaded.heads.keys()].sort(), HEAD_NAMES);
    assert.deepEqual([...loaded.weights.keys()].sort(), encoderTensorSpecs(loaded.config).map((s) => s.name).sort());
    const drawn = randomCheckpoint(TINY).weights;
    assert.deepEqual(loaded.weights.get('roberta.pooler.dense.weight')!.data, drawn.get('roberta.pooler.dense.weight')!.data);
    assert.notDeepEqual(loaded.weights.get('roberta.embeddings.word_embeddings.weight')!.data, drawn.get('roberta.embeddings.word_embeddings.weight')!.data);
    // The tokenizer pretraining used is the one the directory loads with.
    const text = 'Wrenfield won the regatta.';
    assert.deepEqual(loadTokenizer(dir).encode(text, undefined, 24), vocabTokenizer(VOCAB).encode(text, undefined, 24));
    fs.rmSync(dir, {recursive: true});
  });

  test('model.init {type: roberta, pretrain} writes it through ensureCheckpoint', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-roberta-init-')), 'roberta');
    const text = `name: t\nmodel:\n  path: ${dir}\n  init: {type: roberta, layers: 1, hidden: 8, heads: 2, intermediate: 16, max_positions: 16, pretrain: {epochs: 1, batch_size: 512, max_length: 16, corpus_scale: 0}}\nmethods: [pt2]\ntasks:\n  - {name: rte, data: datasets/superglue/RTE}\n`;
    assert.deepEqual(await ensureCheckpoint(parseConfig(text, 'x.yaml').config), {created: true});
    const loaded = loadCheckpoint(dir);
    assert.deepEqual(loaded.config.raw.architectures, ['RobertaForMaskedLM']);
    assert.equal(loaded.config.positionOffset, 2);
    assert.deepEqual([...loaded.heads.keys()].sort(), HEAD_NAMES);
    fs.rmSync(path.dirname(dir), {recursive: true});
  });
});
