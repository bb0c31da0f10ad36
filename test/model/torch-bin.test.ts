import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {UserError} from '../../src/errors.js';
import {loadCheckpoint, randomCheckpoint, writeCheckpoint} from '../../src/model/checkpoint.js';
import {convertCheckpoint} from '../../src/model/convert.js';
import {unpickle} from '../../src/model/pickle.js';
import {floatToBfloat16, floatToHalf, parseRawSafetensors, readSafetensors, type RawTensor} from '../../src/model/safetensors.js';
import {parseTorchBin} from '../../src/model/torch-bin.js';
import {PickleWriter, stateDictPickle, torchSave, torchZip, type StorageSpec, type TensorSpec} from '../../src/model/torch-save.js';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-bin-'));

function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
function u16(values: number[]): Uint8Array {
  return new Uint8Array(Uint16Array.from(values).buffer);
}
function i64(values: number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
}

const range = (n: number, scale = 1) => Array.from({length: n}, (_, i) => (i - 3) * scale);

// Storage 0 (F32, 12 elements) carries three tensors: a 3×4 matrix, its transpose [4, 3] with
// stride [1, 4], and a row view (offset 4, size [4]). Storage 1 is an F16 vector, 2 a BF16
// matrix viewed from offset 2, 3 the I64 position ids.
const S0: StorageSpec = {key: '0', type: 'FloatStorage', bytes: f32(range(12, 0.5)), numel: 12};
const S1: StorageSpec = {key: '1', type: 'HalfStorage', bytes: u16([1.5, -2, 0.25, 65504].map(floatToHalf)), numel: 4};
const S2: StorageSpec = {key: '2', type: 'BFloat16Storage', bytes: u16([9, 9, 1, 2, 3, 4, 5, 6].map(floatToBfloat16)), numel: 8};
const S3: StorageSpec = {key: '3', type: 'LongStorage', bytes: i64([0, 1, 2, 3, 4, 5]), numel: 6};

const TENSORS = [
  {name: 'matrix', storage: S0, offset: 0, size: [3, 4], stride: [4, 1]},
  {name: 'matrix_t', storage: S0, offset: 0, size: [4, 3], stride: [1, 4]},
  {name: 'row', storage: S0, offset: 4, size: [4], stride: [1]},
  {name: 'half', storage: S1, offset: 0, size: [4], stride: [1]},
  {name: 'bf16_view', storage: S2, offset: 2, size: [2, 3], stride: [3, 1]},
  {name: 'embeddings.position_ids', storage: S3, offset: 0, size: [1, 6], stride: [6, 1]},
];

function values(tensor: RawTensor): number[] {
  // A copy: a Buffer's slice() would share memory at any alignment.
  const {buffer, byteOffset, byteLength} = new Uint8Array(tensor.bytes);
  switch (tensor.dtype) {
    case 'F32': return [...new Float32Array(buffer, byteOffset, byteLength / 4)];
    case 'I64': return [...new BigInt64Array(buffer, byteOffset, byteLength / 8)].map(Number);
    default: return [...new Uint16Array(buffer, byteOffset, byteLength / 2)];
  }
}

