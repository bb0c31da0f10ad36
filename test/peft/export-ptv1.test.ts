/**
 * `ptv2 export` of P-tuning (ptv1) runs: the prompt encoder is a training-time
 * reparameterisation, so the adapter is PROMPT_TUNING with the encoder's output as its table.
 * A tiny experiment (ptv1 with the LSTM encoder on CoNLL-03, with the MLP encoder on CoNLL-04,
 * and on RTE, which is refused) is trained and exported through the built CLI; the adapter is then
 * applied as PEFT applies it (`encodeFile`, the code of `ptv2 models encode --adapter`) and its
 * hidden states and logits are compared with ptv2's own model holding the run's trained state.
 */
import {before, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as tf from '@tensorflow/tfjs';
import {encodeFile} from '../../src/experiment/encode.js';
import {variableName} from '../../src/experiment/job-setup.js';
import {loadCheckpoint} from '../../src/model/checkpoint.js';
import {EncoderWeights} from '../../src/model/encoder.js';
import {createEncoder} from '../../src/model/encoders.js';
import {TaskModel} from '../../src/model/model.js';
import {createPrompt, type PromptOptions} from '../../src/model/prompt.js';
import type {PromptEncoderKind} from '../../src/model/prompt-encoder.js';
import {readSafetensors, type NamedTensor} from '../../src/model/safetensors.js';
import {ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, buildPeftAdapter, readPeftPrompt, toTorchLinear, type RunForExport} from '../../src/peft.js';
import {loadTokenizer} from '../../src/tokenizer/index.js';
import {ptv2, ROOT} from '../helpers/cli.js';

const P = 4;
const H = 16;
/** Largest difference allowed between ptv2's numbers and the adapter's: float32 rounding of the same sums, one on WASM (training) and one on the tfjs CPU backend. */
const TOLERANCE = 1e-5;

let dir = '';
let db = '';
let modelDir = '';
const runIds = new Map<string, number>();

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-export-ptv1-'));
  db = path.join(dir, 'ptv2.db');
  modelDir = path.join(dir, 'model');
  const config = path.join(dir, 'ptv1.yaml');
  fs.writeFileSync(config, `name: export-ptv1
database: ${db}
output_dir: ${path.join(dir, 'out')}
model:
  path: ${modelDir}
  init: {layers: 2, hidden: ${H}, heads: 2, intermediate: 32, max_positions: 96}
  max_length: 48
methods: [ptv1]
prompt: {length: ${P}, dropout: 0}
train: {epochs: 2, batch_size: 8, lr: 0.05, max_train_examples: 16, max_eval_examples: 8, dropout: 0}
tasks:
  - {name: conll03, data: ${path.join(ROOT, 'datasets/ner/conll03')}}
  - {name: conll04, data: ${path.join(ROOT, 'datasets/ner/conll04')}, method_overrides: {ptv1: {prompt: {encoder: mlp}}}}
  - {name: rte, data: ${path.join(ROOT, 'datasets/superglue/RTE')}}
`);
  const run = ptv2(['run', config, '--plain'], dir);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  const sql = new Database(db, {readonly: true});
  for (const r of sql.prepare('SELECT id, task FROM runs').all() as {id: number; task: string}[]) runIds.set(r.task, r.id);
  sql.close();
});

