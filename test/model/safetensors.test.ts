import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {UserError} from '../../src/errors.js';
import {
  bfloat16ToFloat,
  encodeSafetensors,
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
  parseSafetensors,
  readSafetensors,
  writeSafetensors,
  type NamedTensor,
  type SafetensorsDtype,
} from '../../src/model/safetensors.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-'));
}

/** Length prefix + header text (unpadded, as given) + buffer bytes. */
function assemble(header: string | object, buffer: number[] = []): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(buffer, 8 + json.length);
  return out;
}

function expectUserError(run: () => unknown, ...fragments: string[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" should mention "${fragment}"`);
    }
    return true;
  });
}

describe('float16 conversion', () => {
  const CASES = [
    {name: 'one', input: 1, expected: 0x3c00},
    {name: 'negative', input: -2.5, expected: 0xc100},
    {name: 'largest finite', input: 65504, expected: 0x7bff},
    {name: 'just below the overflow tie', input: 65519, expected: 0x7bff},
    {name: 'overflow tie rounds to infinity', input: 65520, expected: 0x7c00},
    {name: 'large overflow', input: 1e6, expected: 0x7c00},
    {name: 'minus infinity', input: -Infinity, expected: 0xfc00},
    {name: 'NaN stays NaN', input: NaN, expected: 0x7e00},
    {name: 'negative zero keeps its sign', input: -0, expected: 0x8000},
    {name: 'smallest normal', input: 2 ** -14, expected: 0x0400},
    {name: 'smallest subnormal', input: 2 ** -24, expected: 0x0001},
    {name: '1e-5 is subnormal 168·2^-24', input: 1e-5, expected: 168},
    {name: '1e-8 underflows to zero', input: 1e-8, expected: 0x0000},
    {name: '1e-30 underflows to zero', input: 1e-30, expected: 0x0000},
    {name: 'a float32 subnormal underflows to signed zero', input: -1e-40, expected: 0x8000},
    {name: 'subnormal tie at 2^-25 rounds to even zero', input: 2 ** -25, expected: 0x0000},
    {name: 'subnormal tie at 3·2^-25 rounds to even 2', input: 3 * 2 ** -25, expected: 0x0002},
    {name: 'tie 1+2^-11 rounds down to even', input: 1 + 2 ** -11, expected: 0x3c00},
    {name: 'tie 1+3·2^-11 rounds up to even', input: 1 + 3 * 2 ** -11, expected: 0x3c02},
    {name: '0.1 rounds to 0x2e66', input: 0.1, expected: 0x2e66},
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => assert.equal(floatToHalf(input), expected));
  }

  const DECODE_CASES = [
    {name: 'one', input: 0x3c00, expected: 1},
    {name: 'largest finite', input: 0x7bff, expected: 65504},
    {name: 'smallest subnormal', input: 0x0001, expected: 2 ** -24},
    {name: 'largest subnormal', input: 0x03ff, expected: 1023 * 2 ** -24},
    {name: 'minus infinity', input: 0xfc00, expected: -Infinity},
    {name: '0x2e66', input: 0x2e66, expected: 0.0999755859375},
  ];
  for (const {name, input, expected} of DECODE_CASES) {
    test(`decode ${name}`, () => assert.equal(halfToFloat(input), expected));
  }
  test('decode NaN', () => assert.ok(Number.isNaN(halfToFloat(0x7e00))));

  test('every finite half survives half → float → half', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue;
      assert.equal(floatToHalf(halfToFloat(h)), h);
    }
  });
});

describe('bfloat16 conversion', () => {
  const CASES = [
    {name: 'one', input: 1, expected: 0x3f80},
    {name: 'negative', input: -2.5, expected: 0xc020},
    {name: 'pi rounds down to 3.140625', input: Math.fround(Math.PI), expected: 0x4049},
    {name: '0.1 rounds up to 0.10009765625', input: Math.fround(0.1), expected: 0x3dcd},
    {name: 'tie 1+2^-8 rounds down to even', input: 1 + 2 ** -8, expected: 0x3f80},
    {name: 'tie 1+3·2^-8 rounds up to even', input: 1 + 3 * 2 ** -8, expected: 0x3f82},
    {name: 'largest float32 rounds to infinity', input: 3.4028234663852886e38, expected: 0x7f80},
    {name: 'NaN stays NaN', input: NaN, expected: 0x7fc0},
    {name: 'minus infinity', input: -Infinity, expected: 0xff80},
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => assert.equal(floatToBfloat16(input), expected));
  }
  test('decode', () => {
    assert.equal(bfloat16ToFloat(0x4049), 3.140625);
    assert.equal(bfloat16ToFloat(0x3dcd), 0.10009765625);
    assert.equal(bfloat16ToFloat(0xc020), -2.5);
  });
});

