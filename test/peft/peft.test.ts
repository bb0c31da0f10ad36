/**
 * PEFT export and import (src/peft.ts, `ptv2 export`): format rules on hand-built inputs, then a
 * tiny end-to-end experiment (pt, prefix, pt2, mpt2 with depth 1, ft on RTE and CoNLL-03) exported
 * through the built CLI. PEFT itself is not run here: its layout (`get_prompt`'s view → permute →
 * split) is re-derived by index arithmetic and checked against ptv2's own prefix keys and values.
 */
import {before, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as tf from '@tensorflow/tfjs';
import {loadCheckpoint, type EncoderConfig} from '../../src/model/checkpoint.js';
import {createPrompt, type PromptOptions} from '../../src/model/prompt.js';
import {readSafetensors, writeSafetensors, type NamedTensor} from '../../src/model/safetensors.js';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  applyPromptMlp,
  buildPeftAdapter,
  readPeftPrompt,
  toTorchLinear,
  writePeftAdapter,
  type ExportInputs,
  type RunForExport,
} from '../../src/peft.js';
import {ptv2, ROOT} from '../helpers/cli.js';
import {tinyCheckpoint} from '../helpers/tiny.js';

const tensor = (shape: number[], values?: number[]): NamedTensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return {shape, data: Float32Array.from(values ?? Array.from({length: n}, (_, i) => (i % 7) / 10 - 0.3))};
};

/** A completed pt2 run on a 2-layer, 16-wide, 2-head tiny checkpoint (L·2·h = 64), P = 3. */
function syntheticRun(overrides: {method?: string; stage?: string; status?: string; family?: string; prompt?: object; model?: object; labels?: string[]; head?: string} = {}): RunForExport {
  return {
    id: 7,
    task: 'demo',
    method: overrides.method ?? 'pt2',
    stage: overrides.stage ?? 'single',
    status: overrides.status ?? 'completed',
    source: 'runs/x.db',
    params: {
      prompt: {length: 3, reparameterize: false, reparam_hidden: 4, depth: null, depth_order: 'ascending', shift_positions: true, ...overrides.prompt},
      model: {use_pooler: true, ...overrides.model},
      task: {family: overrides.family ?? 'classification', labels: overrides.labels ?? ['no', 'yes', 'maybe']},
      ...(overrides.head ? {head: overrides.head} : {}),
    },
  };
}

function syntheticInputs(run: RunForExport, modelType: 'bert' | 'roberta' | 'deberta-v2' = 'bert', extra: Record<string, NamedTensor> = {}): ExportInputs {
  const checkpoint = tinyCheckpoint({modelType});
  const p = checkpoint.config.modelType;
  return {
    run,
    encoder: checkpoint.config,
    pooler: {weight: checkpoint.weights.get(`${p}.pooler.dense.weight`)!, bias: checkpoint.weights.get(`${p}.pooler.dense.bias`)!},
    trainable: new Map(Object.entries({
      'prompt.embeddings': tensor([3, 64]),
      'classifier.weight': tensor([16, 3]),
      'classifier.bias': tensor([3], [0.1, 0.2, 0.3]),
      ...extra,
    })),
    trainableFile: 'out/trainable.safetensors',
    baseModel: 'runs/models/tiny',
  };
}

test('the prompt MLP table matches a hand computation: tanh(E·W0 + b0)·W2 + b2', () => {
  // E = 0.5, W0 = 2, b0 = 0 → tanh(1) = 0.7615942; W2 = [1, −2], b2 = [0.1, 0].
  const out = applyPromptMlp(tensor([1, 1], [0.5]), {weight: tensor([1, 1], [2]), bias: tensor([1], [0])}, {weight: tensor([1, 2], [1, -2]), bias: tensor([2], [0.1, 0])});
  assert.deepEqual(out.shape, [1, 2]);
  assert.ok(Math.abs(out.data[0] - 0.8615942) < 1e-6, String(out.data[0]));
  assert.ok(Math.abs(out.data[1] - -1.5231884) < 1e-6, String(out.data[1]));
});

test('a [in, out] weight becomes PyTorch\'s [out, in]', () => {
  const t = toTorchLinear(tensor([2, 3], [1, 2, 3, 4, 5, 6]));
  assert.deepEqual(t.shape, [3, 2]);
  assert.deepEqual([...t.data], [1, 4, 2, 5, 3, 6]);
});

