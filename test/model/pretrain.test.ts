/**
 * Pretraining end to end at toy sizes: the corpus keeps every dev/test text out, a few epochs
 * lower the held-out MLM loss, and the written checkpoint is a BertForMaskedLM that loadCheckpoint
 * reads back (encoder by name and shape, head set aside). Also `model.init.pretrain` in configs.
 */
import {before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {parseConfig} from '../../src/config/load.js';
import {heldOutTexts, pretrainingCorpus, type CorpusItem} from '../../src/data/synthetic/corpus.js';
import {worldVocabulary} from '../../src/data/synthetic/index.js';
import {ensureCheckpoint} from '../../src/experiment/experiment.js';
import {encoderTensorSpecs, loadCheckpoint, randomCheckpoint, writeCheckpoint, type RandomCheckpointOptions} from '../../src/model/checkpoint.js';
import {buildWordPieceVocab} from '../../src/model/vocab.js';
import {pretrainedCheckpoint, unigramBaseline, type PretrainSettings} from '../../src/pretrain.js';
import {buildWordPieceTokenizerJson, tokenizerFromJson} from '../../src/tokenizer/index.js';
import {useBackend} from '../helpers/tiny.js';

const HEAD_NAMES = [
  'cls.predictions.bias',
  'cls.predictions.transform.LayerNorm.bias',
  'cls.predictions.transform.LayerNorm.weight',
  'cls.predictions.transform.dense.bias',
  'cls.predictions.transform.dense.weight',
];

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-pretrain-'));
}

describe('pretraining corpus', () => {
  const corpus = pretrainingCorpus({extraScale: 0.2});

  test('holds no text of any sample data set\'s dev or test split', () => {
    const excluded = heldOutTexts();
    assert.ok(excluded.size > 1000);
    for (const item of corpus) {
      assert.ok(!excluded.has(item.textA), `dev/test text in the corpus: ${item.textA}`);
      if (item.textB !== undefined) assert.ok(!excluded.has(item.textB), `dev/test text in the corpus: ${item.textB}`);
    }
  });

  test('has sentence pairs and single texts, the training splits\' and fresh ones, the same every time', () => {
    const pairs = corpus.filter((item) => item.textB !== undefined).length;
    assert.ok(pairs > 500 && pairs < corpus.length, `${pairs} pairs of ${corpus.length}`);
    const trainingOnly = pretrainingCorpus({extraScale: 0});
    assert.ok(corpus.length > trainingOnly.length);
    const key = (item: CorpusItem) => `${item.textA}\u0000${item.textB ?? ''}`;
    const all = new Set(corpus.map(key));
    assert.ok(trainingOnly.every((item) => all.has(key(item))), 'the training splits\' items are all kept');
    assert.deepEqual(pretrainingCorpus({extraScale: 0.2}), corpus);
  });
});

test('unigram baseline: the most frequent training token, and add-one smoothed frequencies', () => {
  // Training tokens 5 5 5 6 (vocabulary 8); held-out targets 5, 6: accuracy 1/2,
  // loss = -(ln(4/12) + ln(2/12)) / 2.
  const baseline = unigramBaseline([5, 5, 5, 6], Int32Array.from([5, 6]), 8);
  assert.equal(baseline.accuracy, 0.5);
  assert.ok(Math.abs(baseline.loss - -(Math.log(4 / 12) + Math.log(2 / 12)) / 2) < 1e-12);
});

const VOCAB = buildWordPieceVocab(worldVocabulary());
const TOKENIZER = tokenizerFromJson(buildWordPieceTokenizerJson(VOCAB, {lowercase: true, stripAccents: null}));
const TINY: RandomCheckpointOptions = {layers: 1, hidden: 16, heads: 2, intermediate: 32, maxPositions: 32, vocabSize: VOCAB.length, seed: 3};
const QUICK: PretrainSettings = {
  epochs: 3,
  batchSize: 16,
  lr: 0.01,
  maxLength: 24,
  maskRate: 0.15,
  heldOut: 40,
  warmupRatio: 0.1,
  weightDecay: 0.01,
  maxGradNorm: 1,
  dropout: 0,
};