describe('safetensors layout', () => {
  test('encodes a tiny file byte for byte', () => {
    const bytes = encodeSafetensors({x: {shape: [2], data: new Float32Array([1, -2.5])}});
    const header = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    assert.equal(header.length, 54);
    const expected = [
      56, 0, 0, 0, 0, 0, 0, 0,
      ...[...header].map((c) => c.charCodeAt(0)), 0x20, 0x20,
      0x00, 0x00, 0x80, 0x3f, // 1.0
      0x00, 0x00, 0x20, 0xc0, // -2.5
    ];
    assert.deepEqual([...bytes], expected);
  });

  test('parses a hand-assembled file with metadata and mixed dtypes', () => {
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"c":{"dtype":"BF16","shape":[],"data_offsets":[12,14]}}';
    const buffer = [
      0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, // a: 1.0, -2.5
      0x00, 0x3c, 0xff, 0x7b, // b: 1.0, 65504
      0x49, 0x40, // c: 3.140625
    ];
    const parsed = parseSafetensors(assemble(header, buffer), 'tiny.safetensors');
    assert.deepEqual(parsed.metadata, {format: 'pt'});
    assert.deepEqual([...parsed.tensors.keys()], ['b', 'a', 'c']);
    assert.deepEqual(parsed.tensors.get('a'), {shape: [2], data: new Float32Array([1, -2.5])});
    assert.deepEqual(parsed.tensors.get('b'), {shape: [1, 2], data: new Float32Array([1, 65504])});
    assert.deepEqual(parsed.tensors.get('c'), {shape: [], data: new Float32Array([3.140625])});
  });

  test('header is space-padded to 8 bytes, names sorted, data back to back', () => {
    const bytes = encodeSafetensors(
      new Map<string, NamedTensor>([
        ['zeta', {shape: [3], data: new Float32Array([1, 2, 3])}],
        ['alpha', {shape: [1], data: new Float32Array([4])}],
      ]),
      {format: 'pt'},
      'F16',
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerLength % 8, 0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    assert.match(text, /^\{.*\} *$/);
    const header = JSON.parse(text);
    assert.deepEqual(Object.keys(header), ['__metadata__', 'alpha', 'zeta']);
    assert.deepEqual(header.alpha.data_offsets, [0, 2]);
    assert.deepEqual(header.zeta.data_offsets, [2, 8]);
    assert.equal(bytes.length, 8 + headerLength + 8);
  });

  test('F32 reads share memory when aligned and copy when not', () => {
    const aligned = encodeSafetensors({w: {shape: [2], data: new Float32Array([5, 6])}});
    const read = parseSafetensors(aligned).tensors.get('w')!;
    assert.equal(read.data.buffer, aligned.buffer);

    const header = {
      h: {dtype: 'F16', shape: [1], data_offsets: [0, 2]},
      w: {dtype: 'F32', shape: [1], data_offsets: [2, 6]},
    };
    const unaligned = assemble(JSON.stringify(header).padEnd(64, ' '), [0x00, 0x3c, 0x00, 0x00, 0x20, 0xc0]);
    const copied = parseSafetensors(unaligned).tensors.get('w')!;
    assert.notEqual(copied.data.buffer, unaligned.buffer);
    assert.equal(copied.data.byteOffset % 4, 0);
    assert.deepEqual([...copied.data], [-2.5]);
  });
});

describe('safetensors round trip', () => {
  const values = new Float32Array([1, -2.5, 65504, 1e-5, 0.1, 1e-8, 0, -0.75, 3e-3]);
  const CASES: {name: SafetensorsDtype; expected: number[]}[] = [
    {name: 'F32', expected: [...values]},
    {name: 'F16', expected: [1, -2.5, 65504, 168 * 2 ** -24, 0.0999755859375, 0, 0, -0.75, 0.0030002593994140625]},
    {name: 'BF16', expected: [1, -2.5, 65536, 1.0013580322265625e-5, 0.10009765625, 1.0011717677116394e-8, 0, -0.75, 0.0030059814453125]},
  ];
  for (const {name, expected} of CASES) {
    test(`${name} through a file`, () => {
      const file = path.join(tempDir(), 'model.safetensors');
      const tensors = {
        'layer.weight': {shape: [3, 3], data: values},
        'layer.bias': {shape: [0], data: new Float32Array(0)},
      };
      writeSafetensors(file, tensors, {format: 'pt', note: 'ünïcode'}, name);
      const read = readSafetensors(file);
      assert.deepEqual(read.metadata, {format: 'pt', note: 'ünïcode'});
      assert.deepEqual(read.tensors.get('layer.weight')!.shape, [3, 3]);
      assert.deepEqual([...read.tensors.get('layer.weight')!.data], expected.map(Math.fround));
      assert.deepEqual(read.tensors.get('layer.bias'), {shape: [0], data: new Float32Array(0)});
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['model.safetensors']);
    });
  }

  test('F32 keeps every bit, NaN and infinities included', () => {
    const special = new Float32Array([NaN, Infinity, -Infinity, -0, 1.401298464324817e-45, 3.4028234663852886e38]);
    const read = parseSafetensors(encodeSafetensors({s: {shape: [6], data: special}})).tensors.get('s')!;
    assert.deepEqual(new Uint32Array(read.data.slice().buffer), new Uint32Array(special.buffer));
  });

  test('skip leaves out a tensor of any dtype', () => {
    const header = {
      ids: {dtype: 'I64', shape: [2], data_offsets: [0, 16]},
      w: {dtype: 'F32', shape: [1], data_offsets: [16, 20]},
    };
    const bytes = assemble(header, [...new Array(16).fill(0), 0x00, 0x00, 0x80, 0x3f]);
    const read = parseSafetensors(bytes, 'f.safetensors', {skip: (name) => name === 'ids'});
    assert.deepEqual([...read.tensors.keys()], ['w']);
  });
});