describe('pytorch_model.bin', () => {
  test('each dtype, a shared storage, an offset view and a transposed view come out contiguous', () => {
    const {tensors, storages} = parseTorchBin(torchSave(TENSORS), 'model.bin');
    assert.equal(storages, 4);
    const m = range(12, 0.5);
    const expected: Record<string, {dtype: string; shape: number[]; values: number[]}> = {
      matrix: {dtype: 'F32', shape: [3, 4], values: m},
      // Transpose: element (i, j) = storage[i + 4j].
      matrix_t: {dtype: 'F32', shape: [4, 3], values: [m[0], m[4], m[8], m[1], m[5], m[9], m[2], m[6], m[10], m[3], m[7], m[11]]},
      row: {dtype: 'F32', shape: [4], values: m.slice(4, 8)},
      half: {dtype: 'F16', shape: [4], values: [1.5, -2, 0.25, 65504].map(floatToHalf)},
      bf16_view: {dtype: 'BF16', shape: [2, 3], values: [1, 2, 3, 4, 5, 6].map(floatToBfloat16)},
      'embeddings.position_ids': {dtype: 'I64', shape: [1, 6], values: [0, 1, 2, 3, 4, 5]},
    };
    assert.deepEqual([...tensors.keys()], Object.keys(expected));
    for (const [name, want] of Object.entries(expected)) {
      const got = tensors.get(name)!;
      assert.deepEqual({dtype: got.dtype, shape: got.shape, values: values(got)}, want, name);
    }
  });

  test('convert writes model.safetensors with the same names, shapes, dtypes and format metadata', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), torchSave(TENSORS));
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    const out = path.join(tempDir(), 'converted');
    const result = convertCheckpoint(dir, out);
    assert.deepEqual(result.dtypes, {F32: 3, F16: 1, BF16: 1, I64: 1});
    assert.deepEqual(result.copied, ['config.json']);
    const written = parseRawSafetensors(fs.readFileSync(path.join(out, 'model.safetensors')));
    assert.deepEqual(written.metadata, {format: 'pt'});
    const direct = parseTorchBin(torchSave(TENSORS), 'x').tensors;
    for (const [name, tensor] of direct) {
      const got = written.tensors.get(name)!;
      assert.deepEqual({dtype: got.dtype, shape: got.shape, bytes: [...got.bytes]}, {dtype: tensor.dtype, shape: tensor.shape, bytes: [...tensor.bytes]}, name);
    }
    assert.throws(() => convertCheckpoint(dir, out), /already exists/);
  });

  test('a converted BERT checkpoint loads with the same weights', () => {
    const {config, weights} = randomCheckpoint({layers: 1, hidden: 8, heads: 2, intermediate: 16, maxPositions: 16, vocabSize: 12});
    const dir = tempDir();
    writeCheckpoint(dir, config, weights, Array.from({length: 12}, (_, i) => `t${i}`));
    const original = readSafetensors(path.join(dir, 'model.safetensors')).tensors;
    // One storage per tensor, plus the I64 position_ids buffer old transformers saved.
    const specs: TensorSpec[] = [...original].map(([name, t], i) => ({name, storage: {key: String(i), type: 'FloatStorage', bytes: new Uint8Array(t.data.slice().buffer), numel: t.data.length}, offset: 0, size: t.shape, stride: t.shape.map((_, k) => t.shape.slice(k + 1).reduce((a, b) => a * b, 1))}));
    specs.push({name: 'bert.embeddings.position_ids', storage: {key: 'p', type: 'LongStorage', bytes: i64(range(16).map((x) => x + 3)), numel: 16}, offset: 0, size: [1, 16], stride: [16, 1]});
    fs.rmSync(path.join(dir, 'model.safetensors'));
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), torchSave(specs));
    assert.throws(() => loadCheckpoint(dir), /ptv2 models convert/);
    convertCheckpoint(dir);
    const loaded = loadCheckpoint(dir);
    for (const [name, tensor] of original) assert.deepEqual(loaded.weights.get(name)!.data, tensor.data, name);
  });

  test('a pickle that calls os.system is refused at the reference, and nothing runs', () => {
    const dir = tempDir();
    const marker = path.join(dir, 'pwned');
    const w = new PickleWriter();
    w.op(0x80, 0x02).global('os', 'system').string(`touch ${marker}`).op(0x85, 0x52, 0x2e);
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), torchZip(w.bytes(), []));
    assert.throws(() => convertCheckpoint(dir), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, /pytorch_model\.bin:archive\/data\.pkl: refused: the pickle references os\.system/);
      assert.match(error.message, /nothing was executed/);
      return true;
    });
    assert.equal(fs.existsSync(marker), false);
    assert.equal(fs.existsSync(path.join(dir, 'model.safetensors')), false);
  });

  const REFUSED = [
    {name: 'STACK_GLOBAL builtins.eval', pickle: () => new PickleWriter().op(0x80, 0x04).string('builtins').string('eval').op(0x93).bytes(), expected: /references builtins\.eval/},
    {name: 'REDUCE on an allowed storage class', pickle: () => new PickleWriter().op(0x80, 0x02).global('torch', 'FloatStorage').op(0x29, 0x52, 0x2e).bytes(), expected: /calls torch\.FloatStorage/},
    {name: 'INST (protocol 0 object)', pickle: () => new PickleWriter().op(0x28, 0x69, ...new TextEncoder().encode('os\nsystem\n')).bytes(), expected: /uses INST/},
    {name: 'NEWOBJ', pickle: () => new PickleWriter().op(0x80, 0x02, 0x4e, 0x29, 0x81).bytes(), expected: /uses NEWOBJ/},
    {name: 'BUILD on a tuple', pickle: () => new PickleWriter().op(0x80, 0x02, 0x29, 0x7d, 0x62, 0x2e).bytes(), expected: /sets the state of a tuple/},
    {name: 'a persistent id that is not a storage', pickle: () => new PickleWriter().op(0x80, 0x02).string('x').op(0x51, 0x2e).bytes(), expected: /unexpected persistent id "x"/},
    {name: 'a list, not a state dict', pickle: () => new PickleWriter().op(0x80, 0x02, 0x5d, 0x2e).bytes(), expected: /not a dict of tensors/},
    {name: 'a truncated pickle', pickle: () => stateDictPickle(TENSORS.slice(0, 1)).subarray(0, 40), expected: /truncated|ends/},
  ];
  for (const {name, pickle, expected} of REFUSED) {
    test(`refused: ${name}`, () => {
      assert.throws(() => parseTorchBin(torchZip(pickle(), []), 'm.bin'), (error: unknown) => error instanceof UserError && expected.test(error.message));
    });
  }

  test('a parameter (_rebuild_parameter around _rebuild_tensor_v2, as torch.save writes nn.Parameter) is read as its tensor', () => {
    const w = new PickleWriter();
    w.op(0x80, 0x02).global('collections', 'OrderedDict').op(0x29, 0x52).memoise().string('weight');
    w.global('torch._utils', '_rebuild_parameter');
    w.global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    w.op(0x28).string('storage').global('torch', 'FloatStorage').string('0').string('cpu').int(12).op(0x74, 0x51);
    w.int(4).tuple([2, 2]).tuple([1, 2]).op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52, 0x74, 0x52);
    w.op(0x88).global('collections', 'OrderedDict').op(0x29, 0x52, 0x87, 0x52);
    w.op(0x73, 0x2e);
    const {tensors} = parseTorchBin(torchZip(w.bytes(), [S0]), 'p.bin');
    const m = range(12, 0.5);
    // Offset 4, stride [1, 2]: (i, j) = storage[4 + i + 2j].
    assert.deepEqual(values(tensors.get('weight')!), [m[4], m[6], m[5], m[7]]);
  });

  test('a view past the end of its storage, and the legacy format, are refused with the reason', () => {
    const bad = [{...TENSORS[2], offset: 10}];
    assert.throws(() => parseTorchBin(torchSave(bad), 'm.bin'), /m\.bin row: view \(offset 10, size \[4\], stride \[1\]\) reaches element 13 of a storage of 12/);
    const legacy = new Uint8Array([0x80, 0x02, 0x8a, 0x0a]);
    assert.throws(() => parseTorchBin(legacy, 'm.bin'), /legacy \(pre-1\.6, non-zip\)/);
  });

  test('the interpreter reads memo, LONG1, floats and nested containers as Python would', () => {
    // {'a': (1, -2, 3.5, None, True), 'b': [2**40, 'x'], 'c': <BINGET of 'a'>}
    const w = new PickleWriter();
    w.op(0x80, 0x02, 0x7d).memoise().op(0x28).string('a').op(0x28, 0x4b, 1, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x47, 0x40, 0x0c, 0, 0, 0, 0, 0, 0, 0x4e, 0x88, 0x74);
    w.string('b').op(0x5d, 0x28, 0x8a, 6, 0, 0, 0, 0, 0, 1).string('x').op(0x65);
    w.string('c').string('a').op(0x75, 0x2e);
    const value = unpickle(w.bytes(), {file: 'x.pkl', allowedWhat: 'data', globals: new Map()});
    assert.deepEqual(value, new Map<string, unknown>([['a', [1, -2, 3.5, null, true]], ['b', [2 ** 40, 'x']], ['c', 'a']]));
  });
});