describe('pretrainedCheckpoint', () => {
  // Short single-segment items keep the three epochs to a second or two.
  const corpus = pretrainingCorpus({extraScale: 0}).filter((item) => item.textB === undefined && item.textA.length < 80).slice(0, 240);
  let result: Awaited<ReturnType<typeof pretrainedCheckpoint>>;

  before(async () => {
    await tf.setBackend('cpu');
    const tensorsBefore = tf.memory().numTensors;
    result = await pretrainedCheckpoint(TINY, TOKENIZER, VOCAB, corpus, QUICK);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'pretraining leaves no tensor behind');
  });

  test('a few epochs lower the held-out MLM loss below the unigram baseline\'s', () => {
    const {epochs, unigram, heldOutItems, trainItems} = result.report;
    assert.equal(epochs.length, 3);
    assert.equal(heldOutItems, 40);
    assert.equal(trainItems, 200);
    assert.ok(epochs[0].loss < Math.log(VOCAB.length), `first epoch ${epochs[0].loss} vs uniform ${Math.log(VOCAB.length)}`);
    assert.ok(epochs[2].loss < epochs[0].loss, `held-out loss ${epochs.map((e) => e.loss.toFixed(3)).join(' → ')}`);
    assert.ok(epochs[2].trainLoss < epochs[0].trainLoss);
    assert.ok(unigram.accuracy > 0 && unigram.loss < Math.log(VOCAB.length));
  });

  test('writes a BertForMaskedLM that loadCheckpoint reads back, head set aside, with the untrained pooler as drawn', () => {
    const dir = tempDir();
    writeCheckpoint(dir, result.config, result.weights, VOCAB);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, ['BertForMaskedLM']);
    const loaded = loadCheckpoint(dir);
    // The pooler is stored, exactly as the random checkpoint drew it (MLM does not train it).
    assert.equal(loaded.hasPooler, true);
    const drawn = randomCheckpoint(TINY).weights;
    for (const name of ['bert.pooler.dense.weight', 'bert.pooler.dense.bias']) assert.deepEqual(loaded.weights.get(name)!.data, drawn.get(name)!.data, name);
    const encoderNames = encoderTensorSpecs(loaded.config).map((spec) => spec.name);
    assert.deepEqual([...loaded.weights.keys()].sort(), encoderNames.sort());
    assert.ok(encoderNames.every((name) => name.startsWith('bert.')));
    assert.deepEqual([...loaded.heads.keys()].sort(), HEAD_NAMES);
    for (const [name, tensor] of [...loaded.weights, ...loaded.heads]) assert.deepEqual(tensor.data, result.weights.get(name)!.data, name);
    // It trained: the word embeddings moved away from the random initialisation.
    const random = randomCheckpoint(TINY).weights.get('bert.embeddings.word_embeddings.weight')!;
    assert.notDeepEqual(loaded.weights.get('bert.embeddings.word_embeddings.weight')!.data, random.data);
    fs.rmSync(dir, {recursive: true});
  });
});

const CONFIG = (init: string) => `name: t
model:
  path: PATH
  init: ${init}
methods: [pt2]
tasks:
  - name: rte
    data: datasets/superglue/RTE
`;

describe('model.init.pretrain', () => {
  test('absent leaves the checkpoint random; {} fills in every default', () => {
    assert.equal(parseConfig(CONFIG('{layers: 1}'), 'x.yaml').config.model.init!.pretrain, undefined);
    const pretrain = parseConfig(CONFIG('{layers: 1, pretrain: {}}'), 'x.yaml').config.model.init!.pretrain;
    assert.deepEqual(pretrain, {epochs: 4, batch_size: 32, lr: 0.003, max_length: 64, mask_rate: 0.15, corpus_scale: 1, dropout: 0});
  });

  const ERRORS = [
    {name: 'a DeBERTa init', init: '{type: deberta-v2, pretrain: {}}', message: 'x.yaml:4 model.init.type: expected "bert" or "roberta" when pretrain is set, got "deberta-v2"'},
    {name: 'inputs longer than the positions', init: '{max_positions: 32, pretrain: {max_length: 64}}', message: 'x.yaml:4 model.init.pretrain.max_length: expected an integer <= max_positions (32), got 64'},
    {name: 'a mask rate of 1', init: '{pretrain: {mask_rate: 1}}', message: 'x.yaml:4 model.init.pretrain.mask_rate: expected a number in (0, 1), got 1'},
    {name: 'an unknown key', init: '{pretrain: {epoch: 2}}', message: 'model.init.pretrain.epoch: unknown key "epoch"'},
  ];
  for (const c of ERRORS) {
    test(`refuses ${c.name}, naming file, line and key`, () => {
      assert.throws(() => parseConfig(CONFIG(c.init), 'x.yaml'), (error: Error) => {
        assert.ok(error.message.includes(c.message), error.message);
        return true;
      });
    });
  }

  test('ensureCheckpoint pretrains once, then reuses the directory', async () => {
    // The whole training-split corpus (~4,000 items) for one epoch: WASM takes a fraction of the CPU backend's time.
    await useBackend('wasm');
    const dir = path.join(tempDir(), 'bert');
    const text = CONFIG('{layers: 1, hidden: 8, heads: 2, intermediate: 16, max_positions: 16, pretrain: {epochs: 1, batch_size: 512, max_length: 16, corpus_scale: 0}}');
    const {config} = parseConfig(text.replace('PATH', dir), 'x.yaml');
    assert.deepEqual(await ensureCheckpoint(config), {created: true});
    assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['bert'], 'no partial directory is left beside it');
    const loaded = loadCheckpoint(dir);
    assert.deepEqual(loaded.config.raw.architectures, ['BertForMaskedLM']);
    assert.deepEqual([...loaded.heads.keys()].sort(), HEAD_NAMES);
    const written = fs.statSync(path.join(dir, 'model.safetensors')).mtimeMs;
    assert.deepEqual(await ensureCheckpoint(config), {created: false});
    assert.equal(fs.statSync(path.join(dir, 'model.safetensors')).mtimeMs, written);
    fs.rmSync(path.dirname(dir), {recursive: true});
  });
});