describe('safetensors errors', () => {
  const tensor = (dtype: string, shape: number[], offsets: number[]) => ({t: {dtype, shape, data_offsets: offsets}});
  const CASES = [
    {name: 'truncated below 8 bytes', input: new Uint8Array([1, 2, 3, 4, 5]), expected: ['bad.safetensors', 'shorter than the 8-byte']},
    {name: 'empty file', input: new Uint8Array(0), expected: ['bad.safetensors', 'file is 0 bytes']},
    {
      name: 'header length past the end',
      input: (() => {
        const bytes = assemble({}, [0, 0, 0, 0]);
        new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
        return bytes;
      })(),
      expected: ['bad.safetensors', 'header length 1000 runs past the end of the file (14 bytes)'],
    },
    {
      name: 'header length beyond 2^53',
      input: (() => {
        const bytes = new Uint8Array(16);
        new DataView(bytes.buffer).setBigUint64(0, 2n ** 63n, true);
        return bytes;
      })(),
      expected: ['bad.safetensors', 'runs past the end of the file'],
    },
    {name: 'header not JSON', input: assemble('{"t": {', []), expected: ['bad.safetensors', 'header is not valid JSON']},
    {name: 'header not an object', input: assemble('[1, 2]', []), expected: ['bad.safetensors', 'header must be a JSON object']},
    {name: 'header not UTF-8', input: (() => { const b = assemble('{"t":1}'); b[10] = 0xff; return b; })(), expected: ['header is not valid UTF-8']},
    {
      name: 'data_offsets past the end',
      input: assemble(tensor('F32', [4], [0, 16]), [0, 0, 0, 0, 0, 0, 0, 0]),
      expected: ['bad.safetensors t:', 'data_offsets end 16 is past the end of the file', 'holds 8 bytes'],
    },
    {name: 'begin after end', input: assemble(tensor('F32', [0], [8, 4]), new Array(8).fill(0)), expected: ['bad.safetensors t:', 'begin 8 is after end 4']},
    {
      name: 'wrong byte length',
      input: assemble(tensor('F16', [2, 3], [0, 8]), new Array(8).fill(0)),
      expected: ['bad.safetensors t:', 'span 8 bytes but shape [2, 3] of F16 needs 12'],
    },
    {
      name: 'unknown dtype',
      input: assemble(tensor('I64', [1], [0, 8]), new Array(8).fill(0)),
      expected: ['bad.safetensors t:', 'unsupported dtype "I64"', 'supported dtypes: F32, F16, BF16'],
    },
    {name: 'bad shape', input: assemble(tensor('F32', [-1], [0, 0])), expected: ['bad.safetensors t:', 'shape must be an array of non-negative integers']},
    {name: 'bad offsets', input: assemble(tensor('F32', [1], [0])), expected: ['bad.safetensors t:', 'data_offsets must be [begin, end]']},
    {
      name: 'metadata value not a string',
      input: assemble({__metadata__: {epoch: 3}}),
      expected: ['bad.safetensors __metadata__:', 'value of "epoch" must be a string'],
    },
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => expectUserError(() => parseSafetensors(input, 'bad.safetensors'), ...expected));
  }

  test('overlapping and out-of-order ranges inside the buffer are accepted', () => {
    const header = {
      late: {dtype: 'F32', shape: [1], data_offsets: [4, 8]},
      both: {dtype: 'F32', shape: [2], data_offsets: [0, 8]},
    };
    const read = parseSafetensors(assemble(header, [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0]));
    assert.deepEqual([...read.tensors.get('late')!.data], [-2.5]);
    assert.deepEqual([...read.tensors.get('both')!.data], [1, -2.5]);
  });

  test('a missing file names it', () => {
    const file = path.join(tempDir(), 'absent.safetensors');
    expectUserError(() => readSafetensors(file), file, 'file not found');
  });

  test('writing a tensor whose shape disagrees with its data names the tensor', () => {
    const file = path.join(tempDir(), 'out.safetensors');
    expectUserError(
      () => writeSafetensors(file, {w: {shape: [2, 2], data: new Float32Array(3)}}),
      `${file} w:`, 'shape [2, 2] does not match 3 values',
    );
    assert.equal(fs.existsSync(file), false);
  });
});