test('heads go in under transformers\' module names, per task family and model type', () => {
  const CASES = [
    {name: 'BERT classification', modelType: 'bert' as const, family: 'classification', task: 'SEQ_CLS', keys: ['base_model.classifier.bias', 'base_model.classifier.weight']},
    {name: 'RoBERTa classification: pooler as dense, head as out_proj', modelType: 'roberta' as const, family: 'pair_classification', task: 'SEQ_CLS',
      keys: ['base_model.classifier.dense.bias', 'base_model.classifier.dense.weight', 'base_model.classifier.out_proj.bias', 'base_model.classifier.out_proj.weight']},
    {name: 'tagging', modelType: 'bert' as const, family: 'tagging', task: 'TOKEN_CLS', keys: ['base_model.classifier.bias', 'base_model.classifier.weight']},
    {name: 'QA', modelType: 'roberta' as const, family: 'qa', task: 'QUESTION_ANS', keys: ['base_model.qa_outputs.bias', 'base_model.qa_outputs.weight']},
  ];
  for (const c of CASES) {
    const run = syntheticRun({family: c.family, labels: c.family === 'qa' ? [] : ['no', 'yes', 'maybe']});
    const source = c.family === 'tagging' ? 'token_classifier' : c.family === 'qa' ? 'qa_outputs' : 'classifier';
    const outputs = c.family === 'qa' ? 2 : 3;
    const inputs = syntheticInputs(run, c.modelType, {[`${source}.weight`]: tensor([16, outputs]), [`${source}.bias`]: tensor([outputs])});
    const adapter = buildPeftAdapter(inputs);
    assert.equal(adapter.config.task_type, c.task, c.name);
    assert.deepEqual([...adapter.tensors.keys()].filter((k) => k !== 'prompt_embeddings').sort(), c.keys, c.name);
    const head = adapter.tensors.get(c.keys.find((k) => k.endsWith('out_proj.weight') || k === 'base_model.classifier.weight' || k === 'base_model.qa_outputs.weight')!)!;
    assert.deepEqual(head.data, toTorchLinear(inputs.trainable.get(`${source}.weight`)!).data, c.name);
    if (c.name.startsWith('RoBERTa')) assert.equal(adapter.tensors.get('base_model.classifier.dense.weight'), inputs.pooler!.weight);
  }
});

