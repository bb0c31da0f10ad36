import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {UserError} from '../../src/errors.js';
import {
  encoderTensorSpecs,
  loadCheckpoint,
  normaliseConfig,
  randomCheckpoint,
  writeCheckpoint,
  type RandomCheckpointOptions,
} from '../../src/model/checkpoint.js';
import {encodeSafetensors, writeSafetensors, type NamedTensor} from '../../src/model/safetensors.js';

const TINY: RandomCheckpointOptions = {layers: 2, hidden: 8, heads: 2, intermediate: 16, vocabSize: 20, maxPositions: 16, seed: 7};
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b'];

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
}

function expectUserError(run: () => unknown, ...fragments: string[]): UserError {
  let caught: UserError | undefined;
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" should mention "${fragment}"`);
    }
    caught = error;
    return true;
  });
  return caught!;
}

/** A tiny BERT checkpoint on disk whose weights went through `edit` first. */
function savedCheckpoint(edit: (weights: Map<string, NamedTensor>) => Map<string, NamedTensor> = (w) => w): string {
  const dir = tempDir();
  const {config, weights} = randomCheckpoint(TINY);
  writeCheckpoint(dir, config, edit(weights), VOCAB);
  return dir;
}

function renamed(weights: Map<string, NamedTensor>, rename: (name: string) => string): Map<string, NamedTensor> {
  return new Map([...weights].map(([name, tensor]) => [rename(name), tensor]));
}

const BASE_CONFIG = {
  model_type: 'bert', vocab_size: 30, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
  intermediate_size: 16, max_position_embeddings: 32,
};

describe('normaliseConfig', () => {
  test('reads HF keys and fills transformers defaults for the rest', () => {
    const config = normaliseConfig(BASE_CONFIG);
    assert.deepEqual({...config, raw: undefined}, {
      modelType: 'bert', vocabSize: 30, hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16,
      maxPositions: 32, typeVocabSize: 2, layerNormEps: 1e-12, hiddenAct: 'gelu', hiddenDropout: 0.1,
      attentionDropout: 0.1, padTokenId: 0, positionOffset: 0, raw: undefined,
    });
    assert.equal(config.raw, BASE_CONFIG);
  });

  test('RoBERTa positions start after the padding id', () => {
    const config = normaliseConfig({...BASE_CONFIG, model_type: 'roberta', pad_token_id: 1, hidden_act: 'gelu_new'});
    assert.equal(config.positionOffset, 2);
    assert.equal(config.layerNormEps, 1e-5);
    assert.equal(config.typeVocabSize, 1);
    assert.equal(config.hiddenAct, 'gelu_new');
  });

  const CASES = [
    {name: 'missing key', input: {...BASE_CONFIG, hidden_size: undefined}, expected: ['config.json hidden_size:', 'missing']},
    {name: 'wrong type', input: {...BASE_CONFIG, num_hidden_layers: '12'}, expected: ['config.json num_hidden_layers:', 'must be an integer', '"12"']},
    {name: 'not an integer', input: {...BASE_CONFIG, vocab_size: 30.5}, expected: ['config.json vocab_size:', 'must be an integer']},
    {name: 'missing model_type', input: {...BASE_CONFIG, model_type: undefined}, expected: ['config.json model_type:', 'bert, roberta']},
    {
      name: 'unsupported model_type',
      input: {...BASE_CONFIG, model_type: 'gpt2'},
      expected: ['config.json model_type:', 'unsupported model type "gpt2"', 'supported model types: bert, roberta'],
    },
    {
      name: 'heads do not divide hidden',
      input: {...BASE_CONFIG, num_attention_heads: 3},
      expected: ['config.json num_attention_heads:', 'hidden_size 8 is not divisible by num_attention_heads 3'],
    },
    {name: 'unsupported activation', input: {...BASE_CONFIG, hidden_act: 'swish'}, expected: ['config.json hidden_act:', '"swish"', 'gelu, gelu_new, relu']},
    {name: 'relative positions', input: {...BASE_CONFIG, position_embedding_type: 'relative_key'}, expected: ['config.json position_embedding_type:']},
    {name: 'dropout out of range', input: {...BASE_CONFIG, hidden_dropout_prob: 1.5}, expected: ['config.json hidden_dropout_prob:', '[0, 1)']},
    {name: 'eps not a number', input: {...BASE_CONFIG, layer_norm_eps: '1e-12'}, expected: ['config.json layer_norm_eps:']},
    {name: 'pad outside vocab', input: {...BASE_CONFIG, pad_token_id: 30}, expected: ['config.json pad_token_id:', 'not below vocab_size 30']},
    {
      name: 'RoBERTa positions all used by the offset',
      input: {...BASE_CONFIG, model_type: 'roberta', max_position_embeddings: 2},
      expected: ['config.json max_position_embeddings:', 'position offset 2'],
    },
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => {
      expectUserError(() => normaliseConfig(input), ...expected);
    });
  }

  test('names the file it was given', () => {
    expectUserError(() => normaliseConfig({...BASE_CONFIG, vocab_size: 0}, 'models/x/config.json'), 'models/x/config.json vocab_size:');
  });
});