function exported(task: string, name = task) {
  const out = path.join(dir, 'adapters', name);
  const r = ptv2(['export', String(runIds.get(task)), '--out', out, '--db', db, '--json'], dir);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const sql = new Database(db, {readonly: true});
  const state = (sql.prepare("SELECT path FROM artifacts WHERE run_id = ? AND kind = 'trainable_state'").get(runIds.get(task)) as {path: string}).path;
  sql.close();
  return {
    out,
    config: JSON.parse(fs.readFileSync(path.join(out, ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, unknown>,
    tensors: readSafetensors(path.join(out, ADAPTER_WEIGHTS_FILE)).tensors,
    info: JSON.parse(fs.readFileSync(path.join(out, 'ptv2_export.json'), 'utf8')) as Record<string, unknown>,
    trainable: readSafetensors(state).tensors,
  };
}

/** The prompt options the run trained with (the config above); only the encoder differs between tasks. */
const promptOptions = (encoder: PromptEncoderKind): PromptOptions => ({
  method: 'ptv1', length: P, reparameterize: false, reparamHidden: 512, dropout: 0, depthOrder: 'ascending', shiftPositions: true, initStd: 0.02, seed: 1, encoder,
});

/** Every variable of `variables` set to the run's trained value of the same name. */
function load(variables: readonly tf.Variable[], trainable: Map<string, NamedTensor>, prefix = ''): void {
  for (const v of variables) {
    const saved = trainable.get(`${prefix}${variableName(v)}`);
    assert.ok(saved, `trained state has ${variableName(v)}`);
    v.assign(tf.tensor(saved.data, v.shape));
  }
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

for (const [task, encoder] of [['conll03', 'lstm'], ['conll04', 'mlp']] as const) {
  test(`ptv1 (${encoder} encoder): PROMPT_TUNING whose table is the prompt encoder's output, and ptv2_export.json says so`, async () => {
    await tf.setBackend('cpu');
    const {config, tensors, info, trainable} = exported(task);
    assert.equal(config.peft_type, 'PROMPT_TUNING');
    assert.equal(config.task_type, 'TOKEN_CLS');
    assert.equal(config.num_virtual_tokens, P);
    assert.equal(config.token_dim, H);
    assert.deepEqual([...tensors.keys()].sort(), ['base_model.classifier.bias', 'base_model.classifier.weight', 'prompt_embeddings']);
    assert.deepEqual(info.materialised_from, {method: 'ptv1', prompt_encoder: encoder, hidden_size: H});
    assert.equal(info.output_offset, P);

    const table = tensors.get('prompt_embeddings')!;
    assert.deepEqual(table.shape, [P, H]);
    assert.deepEqual(table.data, trainable.get('prompt.table')!.data, 'the table the run saved at its best epoch');
    // The encoder's weights of the same run, run again: the table is their output, not the raw embeddings.
    const prompt = createPrompt(loadCheckpoint(modelDir).config, promptOptions(encoder));
    load(prompt.variables, trainable);
    const output = tf.tidy(() => prompt.table!().dataSync());
    prompt.dispose();
    const worst = maxDifference(output, table.data);
    assert.ok(worst < 1e-6, `encoder output vs prompt_embeddings: largest difference ${worst}`);
    assert.ok(maxDifference(trainable.get('prompt.embedding')!.data, table.data) > 1e-3, 'the encoder\'s input embeddings are not what is exported');
    assert.deepEqual(tensors.get('base_model.classifier.weight')!.data, toTorchLinear(trainable.get('token_classifier.weight')!).data);
  });
}

test('the ptv1 adapter applied as PEFT applies it reproduces ptv2\'s hidden states and tag logits', async () => {
  await tf.setBackend('cpu');
  const {out, tensors, info, trainable} = exported('conll03', 'conll03-applied');
  const labels = info.labels as string[];
  const tokenizer = loadTokenizer(modelDir);
  const sentences = ['The ferry from Dover sailed to Calais on Monday .', 'Peter Blackburn'];
  const inputs = sentences.map((text) => tokenizer.encode(text, undefined, 48));
  const inputFile = path.join(dir, 'encode-in.jsonl');
  fs.writeFileSync(inputFile, inputs.map((x) => JSON.stringify({input_ids: x.inputIds, token_type_ids: x.tokenTypeIds})).join('\n') + '\n');
  const viaAdapter: {last_hidden_state: number[][]; prompt_rows?: number}[] = [];
  await encodeFile(tf, {model: modelDir, input: inputFile, adapter: out, write: (line) => viaAdapter.push(JSON.parse(line) as never)});
  assert.equal(readPeftPrompt(out).config.peft_type, 'PROMPT_TUNING');

  // ptv2 as it trained: the checkpoint's encoder with the ptv1 prompt encoder and the token head, from the run's state.
  const checkpoint = loadCheckpoint(modelDir);
  const weights = new EncoderWeights(checkpoint);
  const model = new TaskModel(weights, {prompt: promptOptions('lstm'), head: 'token', numLabels: labels.length, dropout: 0, usePooler: true, seed: 1});
  load([...model.prompt.variables, ...model.head.variables], trainable);
  const encoder = createEncoder(weights, {trainable: false, seed: 0});
  const weight = tensors.get('base_model.classifier.weight')!;
  const bias = tensors.get('base_model.classifier.bias')!;
  try {
    inputs.forEach((input, i) => {
      const n = input.inputIds.length;
      const batch = {batch: 1, seqLen: n, inputIds: Int32Array.from(input.inputIds), tokenTypeIds: Int32Array.from(input.tokenTypeIds), attentionMask: new Float32Array(n).fill(1)};
      const [hidden, logits] = tf.tidy(() => [
        encoder.forward(batch, model.prompt.hooks(1, false), false).dataSync(),
        model.logits(batch, false).dataSync(),
      ]);
      const rows = viaAdapter[i].last_hidden_state;
      assert.equal(viaAdapter[i].prompt_rows, P);
      assert.equal(rows.length, P + n);
      const hiddenWorst = maxDifference(rows.flat(), hidden);
      assert.ok(hiddenWorst < TOLERANCE, `sentence ${i}: hidden states differ by up to ${hiddenWorst}`);

      // transformers' TokenClassification head on PEFT's outputs, the first output_offset rows dropped: W [tags, h], b [tags].
      const tags = labels.length;
      const peftLogits = rows.slice(info.output_offset as number).flatMap((row) =>
        Array.from({length: tags}, (_, k) => row.reduce((sum, x, j) => sum + x * weight.data[k * H + j], bias.data[k])));
      const logitsWorst = maxDifference(peftLogits, logits);
      assert.ok(logitsWorst < TOLERANCE, `sentence ${i}: logits differ by up to ${logitsWorst}`);
      assert.ok(logits.some((v) => Math.abs(v) > 1e-3), 'the logits are not all zero');
    });
  } finally {
    encoder.dispose();
    model.dispose();
    weights.dispose();
  }
});

test('ptv1 on classification is refused as pt is: the classifier would pool the first prompt vector', () => {
  const out = path.join(dir, 'refused-rte');
  const r = ptv2(['export', String(runIds.get('rte')), '--out', out, '--db', db], dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /cannot export run \d+ \(rte\/ptv1\) to PEFT: its input prompt comes before \[CLS\].*pools the first position/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.ok(!fs.existsSync(out));
});

test('a ptv1 run without its saved table, or with an unknown encoder, is refused naming the field', () => {
  const run = (prompt: object): RunForExport => ({
    id: 3, task: 'demo', method: 'ptv1', stage: 'single', status: 'completed', source: 'runs/x.db',
    params: {prompt: {length: 2, reparameterize: false, reparam_hidden: 4, depth: null, shift_positions: true, encoder: 'lstm', ...prompt}, model: {use_pooler: true}, task: {family: 'tagging', labels: ['O', 'B-X']}, head: 'linear'},
  });
  const checkpoint = loadCheckpoint(modelDir);
  const inputs = (r: RunForExport) => ({
    run: r, encoder: checkpoint.config, trainableFile: 'out/trainable.safetensors', baseModel: modelDir,
    trainable: new Map<string, NamedTensor>([
      ['prompt.embedding', {shape: [2, H], data: new Float32Array(2 * H)}],
      ['token_classifier.weight', {shape: [H, 2], data: new Float32Array(2 * H)}],
      ['token_classifier.bias', {shape: [2], data: new Float32Array(2)}],
    ]),
  });
  assert.throws(() => buildPeftAdapter(inputs(run({}))), /^UserError: out\/trainable\.safetensors prompt\.table: has no tensor prompt\.table/);
  assert.throws(() => buildPeftAdapter(inputs(run({encoder: 'gru'}))), /prompt\.encoder: run 3 params_json: expected "lstm" or "mlp", got "gru"/);
});