test('runs PEFT cannot express are refused, naming the run and the reason', () => {
  const CASES = [
    {name: 'ft', run: syntheticRun({method: 'ft'}), message: /run 7 \(demo\/ft\).*ft trains every encoder weight/},
    {name: 'mpt2 shared stage', run: syntheticRun({method: 'mpt2', stage: 'shared'}), message: /shared stage of mpt2/},
    {name: 'failed run', run: syntheticRun({status: 'failed'}), message: /status is failed/},
    {name: 'multiple choice', run: syntheticRun({family: 'multiple_choice'}), message: /no multiple-choice task type/},
    {name: 'pt classification', run: syntheticRun({method: 'pt'}), message: /pools the first position.*not \[CLS\]/},
    {name: 'unshifted positions', run: syntheticRun({prompt: {shift_positions: false}}), message: /shift_positions: false.*position P/},
    {name: 'depth below layers', run: syntheticRun({prompt: {depth: 1}}), message: /1 of the encoder's 2 layers.*softmax mass/},
    {name: 'head on [CLS] (BERT)', run: syntheticRun({model: {use_pooler: false}}), message: /classified \[CLS\] directly \(model.use_pooler was false\).*pooler's output/},
    {name: 'head on [CLS] (RoBERTa)', run: syntheticRun({model: {use_pooler: false}}), modelType: 'roberta' as const, message: /RobertaForSequenceClassification puts dense → tanh/},
    {name: 'deep prompt on DeBERTa', run: syntheticRun(), modelType: 'deberta-v2' as const, message: /DebertaV2Model takes no past_key_values/},
    {name: 'verbalizer head', run: syntheticRun({head: 'verbalizer'}), message: /its head is the verbalizer .*new linear head/},
    {name: 'bad params', run: syntheticRun({prompt: {length: 'long'}}), message: /runs\/x\.db prompt\.length: run 7 params_json: expected an integer >= 1, got "long"/},
  ];
  for (const c of CASES) {
    assert.throws(() => buildPeftAdapter(syntheticInputs(c.run, c.modelType)), (error: Error) => {
      assert.equal(error.name, 'UserError', c.name);
      assert.match(error.message, c.message, c.name);
      return true;
    });
  }
  const depthAll = syntheticRun({prompt: {depth: 5}});
  assert.equal(buildPeftAdapter(syntheticInputs(depthAll)).config.num_layers, 2, 'a depth beyond the layers is every layer');
});

test('trained tensors are checked by name and shape against the run and checkpoint', () => {
  const run = syntheticRun();
  const missing = syntheticInputs(run);
  missing.trainable.delete('prompt.embeddings');
  assert.throws(() => buildPeftAdapter(missing), /^UserError: out\/trainable\.safetensors prompt\.embeddings: has no tensor prompt\.embeddings/);
  const wrong = syntheticInputs(run, 'bert', {'prompt.embeddings': tensor([3, 32])});
  assert.throws(() => buildPeftAdapter(wrong), /prompt\.embeddings: shape \[3, 32\] does not match .*expected \[3, 64\]/);
});

test('readPeftPrompt round-trips a written adapter and names the file and field of every problem', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-peft-read-'));
  const adapter = buildPeftAdapter(syntheticInputs(syntheticRun()));
  writePeftAdapter(dir, adapter, {note: 'test'});
  const read = readPeftPrompt(dir);
  assert.deepEqual(read.shape, [3, 64]);
  assert.deepEqual(read.table, adapter.tensors.get('prompt_embeddings')!.data);
  assert.deepEqual(read.config, adapter.config);
  assert.throws(() => writePeftAdapter(dir, adapter, {}), /adapter_config\.json: an adapter is there already/);
  writePeftAdapter(dir, adapter, {}, {force: true});

  const configFile = path.join(dir, ADAPTER_CONFIG_FILE);
  const weightsFile = path.join(dir, ADAPTER_WEIGHTS_FILE);
  const original = fs.readFileSync(configFile, 'utf8');
  const CASES = [
    {name: 'LoRA', edit: {peft_type: 'LORA'}, message: `${configFile} peft_type: expected "PREFIX_TUNING" or "PROMPT_TUNING", got "LORA"`},
    {name: 'layers disagree with the table', edit: {num_layers: 3}, message: `${weightsFile} prompt_embeddings: shape [3, 64] does not match adapter_config.json: expected [3, 96]`},
    {name: 'heads do not divide', edit: {num_attention_heads: 3}, message: `${configFile} num_attention_heads: 3 does not divide token_dim 16`},
    {name: 'encoder-decoder', edit: {num_transformer_submodules: 2}, message: `${configFile} num_transformer_submodules: expected 1 (an encoder-only model), got 2`},
    {name: 'no token count', edit: {num_virtual_tokens: null}, message: `${configFile} num_virtual_tokens: expected an integer >= 1, got null`},
  ];
  for (const c of CASES) {
    fs.writeFileSync(configFile, JSON.stringify({...JSON.parse(original), ...c.edit}));
    assert.throws(() => readPeftPrompt(dir), (error: Error) => error.message.startsWith(c.message), c.name);
  }
  fs.writeFileSync(configFile, original);
  writeSafetensors(weightsFile, new Map([['other', tensor([1])]]));
  assert.throws(() => readPeftPrompt(dir), new RegExp(`${weightsFile} prompt_embeddings: missing`));
  fs.rmSync(weightsFile);
  assert.throws(() => readPeftPrompt(dir), new RegExp(`${weightsFile}: not found`));
  fs.rmSync(configFile);
  assert.throws(() => readPeftPrompt(dir), new RegExp(`${configFile}: not found`));
});

// ---------------------------------------------------------------------------------------------
// End to end: one tiny experiment, every run exported through the built CLI.

let dir = '';
let db = '';
const runIds = new Map<string, number>();

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-peft-e2e-'));
  db = path.join(dir, 'ptv2.db');
  const config = path.join(dir, 'export.yaml');
  fs.writeFileSync(config, `name: export
database: ${db}
output_dir: ${path.join(dir, 'out')}
model:
  path: ${path.join(dir, 'model')}
  init: {layers: 2, hidden: 16, heads: 2, intermediate: 32, max_positions: 96}
  max_length: 64
methods: [ft, pt, prefix, pt2, mpt2]
prompt: {length: 4, reparam_hidden: 8}
method_overrides: {mpt2: {prompt: {depth: 1}}}
train: {epochs: 1, batch_size: 8, max_train_examples: 16, max_eval_examples: 8}
tasks:
  - {name: rte, data: ${path.join(ROOT, 'datasets/superglue/RTE')}}
  - {name: conll03, data: ${path.join(ROOT, 'datasets/ner/conll03')}}
`);
  const run = ptv2(['run', config, '--plain'], dir);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  const sql = new Database(db, {readonly: true});
  for (const r of sql.prepare('SELECT id, task, method, stage FROM runs').all() as {id: number; task: string; method: string; stage: string}[]) {
    runIds.set(r.stage === 'shared' ? 'shared' : `${r.task}/${r.method}`, r.id);
  }
  sql.close();
});