describe('encoderTensorSpecs', () => {
  test('lists every encoder tensor with PyTorch [out, in] shapes', () => {
    const specs = encoderTensorSpecs(normaliseConfig({...BASE_CONFIG, num_hidden_layers: 2}));
    assert.equal(specs.length, 5 + 16 * 2 + 2);
    const shapeOf = new Map(specs.map((spec) => [spec.name, spec.shape]));
    const EXPECTED: [string, number[]][] = [
      ['bert.embeddings.word_embeddings.weight', [30, 8]],
      ['bert.embeddings.position_embeddings.weight', [32, 8]],
      ['bert.embeddings.token_type_embeddings.weight', [2, 8]],
      ['bert.embeddings.LayerNorm.bias', [8]],
      ['bert.encoder.layer.1.attention.self.key.weight', [8, 8]],
      ['bert.encoder.layer.1.attention.output.LayerNorm.weight', [8]],
      ['bert.encoder.layer.0.intermediate.dense.weight', [16, 8]],
      ['bert.encoder.layer.0.intermediate.dense.bias', [16]],
      ['bert.encoder.layer.0.output.dense.weight', [8, 16]],
      ['bert.encoder.layer.0.output.dense.bias', [8]],
      ['bert.pooler.dense.weight', [8, 8]],
    ];
    for (const [name, shape] of EXPECTED) assert.deepEqual(shapeOf.get(name), shape, name);
    assert.deepEqual(specs.filter((spec) => spec.optional).map((spec) => spec.name), ['bert.pooler.dense.weight', 'bert.pooler.dense.bias']);
  });

  test('RoBERTa names carry its prefix', () => {
    const specs = encoderTensorSpecs(normaliseConfig({...BASE_CONFIG, model_type: 'roberta'}));
    assert.ok(specs.every((spec) => spec.name.startsWith('roberta.')));
  });
});

