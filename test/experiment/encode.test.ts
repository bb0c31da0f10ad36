import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {encodeFile} from '../../src/experiment/encode.js';
import {UserError} from '../../src/errors.js';
import {buildByteLevelBpeVocab} from '../../src/model/bpe-vocab.js';
import {loadCheckpoint, randomCheckpoint, writeCheckpoint, type ModelType} from '../../src/model/checkpoint.js';
import {EncoderWeights} from '../../src/model/encoder.js';
import {createEncoder} from '../../src/model/encoders.js';
import {writeSafetensors, type NamedTensor, type SafetensorsDtype} from '../../src/model/safetensors.js';
import {buildUnigramVocab} from '../../src/model/unigram-vocab.js';
import {writePeftAdapter} from '../../src/peft.js';

const WORDS = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'dog', 'ran'];
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-encode-'));

interface Output {
  input_ids: number[];
  last_hidden_state: number[][];
  pooler_output?: number[];
  prompt_rows?: number;
}

function checkpointDir(type: ModelType, opts: {layers?: number; dtype?: SafetensorsDtype} = {}): {dir: string; weights: Map<string, NamedTensor>} {
  const dir = tempDir();
  const vocab = type === 'roberta' ? buildByteLevelBpeVocab(WORDS) : type === 'deberta-v2' ? buildUnigramVocab(WORDS) : ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS];
  const size = Array.isArray(vocab) ? vocab.length : vocab.tokens.length;
  const {config, weights} = randomCheckpoint({modelType: type, layers: opts.layers ?? 2, hidden: 8, heads: 2, intermediate: 16, maxPositions: 24, vocabSize: size, seed: 5, initializerRange: 0.3});
  writeCheckpoint(dir, config, weights, vocab);
  if (opts.dtype) writeSafetensors(path.join(dir, 'model.safetensors'), weights, {format: 'pt'}, opts.dtype);
  return {dir, weights};
}

