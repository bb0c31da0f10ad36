import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {randomCheckpoint, writeCheckpoint, type ModelType} from '../../src/model/checkpoint.js';
import {convertCheckpoint} from '../../src/model/convert.js';
import {inspectCheckpoint, type CheckpointSummary} from '../../src/model/inspect.js';
import {buildByteLevelBpeVocab} from '../../src/model/bpe-vocab.js';
import {buildUnigramVocab} from '../../src/model/unigram-vocab.js';
import {writeSafetensors, type NamedTensor, type SafetensorsDtype} from '../../src/model/safetensors.js';

const WORDS = ['the', 'cat', 'sat', 'on', 'a', 'mat'];
const SIZE = {layers: 2, hidden: 8, heads: 2, intermediate: 12, maxPositions: 20};

interface Case {
  name: string;
  type: ModelType;
  /** Changes the directory after it is written. */
  edit?: (dir: string, weights: Map<string, NamedTensor>) => void;
  expected: Partial<CheckpointSummary> & {problem?: RegExp};
}

function vocabFor(type: ModelType) {
  if (type === 'roberta') return buildByteLevelBpeVocab(WORDS);
  if (type === 'deberta-v2') return buildUnigramVocab(WORDS);
  return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS];
}

function rewrite(dir: string, weights: Map<string, NamedTensor>, dtype: SafetensorsDtype = 'F32') {
  writeSafetensors(path.join(dir, 'model.safetensors'), weights, {format: 'pt'}, dtype);
}

// Encoder parameters by hand: embeddings (V + P + T)·h + 2h, per layer 4(h² + h) + 2h + (h·f + f) + (f·h + h) + 2h, pooler h² + h.
const perLayer = (h: number, f: number) => 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h;
const BERT_PARAMS = (11 + 20 + 2) * 8 + 16 + 2 * perLayer(8, 12) + 72;

const CASES: Case[] = [
  {name: 'BERT', type: 'bert', expected: {architecture: 'BertModel', modelType: 'bert', layers: 2, hidden: 8, heads: 2, ffn: 12, positions: 20, vocabSize: 11, tokenizer: 'WordPiece (vocab.txt)', dtypes: {F32: 23 + 16}, parameters: BERT_PARAMS, encoderParameters: BERT_PARAMS, hasPooler: true, headTensors: [], loadable: true}},
  {name: 'RoBERTa: positions after the offset, BPE', type: 'roberta', expected: {architecture: 'RobertaModel', positions: 20, tokenizer: 'byte-level BPE (vocab.json + merges.txt)', loadable: true}},
  {name: 'DeBERTa-v2: Unigram tokenizer.json, no pooler', type: 'deberta-v2', expected: {architecture: 'DebertaV2Model', modelType: 'deberta-v2', tokenizer: 'Unigram (tokenizer.json)', hasPooler: false, loadable: true}},
  {
    name: 'BERT with an MLM head and position_ids, in F16',
    type: 'bert',
    edit: (dir, weights) => {
      weights.set('cls.predictions.bias', {shape: [11], data: new Float32Array(11)});
      weights.set('bert.embeddings.position_ids', {shape: [1, 20], data: new Float32Array(20)});
      rewrite(dir, weights, 'F16');
    },
    expected: {dtypes: {F16: 41}, headTensors: [{name: 'cls.predictions.bias', shape: [11]}], parameters: BERT_PARAMS + 11, encoderParameters: BERT_PARAMS, loadable: true},
  },
  {name: 'only pytorch_model.bin', type: 'bert', edit: (dir) => {
    convertCheckpoint(dir, dir, {to: 'bin'});
    fs.rmSync(path.join(dir, 'model.safetensors'));
  }, expected: {weightsFile: 'pytorch_model.bin', parameters: BERT_PARAMS, loadable: false, problem: /ptv2 models convert/}},
  {name: 'a mis-shaped tensor', type: 'bert', edit: (dir, weights) => {
    weights.set('bert.encoder.layer.1.output.dense.bias', {shape: [9], data: new Float32Array(9)});
    rewrite(dir, weights);
  }, expected: {loadable: false, problem: /bert\.encoder\.layer\.1\.output\.dense\.bias: shape \[9\] does not match config\.json: expected \[8\]/}},
  {name: 'an unsupported model type', type: 'bert', edit: (dir) => {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({...JSON.parse(fs.readFileSync(file, 'utf8')), model_type: 'gpt2'}));
  }, expected: {modelType: 'gpt2', layers: null, loadable: false, problem: /unsupported model type "gpt2"/}},
  {name: 'no tokenizer: loads for tokenized input', type: 'bert', edit: (dir) => fs.rmSync(path.join(dir, 'vocab.txt')), expected: {tokenizer: null, loadable: true, problem: /no tokenizer files/}},
];

describe('models inspect', () => {
  for (const {name, type, edit, expected} of CASES) {
    test(name, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-inspect-'));
      const {config, weights} = randomCheckpoint({modelType: type, ...SIZE, vocabSize: type === 'bert' ? 11 : 900});
      writeCheckpoint(dir, config, weights, vocabFor(type));
      edit?.(dir, weights);
      const summary = inspectCheckpoint(dir);
      const {problem, ...fields} = expected;
      for (const [key, value] of Object.entries(fields)) assert.deepEqual(summary[key as keyof CheckpointSummary], value, key);
      if (problem) assert.ok(summary.problems.some((p) => problem.test(p)), summary.problems.join(' | '));
      else assert.deepEqual(summary.problems, []);
      assert.equal(summary.fileSize, fs.statSync(path.join(dir, summary.weightsFile!)).size);
    });
  }
});