describe('randomCheckpoint', () => {
  test('config has the keys transformers writes for BertConfig, sorted', () => {
    const {config} = randomCheckpoint(TINY);
    assert.deepEqual(config, {
      architectures: ['BertModel'], attention_probs_dropout_prob: 0.1, classifier_dropout: null,
      hidden_act: 'gelu', hidden_dropout_prob: 0.1, hidden_size: 8, initializer_range: 0.02,
      intermediate_size: 16, layer_norm_eps: 1e-12, max_position_embeddings: 16, model_type: 'bert',
      num_attention_heads: 2, num_hidden_layers: 2, pad_token_id: 0, position_embedding_type: 'absolute',
      torch_dtype: 'float32', type_vocab_size: 2, use_cache: true, vocab_size: 20,
    });
    assert.deepEqual(Object.keys(config), Object.keys(config).sort());
  });

  test('RoBERTa config: pad 1, positions offset by 2, one token type', () => {
    const {config, weights} = randomCheckpoint({...TINY, modelType: 'roberta'});
    assert.deepEqual(config, {
      architectures: ['RobertaModel'], attention_probs_dropout_prob: 0.1, bos_token_id: 0, classifier_dropout: null,
      eos_token_id: 2, hidden_act: 'gelu', hidden_dropout_prob: 0.1, hidden_size: 8, initializer_range: 0.02,
      intermediate_size: 16, layer_norm_eps: 1e-5, max_position_embeddings: 18, model_type: 'roberta',
      num_attention_heads: 2, num_hidden_layers: 2, pad_token_id: 1, position_embedding_type: 'absolute',
      torch_dtype: 'float32', type_vocab_size: 1, use_cache: true, vocab_size: 20,
    });
    assert.equal(normaliseConfig(config).positionOffset, 2);
    assert.deepEqual(weights.get('roberta.embeddings.position_embeddings.weight')!.shape, [18, 8]);
    const row = (name: string, index: number) => [...weights.get(name)!.data.subarray(index * 8, index * 8 + 8)];
    assert.deepEqual(row('roberta.embeddings.word_embeddings.weight', 1), new Array(8).fill(0));
    assert.deepEqual(row('roberta.embeddings.position_embeddings.weight', 1), new Array(8).fill(0));
    assert.ok(row('roberta.embeddings.word_embeddings.weight', 0).some((value) => value !== 0));
  });

  test('initialisation: N(0, range) cut at 2σ, biases 0, LayerNorm 1/0, padding row 0', () => {
    const {weights} = randomCheckpoint({...TINY, vocabSize: 2000, hidden: 32, heads: 4, initializerRange: 0.05});
    const words = weights.get('bert.embeddings.word_embeddings.weight')!.data;
    assert.deepEqual([...words.subarray(0, 32)], new Array(32).fill(0));
    const drawn = words.subarray(32);
    const mean = drawn.reduce((sum, value) => sum + value, 0) / drawn.length;
    const std = Math.sqrt(drawn.reduce((sum, value) => sum + (value - mean) ** 2, 0) / drawn.length);
    assert.ok(Math.abs(mean) < 0.002, `mean ${mean}`);
    // A standard normal cut at ±2 has standard deviation 0.8796.
    assert.ok(Math.abs(std - 0.05 * 0.8796) < 0.002, `std ${std}`);
    assert.ok(drawn.every((value) => Math.abs(value) <= 0.1 + 1e-7));
    assert.ok(weights.get('bert.encoder.layer.1.output.dense.bias')!.data.every((value) => value === 0));
    assert.ok(weights.get('bert.encoder.layer.0.output.LayerNorm.weight')!.data.every((value) => value === 1));
    assert.ok(weights.get('bert.embeddings.LayerNorm.bias')!.data.every((value) => value === 0));
  });

  test('same seed gives the same weights, another seed different ones', () => {
    const a = randomCheckpoint(TINY).weights;
    const b = randomCheckpoint(TINY).weights;
    const c = randomCheckpoint({...TINY, seed: 8}).weights;
    assert.deepEqual(a, b);
    const name = 'bert.encoder.layer.0.attention.self.query.weight';
    assert.notDeepEqual(a.get(name)!.data, c.get(name)!.data);
  });

  test('rejects sizes the encoder cannot have', () => {
    expectUserError(() => randomCheckpoint({...TINY, heads: 3}), 'num_attention_heads', 'not divisible');
  });
});