function exported(key: string) {
  const out = path.join(dir, 'adapters', key.replace('/', '-'));
  const r = ptv2(['export', String(runIds.get(key)), '--out', out, '--db', db, '--json'], dir);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const config = JSON.parse(fs.readFileSync(path.join(out, ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  const tensors = readSafetensors(path.join(out, ADAPTER_WEIGHTS_FILE)).tensors;
  const info = JSON.parse(fs.readFileSync(path.join(out, 'ptv2_export.json'), 'utf8')) as Record<string, unknown>;
  const sql = new Database(db, {readonly: true});
  const state = (sql.prepare("SELECT path FROM artifacts WHERE run_id = ? AND kind = 'trainable_state'").get(runIds.get(key)) as {path: string}).path;
  const best = (sql.prepare('SELECT best_value AS v FROM runs WHERE id = ?').get(runIds.get(key)) as {v: number}).v;
  sql.close();
  return {out, config, tensors, info, trainable: readSafetensors(state).tensors, best, json: JSON.parse(r.stdout) as Record<string, unknown>};
}

/** A ptv2 prompt of the run's settings holding the run's trained variables. */
function trainedPrompt(method: string, trainable: Map<string, NamedTensor>) {
  const encoder: EncoderConfig = loadCheckpoint(path.join(dir, 'model')).config;
  const opts: PromptOptions = {method, length: 4, reparameterize: false, reparamHidden: 8, dropout: 0.1, depthOrder: 'ascending', shiftPositions: true, initStd: 0.02, seed: 1};
  const prompt = createPrompt(encoder, opts);
  for (const v of prompt.variables) {
    const saved = trainable.get(v.name.split('#')[0])!;
    v.assign(tf.tensor(saved.data, v.shape));
  }
  return {prompt, encoder};
}

test('pt2: PREFIX_TUNING with the run\'s table, head and settings; readPeftPrompt reads it back', async () => {
  await tf.setBackend('cpu');
  const {out, config, tensors, info, trainable, best, json} = exported('rte/pt2');
  assert.deepEqual(config, {
    auto_mapping: null,
    base_model_name_or_path: path.join(dir, 'model'),
    encoder_hidden_size: 16,
    inference_mode: true,
    num_attention_heads: 2,
    num_layers: 2,
    num_transformer_submodules: 1,
    num_virtual_tokens: 4,
    peft_type: 'PREFIX_TUNING',
    prefix_projection: false,
    revision: null,
    task_type: 'SEQ_CLS',
    token_dim: 16,
  });
  assert.deepEqual([...tensors.keys()].sort(), ['base_model.classifier.bias', 'base_model.classifier.weight', 'prompt_embeddings']);
  const table = tensors.get('prompt_embeddings')!;
  assert.deepEqual(table.shape, [4, 2 * 2 * 16]);
  assert.deepEqual(table.data, trainable.get('prompt.embeddings')!.data);
  assert.deepEqual(tensors.get('base_model.classifier.weight')!.data, toTorchLinear(trainable.get('classifier.weight')!).data);
  assert.deepEqual(tensors.get('base_model.classifier.bias')!.data, trainable.get('classifier.bias')!.data);

  assert.equal(info.run_id, runIds.get('rte/pt2'));
  assert.deepEqual(info.labels, ['entailment', 'not_entailment']);
  assert.deepEqual(info.id2label, {0: 'entailment', 1: 'not_entailment'});
  assert.deepEqual(info.label2id, {entailment: 0, not_entailment: 1});
  assert.equal(info.best_value, best);
  assert.equal((info.metrics as {dev: Record<string, number>}).dev.accuracy, best);
  assert.equal(json.task_type, 'SEQ_CLS');

  const read = readPeftPrompt(out);
  assert.deepEqual(read.shape, [4, 64]);
  assert.deepEqual(read.table, table.data);
  assert.equal(read.config.num_layers, 2);

  // PEFT's get_prompt: view [B, P, 2L, heads, d] → permute [2L, B, heads, P, d] → layer l = rows (2l, 2l+1).
  const {prompt} = trainedPrompt('pt2', trainable);
  const hooks = prompt.hooks(1, false);
  const h = 16;
  const d = 8;
  for (let layer = 0; layer < 2; layer++) {
    for (const [part, row] of [['key', 2 * layer], ['value', 2 * layer + 1]] as const) {
      const ours = hooks.layerPrefix![layer]![part].dataSync();
      for (let head = 0; head < 2; head++) {
        for (let p = 0; p < 4; p++) {
          for (let k = 0; k < d; k++) {
            const peft = table.data[p * 64 + row * h + head * d + k];
            assert.equal(ours[(head * 4 + p) * d + k], peft, `layer ${layer} ${part} head ${head} position ${p}`);
          }
        }
      }
    }
  }
  prompt.dispose();
});

test('prefix: PEFT stores the MLP\'s output, which equals ptv2\'s own table within 1e-6', async () => {
  await tf.setBackend('cpu');
  const {config, tensors, trainable} = exported('rte/prefix');
  assert.equal(config.prefix_projection, true);
  assert.equal(config.encoder_hidden_size, 8);
  assert.equal(config.peft_type, 'PREFIX_TUNING');
  const {prompt} = trainedPrompt('prefix', trainable);
  const ours = prompt.table!();
  const table = tensors.get('prompt_embeddings')!;
  assert.deepEqual(table.shape, ours.shape);
  const reference = ours.dataSync();
  let worst = 0;
  for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(reference[i] - table.data[i]));
  assert.ok(worst < 1e-6, `largest difference ${worst}`);
  assert.ok(reference.some((v) => v !== 0));
  ours.dispose();
  prompt.dispose();
});

test('pt on a tagging task: PROMPT_TUNING TOKEN_CLS with the tag set as labels', () => {
  const {config, tensors, info, trainable} = exported('conll03/pt');
  assert.equal(config.peft_type, 'PROMPT_TUNING');
  assert.equal(config.task_type, 'TOKEN_CLS');
  assert.equal(config.prompt_tuning_init, 'RANDOM');
  assert.deepEqual(tensors.get('prompt_embeddings')!.shape, [4, 16]);
  assert.deepEqual(tensors.get('prompt_embeddings')!.data, trainable.get('prompt.embeddings')!.data);
  assert.deepEqual(tensors.get('base_model.classifier.weight')!.data, toTorchLinear(trainable.get('token_classifier.weight')!).data);
  const labels = info.labels as string[];
  assert.ok(labels.includes('O') && labels.length > 2, JSON.stringify(labels));
  assert.deepEqual(info.id2label, Object.fromEntries(labels.map((l, i) => [String(i), l])));
  assert.equal(info.output_offset, 4);
});

test('refusals exit non-zero with one clear line and no stack trace', () => {
  const CASES = [
    {name: 'ft', id: () => runIds.get('rte/ft')!, message: /cannot export run \d+ \(rte\/ft\) to PEFT: ft trains every encoder weight/},
    {name: 'depth 1 of 2', id: () => runIds.get('rte/mpt2')!, message: /cannot export run \d+ \(rte\/mpt2\) to PEFT: its prompt is in 1 of the encoder's 2 layers.*softmax mass/},
    {name: 'mpt2 shared stage', id: () => runIds.get('shared')!, message: /shared stage of mpt2/},
    {name: 'pt classification', id: () => runIds.get('rte/pt')!, message: /pools the first position/},
    {name: 'unknown run', id: () => 999, message: /no run 999 \(the database has runs 1–11\)/},
    {name: 'missing checkpoint', id: () => runIds.get('rte/pt2')!, extra: ['--model', '/nonexistent/model'], message: /\/nonexistent\/model: checkpoint directory of run \d+ not found\n {2}try: pass --model DIR/},
  ];
  for (const c of CASES) {
    const out = path.join(dir, 'refused', c.name.replace(/\W+/g, '-'));
    const r = ptv2(['export', String(c.id()), '--out', out, '--db', db, ...(c.extra ?? [])], dir);
    assert.notEqual(r.code, 0, c.name);
    assert.match(r.stderr, c.message, c.name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${c.name}: no stack trace`);
    assert.ok(!fs.existsSync(out), `${c.name}: nothing written`);
  }
});