/** A Python with torch (the first python3 on PATH may be another one than Debian's), or undefined. */
function torchPython(): string | undefined {
  return ['python3', '/usr/bin/python3'].find((python) => spawnSync(python, ['-c', 'import torch'], {encoding: 'utf8'}).status === 0);
}
const PYTHON = torchPython();

// Not installed by .ci/run (python3-torch is large), so this test skips in CI as well; the pure-JS
// files above are the CI test of the format.
describe('pytorch_model.bin written by torch.save', {skip: PYTHON ? false : 'needs PyTorch: apt-get install -y python3-torch (Debian package "python3-torch")'}, () => {
  test('convert equals torch\'s own values for every dtype, shared storage, offset and transposed view', () => {
    const dir = tempDir();
    const script = `
import torch, collections, json
torch.manual_seed(0)
base = torch.randn(3, 4)
sd = collections.OrderedDict()
sd['matrix'] = base
sd['matrix_t'] = base.t()
sd['row'] = base[1]
sd['half'] = torch.randn(5).half()
sd['bf16_view'] = torch.randn(4, 3).bfloat16()[1:]
sd['ids'] = torch.arange(7).expand(1, -1)
sd['strided'] = torch.randn(4, 6)[:, ::2]
torch.save(sd, '${dir}/pytorch_model.bin')
print(json.dumps({k: {'dtype': str(v.dtype), 'shape': list(v.shape), 'values': v.float().flatten().tolist()} for k, v in sd.items()}))
`;
    const r = spawnSync(PYTHON!, ['-c', script], {encoding: 'utf8'});
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout) as Record<string, {dtype: string; shape: number[]; values: number[]}>;
    convertCheckpoint(dir);
    const {tensors, metadata} = parseRawSafetensors(fs.readFileSync(path.join(dir, 'model.safetensors')));
    assert.deepEqual(metadata, {format: 'pt'});
    const dtypes: Record<string, string> = {'torch.float32': 'F32', 'torch.float16': 'F16', 'torch.bfloat16': 'BF16', 'torch.int64': 'I64'};
    for (const [name, want] of Object.entries(expected)) {
      const got = tensors.get(name)!;
      assert.equal(got.dtype, dtypes[want.dtype], name);
      assert.deepEqual(got.shape, want.shape, name);
      const decoded = readSafetensors(path.join(dir, 'model.safetensors'), {skip: (n) => n !== name || got.dtype === 'I64'}).tensors.get(name);
      const actual = decoded ? [...decoded.data] : values(got);
      assert.deepEqual(actual, want.values.map((v) => (got.dtype === 'I64' ? v : Math.fround(v))), name);
    }
  });
});