async function encode(model: string, lines: object[], adapter?: string): Promise<Output[]> {
  const input = path.join(tempDir(), 'in.jsonl');
  fs.writeFileSync(input, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const out: Output[] = [];
  await encodeFile(tf, {model, input, adapter, write: (line) => out.push(JSON.parse(line) as Output)});
  return out;
}

/** The encoder ptv2 trains with, on one unpadded example: hidden states and pooler output. */
function internal(dir: string, ids: number[], types = ids.map(() => 0)): {hidden: number[][]; pooled?: number[]} {
  const weights = new EncoderWeights(loadCheckpoint(dir));
  const encoder = createEncoder(weights, {trainable: false, seed: 0});
  const batch = {batch: 1, seqLen: ids.length, inputIds: Int32Array.from(ids), tokenTypeIds: Int32Array.from(types), attentionMask: new Float32Array(ids.length).fill(1)};
  const result = tf.tidy(() => {
    const states = encoder.forward(batch, {}, false);
    return {hidden: states.arraySync(), pooled: encoder.hasPooler ? encoder.pool(tf.slice(states, [0, 0], [1, 8])).arraySync()[0] : undefined};
  });
  encoder.dispose();
  weights.dispose();
  return result;
}

function close(actual: number[][], expected: number[][], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: rows`);
  let worst = 0;
  actual.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - expected[i][j])))));
  assert.ok(worst <= tolerance, `${label}: max difference ${worst} > ${tolerance}`);
}

function adapterDir(type: 'PREFIX_TUNING' | 'PROMPT_TUNING', table: Float32Array, shape: [number, number], layers: number): string {
  const dir = tempDir();
  const config = {
    peft_type: type, task_type: null, base_model_name_or_path: null, revision: null, inference_mode: true, num_virtual_tokens: shape[0], token_dim: 8,
    num_transformer_submodules: 1, num_attention_heads: 2, num_layers: layers,
    ...(type === 'PREFIX_TUNING' ? {prefix_projection: false, encoder_hidden_size: 8} : {prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null}),
  };
  writePeftAdapter(dir, {config, tensors: new Map([['prompt_embeddings', {shape, data: table}]]), outputOffset: 0} as never, {}, {force: true});
  return dir;
}

describe('models encode', () => {
  for (const type of ['bert', 'roberta', 'deberta-v2'] as const) {
    test(`${type}: text and token ids give the internal encoder's numbers`, async () => {
      const {dir} = checkpointDir(type);
      const [text, ids] = await encode(dir, [{text: 'the cat sat', text_pair: 'on a mat'}, {input_ids: [0, 5, 6, 7, 2], token_type_ids: [0, 0, 0, 0, 0]}]);
      for (const [out, label] of [[text, 'text'], [ids, 'ids']] as const) {
        const types = label === 'text' && type === 'bert' ? out.input_ids.map((_, i, all) => (i > all.indexOf(3) ? 1 : 0)) : undefined;
        const expected = internal(dir, out.input_ids, types);
        close(out.last_hidden_state, expected.hidden, 1e-6, `${type} ${label}`);
        if (type === 'deberta-v2') assert.equal(out.pooler_output, undefined);
        else close([out.pooler_output!], [expected.pooled!], 1e-6, `${type} ${label} pooler`);
      }
    });
  }

  for (const dtype of ['F16', 'BF16'] as const) {
    test(`a ${dtype} checkpoint encodes as its decoded weights do, near the F32 one`, async () => {
      const {dir} = checkpointDir('bert', {dtype});
      const f32 = checkpointDir('bert');
      const line = {input_ids: [2, 5, 6, 7, 3]};
      const [[half], [full]] = [await encode(dir, [line]), await encode(f32.dir, [line])];
      close(half.last_hidden_state, internal(dir, line.input_ids).hidden, 1e-6, dtype);
      close(half.last_hidden_state, full.last_hidden_state, dtype === 'F16' ? 2e-2 : 1e-1, `${dtype} vs F32`);
    });
  }

  test('PROMPT_TUNING with word embeddings as the prompt equals encoding those tokens first', async () => {
    for (const type of ['bert', 'roberta', 'deberta-v2'] as const) {
      const {dir, weights} = checkpointDir(type);
      const word = weights.get(`${type === 'deberta-v2' ? 'deberta' : type}.embeddings.word_embeddings.weight`)!;
      const promptIds = [7, 9, 10];
      const table = new Float32Array(promptIds.flatMap((id) => [...word.data.subarray(id * 8, id * 8 + 8)]));
      const adapter = adapterDir('PROMPT_TUNING', table, [3, 8], 2);
      const ids = [type === 'bert' ? 2 : 0, 5, 6, 8, type === 'bert' ? 3 : 2];
      const [prompted] = await encode(dir, [{input_ids: ids}], adapter);
      const [plain] = await encode(dir, [{input_ids: [...promptIds, ...ids]}]);
      assert.equal(prompted.prompt_rows, 3);
      assert.deepEqual(prompted.input_ids, ids);
      close(prompted.last_hidden_state, plain.last_hidden_state, 2e-5, `${type} prompt`);
      if (type !== 'deberta-v2') close([prompted.pooler_output!], [plain.pooler_output!], 2e-5, `${type} prompt pooler`);
    }
  });

  test('PREFIX_TUNING with the keys and values of real tokens equals encoding those tokens first (one layer, positions shifted)', async () => {
    for (const type of ['bert', 'roberta'] as const) {
      const {dir, weights} = checkpointDir(type, {layers: 1});
      const prefixIds = [7, 9];
      const offset = type === 'roberta' ? 2 : 0;
      // Layer 0's keys and values of the prefix tokens: LayerNorm(word + position + type) projected, in float64.
      const get = (name: string) => weights.get(`${type}.${name}`)!.data;
      const rows = prefixIds.map((id, p) => {
        const x = Array.from({length: 8}, (_, j) => get('embeddings.word_embeddings.weight')[id * 8 + j] + get('embeddings.position_embeddings.weight')[(offset + p) * 8 + j] + get('embeddings.token_type_embeddings.weight')[j]);
        const mean = x.reduce((a, b) => a + b) / 8;
        const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / 8;
        const eps = type === 'bert' ? 1e-12 : 1e-5;
        const normed = x.map((v, j) => ((v - mean) / Math.sqrt(variance + eps)) * get('embeddings.LayerNorm.weight')[j] + get('embeddings.LayerNorm.bias')[j]);
        const project = (which: string) => Array.from({length: 8}, (_, o) => normed.reduce((sum, v, i) => sum + v * get(`encoder.layer.0.attention.self.${which}.weight`)[o * 8 + i], get(`encoder.layer.0.attention.self.${which}.bias`)[o]));
        return [...project('key'), ...project('value')];
      });
      const adapter = adapterDir('PREFIX_TUNING', Float32Array.from(rows.flat()), [2, 16], 1);
      const ids = [type === 'bert' ? 2 : 0, 5, 6, 8, type === 'bert' ? 3 : 2];
      const [prefixed] = await encode(dir, [{input_ids: ids}], adapter);
      const [plain] = await encode(dir, [{input_ids: [...prefixIds, ...ids]}]);
      assert.equal(prefixed.last_hidden_state.length, ids.length);
      close(prefixed.last_hidden_state, plain.last_hidden_state.slice(2), 2e-5, `${type} prefix`);
    }
  });

  test('tokenized input needs no tokenizer files; bad lines name file, line and field before anything is written', async () => {
    const {dir} = checkpointDir('bert');
    fs.rmSync(path.join(dir, 'vocab.txt'));
    const [out] = await encode(dir, [{input_ids: [2, 5, 3]}]);
    assert.equal(out.last_hidden_state.length, 3);
    const CASES = [
      {lines: [{input_ids: [2, 5]}, {input_ids: [2, 99]}], expected: /in\.jsonl:2 input_ids: id 99 at position 1 is outside the vocabulary \(0–12\)/},
      {lines: [{input_ids: [2, 5], attention_mask: [1]}], expected: /:1 attention_mask: has 1 values for 2 input_ids/},
      {lines: [{text: 'a', input_ids: [2]}], expected: /:1 input_ids: expected exactly one of/},
      {lines: [{input_ids: Array(30).fill(5)}], expected: /30 tokens do not fit the model's 24 positions/},
      {lines: [{input_ids: [2]}, {text: 'the cat'}], expected: /no tokenizer found/},
    ];
    for (const {lines, expected} of CASES) {
      const written: string[] = [];
      const input = path.join(tempDir(), 'in.jsonl');
      fs.writeFileSync(input, lines.map((l) => JSON.stringify(l)).join('\n'));
      await assert.rejects(encodeFile(tf, {model: dir, input, write: (l) => written.push(l)}), (e: unknown) => e instanceof UserError && expected.test(e.message));
      assert.deepEqual(written, []);
    }
  });

  test('an adapter of another model, and a prefix on DeBERTa, are refused naming the field', async () => {
    const bert = checkpointDir('bert');
    const wrongLayers = adapterDir('PREFIX_TUNING', new Float32Array(2 * 48), [2, 48], 3);
    await assert.rejects(encode(bert.dir, [{input_ids: [2, 3]}], wrongLayers), /num_layers: 3 does not match the model's num_hidden_layers 2/);
    const deberta = checkpointDir('deberta-v2');
    const prefix = adapterDir('PREFIX_TUNING', new Float32Array(2 * 32), [2, 32], 2);
    await assert.rejects(encode(deberta.dir, [{input_ids: [1, 2]}], prefix), /DebertaV2Model takes no past_key_values/);
  });
});