describe('writeCheckpoint and loadCheckpoint', () => {
  test('round trip keeps config verbatim and weights equal', () => {
    const dir = tempDir();
    const {config, weights} = randomCheckpoint(TINY);
    writeCheckpoint(dir, config, weights, VOCAB);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'vocab.txt']);
    assert.equal(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), `${JSON.stringify(config, null, 2)}\n`);
    assert.equal(fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n');

    const loaded = loadCheckpoint(dir);
    assert.equal(loaded.dir, dir);
    assert.deepEqual(loaded.config.raw, config);
    assert.equal(loaded.config.numLayers, 2);
    assert.equal(loaded.hasPooler, true);
    assert.equal(loaded.heads.size, 0);
    assert.deepEqual(new Map([...loaded.weights].sort()), new Map([...weights].sort()));
  });

  test('names without the bert. prefix (bare BertModel) load under canonical names', () => {
    const {weights} = randomCheckpoint(TINY);
    const loaded = loadCheckpoint(savedCheckpoint((w) => renamed(w, (name) => name.replace(/^bert\./, ''))));
    assert.deepEqual(new Map([...loaded.weights].sort()), new Map([...weights].sort()));
  });

  test('legacy LayerNorm gamma/beta load as weight/bias', () => {
    const {weights} = randomCheckpoint(TINY);
    const dir = savedCheckpoint((w) => renamed(w, (name) => name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')));
    const loaded = loadCheckpoint(dir);
    assert.deepEqual(loaded.weights.get('bert.encoder.layer.1.output.LayerNorm.weight'), weights.get('bert.encoder.layer.1.output.LayerNorm.weight'));
    assert.equal(loaded.weights.size, weights.size);
  });

  test('head tensors are set aside, not loaded into the encoder', () => {
    const dir = savedCheckpoint((w) => new Map([
      ...w,
      ['cls.predictions.bias', {shape: [20], data: new Float32Array(20)}],
      ['classifier.weight', {shape: [3, 8], data: new Float32Array(24)}],
      ['qa_outputs.bias', {shape: [2], data: new Float32Array(2)}],
    ]));
    const loaded = loadCheckpoint(dir);
    assert.deepEqual([...loaded.heads.keys()].sort(), ['classifier.weight', 'cls.predictions.bias', 'qa_outputs.bias']);
    assert.ok([...loaded.weights.keys()].every((name) => name.startsWith('bert.')));
  });

  test('I64 position_ids buffers saved by older transformers are skipped', () => {
    const dir = savedCheckpoint();
    const file = path.join(dir, 'model.safetensors');
    const bytes = fs.readFileSync(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    const dataLength = bytes.length - 8 - headerLength;
    header['bert.embeddings.position_ids'] = {dtype: 'I64', shape: [1, 16], data_offsets: [dataLength, dataLength + 128]};
    const json = Buffer.from(JSON.stringify(header).padEnd(headerLength + 64 - (headerLength % 8), ' '));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(file, Buffer.concat([prefix, json, bytes.subarray(8 + headerLength), Buffer.alloc(128)]));
    const loaded = loadCheckpoint(dir);
    assert.equal(loaded.weights.has('bert.embeddings.position_ids'), false);
    assert.equal(loaded.heads.size, 0);
  });

  test('F16 weights load as float32 within half precision', () => {
    const dir = savedCheckpoint();
    const {weights} = randomCheckpoint(TINY);
    writeSafetensors(path.join(dir, 'model.safetensors'), weights, {format: 'pt'}, 'F16');
    const loaded = loadCheckpoint(dir);
    const name = 'bert.encoder.layer.0.attention.self.value.weight';
    const expected = weights.get(name)!.data;
    loaded.weights.get(name)!.data.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) <= Math.abs(expected[i]) * 2 ** -11));
  });

  test('a checkpoint without a pooler loads and says so', () => {
    const loaded = loadCheckpoint(savedCheckpoint((w) => new Map([...w].filter(([name]) => !name.includes('pooler')))));
    assert.equal(loaded.hasPooler, false);
    assert.equal(loaded.weights.has('bert.pooler.dense.weight'), false);
  });

  test('RoBERTa round trip', () => {
    const dir = tempDir();
    const {config, weights} = randomCheckpoint({...TINY, modelType: 'roberta'});
    writeCheckpoint(dir, config, weights, VOCAB);
    const loaded = loadCheckpoint(dir);
    assert.equal(loaded.config.positionOffset, 2);
    assert.equal(loaded.config.maxPositions, 18);
    assert.deepEqual(new Map([...loaded.weights].sort()), new Map([...weights].sort()));
  });
});

