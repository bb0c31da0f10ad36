/**
 * DeBERTa-v2 checkpoints end to end: `ptv2 models init --type deberta-v2` writes HF's tensor names
 * and config keys and a Unigram tokenizer.json that load back; checkpoints saved as
 * DebertaV2Model or DebertaV2ForSequenceClassification load; what ptv2 does not implement is
 * refused by name; and every method runs on every family of sample task through the built CLI.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {loadCheckpoint, randomCheckpoint, writeCheckpoint} from '../../src/model/checkpoint.js';
import {EncoderWeights} from '../../src/model/encoder.js';
import {readSafetensors} from '../../src/model/safetensors.js';
import {buildUnigramVocab} from '../../src/model/unigram-vocab.js';
import {loadTokenizer} from '../../src/tokenizer/index.js';
import {UserError} from '../../src/errors.js';
import {ptv2, ROOT} from '../helpers/cli.js';

/** HF's DebertaV2Model names for one layer of a DeBERTa-v3-style model (share_att_key: no pos_*_proj). */
const LAYER_NAMES = [
  'attention.self.query_proj.weight', 'attention.self.query_proj.bias',
  'attention.self.key_proj.weight', 'attention.self.key_proj.bias',
  'attention.self.value_proj.weight', 'attention.self.value_proj.bias',
  'attention.output.dense.weight', 'attention.output.dense.bias',
  'attention.output.LayerNorm.weight', 'attention.output.LayerNorm.bias',
  'intermediate.dense.weight', 'intermediate.dense.bias',
  'output.dense.weight', 'output.dense.bias',
  'output.LayerNorm.weight', 'output.LayerNorm.bias',
];

test('models init --type deberta-v2 writes HF names, shapes and config keys, and a tokenizer.json that loads', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-deberta-init-'));
  const out = path.join(dir, 'm');
  const r = ptv2(['models', 'init', '--type', 'deberta-v2', '--out', out, '--layers', '2', '--hidden', '32', '--heads', '2', '--intermediate', '64'], dir);
  assert.equal(r.code, 0, r.stderr);

  const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(config.model_type, 'deberta-v2');
  for (const [key, value] of Object.entries({relative_attention: true, position_buckets: 256, share_att_key: true, norm_rel_ebd: 'layer_norm', position_biased_input: false, type_vocab_size: 0, pooler_hidden_size: 32, max_relative_positions: -1})) {
    assert.deepEqual(config[key], value, key);
  }
  assert.deepEqual(config.pos_att_type, ['p2c', 'c2p']);
  assert.equal(config.position_embedding_type, undefined, 'DebertaV2Config has no position_embedding_type');

  const {tensors, metadata} = readSafetensors(path.join(out, 'model.safetensors'));
  assert.deepEqual(metadata, {format: 'pt'});
  const expected = [
    'deberta.embeddings.word_embeddings.weight', 'deberta.embeddings.LayerNorm.weight', 'deberta.embeddings.LayerNorm.bias',
    ...[0, 1].flatMap((l) => LAYER_NAMES.map((n) => `deberta.encoder.layer.${l}.${n}`)),
    'deberta.encoder.rel_embeddings.weight', 'deberta.encoder.LayerNorm.weight', 'deberta.encoder.LayerNorm.bias',
  ];
  assert.deepEqual([...tensors.keys()].sort(), expected.sort());
  assert.deepEqual(tensors.get('deberta.encoder.rel_embeddings.weight')!.shape, [512, 32]);
  assert.deepEqual(tensors.get('deberta.encoder.layer.1.intermediate.dense.weight')!.shape, [64, 32]);

  // The names round-trip through ptv2's loader.
  const loaded = loadCheckpoint(out);
  assert.deepEqual([...loaded.weights.keys()].sort(), expected.sort());
  assert.equal(loaded.config.deberta?.span, 256);

  const tokenizer = loadTokenizer(out);
  assert.deepEqual([tokenizer.padId, tokenizer.clsId, tokenizer.sepId, tokenizer.unkId], [0, 1, 2, 3]);
  assert.equal(tokenizer.maskId, tokenizer.vocabSize - 1, '[MASK] last, as in DeBERTa-v3');
  assert.equal(tokenizer.vocabSize, config.vocab_size);
  const pieces = tokenizer.tokenize('Lives in Qzx.');
  // A sample-world word is one piece (lower-cased, as the words are); an unknown one is spelled out.
  assert.deepEqual(pieces, ['▁lives', '▁in', '▁', 'q', 'z', 'x', '.']);
  const pair = tokenizer.encode('lives', 'in', 16);
  assert.deepEqual(pair.tokenTypeIds, [0, 0, 0, 1, 1]);
  assert.equal(pair.inputIds[0], tokenizer.clsId);
});