describe('loadCheckpoint errors', () => {
  const weightsFile = (dir: string) => path.join(dir, 'model.safetensors');

  test('a missing tensor is named with its expected shape', () => {
    const dir = savedCheckpoint((w) => {
      w.delete('bert.encoder.layer.1.output.dense.weight');
      return w;
    });
    expectUserError(
      () => loadCheckpoint(dir),
      `${weightsFile(dir)} bert.encoder.layer.1.output.dense.weight:`, 'missing tensors', 'bert.encoder.layer.1.output.dense.weight [8, 16]',
    );
  });

  test('a wrong shape names the tensor, expected and actual shape', () => {
    const dir = savedCheckpoint((w) => w.set('bert.encoder.layer.0.attention.self.query.weight', {shape: [8, 4], data: new Float32Array(32)}));
    expectUserError(
      () => loadCheckpoint(dir),
      `${weightsFile(dir)} bert.encoder.layer.0.attention.self.query.weight:`, 'shape [8, 4]', 'expected [8, 8]',
    );
  });

  test('a wrong shape under a legacy name says what it was read as', () => {
    const dir = savedCheckpoint((w) => {
      w.delete('bert.embeddings.LayerNorm.weight');
      return w.set('embeddings.LayerNorm.gamma', {shape: [4], data: new Float32Array(4)});
    });
    expectUserError(() => loadCheckpoint(dir), 'embeddings.LayerNorm.gamma:', 'read as bert.embeddings.LayerNorm.weight', 'expected [8]');
  });

  test('unexpected encoder tensors are listed, five at most', () => {
    const extra = (i: number): [string, NamedTensor] => [`bert.encoder.layer.${2 + i}.output.dense.bias`, {shape: [8], data: new Float32Array(8)}];
    const dir = savedCheckpoint((w) => new Map([...w, ...[0, 1, 2, 3, 4, 5, 6].map(extra)]));
    const error = expectUserError(
      () => loadCheckpoint(dir),
      'unexpected tensors in the bert encoder', 'bert.encoder.layer.2.output.dense.bias', 'bert.encoder.layer.6.output.dense.bias', '(and 2 more)',
    );
    assert.ok(!error.message.includes('layer.7.'));
    assert.match(error.suggestions[0], /num_hidden_layers \(2\)/);
  });

  test('an unknown prefix-less encoder tensor is unexpected too', () => {
    const dir = savedCheckpoint((w) => w.set('embeddings.extra_norm.weight', {shape: [8], data: new Float32Array(8)}));
    expectUserError(() => loadCheckpoint(dir), 'unexpected tensors', 'embeddings.extra_norm.weight');
  });

  test('the same tensor stored with and without prefix is an error', () => {
    const dir = savedCheckpoint((w) => w.set('embeddings.LayerNorm.bias', {shape: [8], data: new Float32Array(8)}));
    expectUserError(() => loadCheckpoint(dir), 'stored twice');
  });

  test('half a pooler is an error', () => {
    const dir = savedCheckpoint((w) => {
      w.delete('bert.pooler.dense.bias');
      return w;
    });
    expectUserError(() => loadCheckpoint(dir), 'bert.pooler.dense.bias [8]', 'only partly stored');
  });

  test('RoBERTa weights under a BERT config point at model_type', () => {
    const dir = tempDir();
    const {weights} = randomCheckpoint({...TINY, modelType: 'roberta', typeVocabSize: 2});
    writeCheckpoint(dir, randomCheckpoint(TINY).config, weights, VOCAB);
    const error = expectUserError(() => loadCheckpoint(dir), 'missing tensors', 'bert.embeddings.word_embeddings.weight [20, 8]');
    assert.match(error.suggestions[0], /model_type to "roberta"/);
  });

  test('a missing directory suggests creating a random checkpoint', () => {
    const dir = path.join(tempDir(), 'nope');
    const error = expectUserError(() => loadCheckpoint(dir), dir, 'checkpoint directory not found');
    assert.ok(error.suggestions.some((s) => s.includes(`ptv2 models init --out ${dir}`)));
  });

  test('a missing config.json is named', () => {
    const dir = savedCheckpoint();
    fs.rmSync(path.join(dir, 'config.json'));
    const error = expectUserError(() => loadCheckpoint(dir), path.join(dir, 'config.json'), 'not found');
    assert.ok(error.suggestions.some((s) => s.includes('ptv2 models init --out')));
  });

  test('a config.json that is not JSON is named', () => {
    const dir = savedCheckpoint();
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": ');
    expectUserError(() => loadCheckpoint(dir), path.join(dir, 'config.json'), 'not valid JSON');
  });

  test('a missing model.safetensors is named', () => {
    const dir = savedCheckpoint();
    fs.rmSync(weightsFile(dir));
    const error = expectUserError(() => loadCheckpoint(dir), weightsFile(dir), 'not found');
    assert.ok(error.suggestions.some((s) => s.includes('ptv2 models init --out')));
  });

  test('only pytorch_model.bin names the command that converts it', () => {
    const dir = savedCheckpoint();
    fs.rmSync(weightsFile(dir));
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), '');
    const error = expectUserError(() => loadCheckpoint(dir), weightsFile(dir), 'has only pytorch_model.bin');
    assert.equal(error.suggestions[0].split('   ')[0], `ptv2 models convert ${dir}`);
  });

  test('a corrupt model.safetensors is named', () => {
    const dir = savedCheckpoint();
    fs.writeFileSync(weightsFile(dir), encodeSafetensors({}).subarray(0, 4));
    expectUserError(() => loadCheckpoint(dir), weightsFile(dir), 'shorter than the 8-byte');
  });

  test('writeCheckpoint refuses a vocabulary larger than vocab_size', () => {
    const {config, weights} = randomCheckpoint({...TINY, vocabSize: 5});
    expectUserError(() => writeCheckpoint(tempDir(), config, weights, VOCAB), 'vocab.txt vocab_size:', '7 tokens do not fit vocab_size 5');
  });
});