test('a DebertaV2Model (no prefix) and a DebertaV2ForSequenceClassification checkpoint load; the latter\'s pooler starts the ContextPooler', async () => {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-deberta-load-'));
  const {config, weights} = randomCheckpoint({modelType: 'deberta-v2', layers: 1, hidden: 8, heads: 2, intermediate: 16, maxPositions: 32, vocabSize: 60, seed: 1, configOverrides: {position_buckets: 8}});
  const vocab = buildUnigramVocab(['anna', 'oslo']);

  const bare = path.join(dir, 'bare');
  writeCheckpoint(bare, config, new Map([...weights].map(([name, t]) => [name.replace(/^deberta\./, ''), t])), vocab);
  assert.equal(loadCheckpoint(bare).weights.size, weights.size);

  const classifier = path.join(dir, 'classifier');
  const pooler = {shape: [8, 8], data: Float32Array.from({length: 64}, (_, i) => i / 64)};
  const headTensors = new Map([...weights, ['pooler.dense.weight', pooler], ['pooler.dense.bias', {shape: [8], data: new Float32Array(8).fill(0.5)}], ['classifier.weight', {shape: [2, 8], data: new Float32Array(16)}], ['classifier.bias', {shape: [2], data: new Float32Array(2)}]]);
  writeCheckpoint(classifier, {...config, architectures: ['DebertaV2ForSequenceClassification']}, headTensors, vocab);
  const loaded = loadCheckpoint(classifier);
  assert.deepEqual([...loaded.heads.keys()].sort(), ['classifier.bias', 'classifier.weight', 'pooler.dense.bias', 'pooler.dense.weight']);
  const encoderWeights = new EncoderWeights(loaded);
  const {TaskModel} = await import('../../src/model/model.js');
  const model = new TaskModel(encoderWeights, {prompt: {method: 'pt2', length: 2, reparameterize: false, reparamHidden: 8, dropout: 0, depthOrder: 'ascending', shiftPositions: true, initStd: 0.02, seed: 1}, numLabels: 3, dropout: 0, usePooler: true, seed: 2});
  const [w, b] = model.head.variables;
  assert.equal(w.name.split('#')[0], 'pooler.dense.weight');
  // Stored [out, in]; ptv2 keeps linears as [in, out].
  assert.equal((w.arraySync() as number[][])[3][1], pooler.data[1 * 8 + 3]);
  assert.deepEqual(b.arraySync(), new Array(8).fill(0.5));
  model.dispose();
  encoderWeights.dispose();
});

test('what ptv2 does not implement, and a checkpoint without tokenizer.json, are refused naming the file and field', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-deberta-refuse-'));
  const {config, weights} = randomCheckpoint({modelType: 'deberta-v2', layers: 1, hidden: 8, heads: 2, intermediate: 16, maxPositions: 32, vocabSize: 60, seed: 1});
  const vocab = buildUnigramVocab(['anna']);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{conv_kernel_size: 3}, /config\.json.*conv_kernel_size.*ConvLayer/],
    [{pos_att_type: ['c2p', 'p2p']}, /pos_att_type.*unsupported term "p2p"/],
    [{embedding_size: 16}, /embedding_size.*embed_proj/],
  ];
  for (const [overrides, message] of cases) {
    const out = path.join(dir, Object.keys(overrides)[0]);
    writeCheckpoint(out, {...config, ...overrides}, weights, vocab);
    assert.throws(() => loadCheckpoint(out), (e: unknown) => e instanceof UserError && message.test(e.message + String((e as UserError).location?.field ?? '')), JSON.stringify(overrides));
  }
  // A missing relative table is named with its shape.
  const missing = path.join(dir, 'missing');
  writeCheckpoint(missing, config, new Map([...weights].filter(([name]) => !name.includes('rel_embeddings'))), vocab);
  assert.throws(() => loadCheckpoint(missing), /missing tensors: deberta\.encoder\.rel_embeddings\.weight \[512, 8\]/);

  // Only the SentencePiece model: the error says how to produce tokenizer.json.
  const spm = path.join(dir, 'spm-only');
  fs.mkdirSync(spm);
  fs.writeFileSync(path.join(spm, 'spm.model'), 'not read');
  assert.throws(() => loadTokenizer(spm), (e: unknown) => e instanceof UserError && /spm\.model/.test(String(e.location?.file)) && e.suggestions.some((s) => s.includes('AutoTokenizer.from_pretrained') && s.includes('save_pretrained')));
});

test('every method and every head family trains on a DeBERTa checkpoint through ptv2 run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-deberta-run-'));
  const file = path.join(dir, 'deberta.yaml');
  const data = (p: string) => path.join(ROOT, 'datasets', p);
  fs.writeFileSync(file, `name: deberta
database: ${path.join(dir, 'ptv2.db')}
output_dir: ${path.join(dir, 'out')}
model:
  path: ${path.join(dir, 'model')}
  init: {type: deberta-v2, layers: 1, hidden: 16, heads: 2, intermediate: 32, max_positions: 128}
  max_length: 64
methods: [ft, pt, prefix, pt2, mpt2]
prompt: {length: 4}
train: {epochs: 1, batch_size: 8, max_train_examples: 16, max_eval_examples: 8, log_every: 1}
tasks:
  - {name: rte, data: ${data('superglue/RTE')}}
  - {name: copa, data: ${data('superglue/COPA')}}
  - {name: conll03, data: ${data('ner/conll03')}}
  - {name: squad, data: ${data('qa/squad')}, max_length: 96}
`);
  const r = ptv2(['run', file], dir);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const sql = new Database(path.join(dir, 'ptv2.db'), {readonly: true});
  const runs = sql.prepare('SELECT task, method, stage, status, error, trainable_params, total_params FROM runs').all() as {task: string; method: string; stage: string; status: string; error: string | null; trainable_params: number; total_params: number}[];
  sql.close();
  // 4 tasks × 5 methods, plus MPT-2's shared stage.
  assert.equal(runs.length, 21);
  for (const run of runs) assert.equal(run.status, 'completed', `${run.task}/${run.method}/${run.stage}: ${run.error}`);
  const pt2 = runs.find((run) => run.task === 'rte' && run.method === 'pt2')!;
  assert.ok(pt2.trainable_params < pt2.total_params / 2, 'pt2 trains a small share');
});
