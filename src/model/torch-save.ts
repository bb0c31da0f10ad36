/**
 * `pytorch_model.bin` written as torch.save (torch/serialization.py, zip format, pickle protocol
 * 2) writes a state dict, for tools that still read only .bin (`ptv2 models convert --to bin`) and
 * for the reader's tests: `archive/data.pkl` (an OrderedDict REDUCE, items
 * by SETITEMS, each value `_rebuild_tensor_v2((storage pid), offset, size, stride, False,
 * OrderedDict())`, then BUILD with `{'_metadata': …}`), `archive/data/<key>` per storage,
 * `archive/byteorder`, `archive/version`. Strings and globals are memoised and fetched again with
 * BINGET as Python's pickler does.
 */
import {zipSync} from 'fflate';
import type {RawTensor} from './safetensors.js';

export interface StorageSpec {
  key: string;
  /** torch storage class name, e.g. FloatStorage. */
  type: string;
  bytes: Uint8Array;
  numel: number;
}

export interface TensorSpec {
  name: string;
  storage: StorageSpec;
  offset: number;
  size: number[];
  stride: number[];
}

export class PickleWriter {
  readonly out: number[] = [];
  private readonly memo = new Map<string, number>();

  op(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }

  private put(key: string): void {
    const index = this.memo.size;
    this.memo.set(key, index);
    if (index < 256) this.op(0x71, index);
    else this.op(0x72, index & 0xff, (index >> 8) & 0xff, (index >> 16) & 0xff, index >>> 24);
  }

  private get(key: string): boolean {
    const index = this.memo.get(key);
    if (index === undefined) return false;
    if (index < 256) this.op(0x68, index);
    else this.op(0x6a, index & 0xff, (index >> 8) & 0xff, (index >> 16) & 0xff, index >>> 24);
    return true;
  }

  string(text: string): this {
    if (this.get(`s:${text}`)) return this;
    const bytes = new TextEncoder().encode(text);
    this.op(0x58, bytes.length & 0xff, (bytes.length >> 8) & 0xff, (bytes.length >> 16) & 0xff, bytes.length >>> 24, ...bytes);
    this.put(`s:${text}`);
    return this;
  }

  global(module: string, name: string): this {
    if (this.get(`g:${module}.${name}`)) return this;
    this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
    this.put(`g:${module}.${name}`);
    return this;
  }

  int(value: number): this {
    if (value < 256) return this.op(0x4b, value);
    if (value < 65536) return this.op(0x4d, value & 0xff, value >> 8);
    if (value < 2 ** 31) return this.op(0x4a, value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, (value >>> 24) & 0xff);
    // LONG1: little-endian two's complement, with a zero byte so the top bit is not a sign.
    const digits: number[] = [];
    for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) digits.push(rest % 256);
    if (digits[digits.length - 1] & 0x80) digits.push(0);
    return this.op(0x8a, digits.length, ...digits);
  }

  tuple(items: number[]): this {
    if (items.length === 0) return this.op(0x29);
    if (items.length <= 3) {
      for (const item of items) this.int(item);
      return this.op(0x84 + items.length);
    }
    this.op(0x28);
    for (const item of items) this.int(item);
    return this.op(0x74);
  }

  /** An unmemoised new object (as a fresh OrderedDict or tuple gets BINPUT anyway). */
  memoise(): this {
    this.put(`o:${this.memo.size}`);
    return this;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** The data.pkl torch.save writes for an OrderedDict state dict of these tensors. */
export function stateDictPickle(tensors: TensorSpec[]): Uint8Array {
  const w = new PickleWriter();
  w.op(0x80, 0x02);
  w.global('collections', 'OrderedDict').op(0x29, 0x52).memoise();
  w.op(0x28);
  for (const t of tensors) {
    w.string(t.name);
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.op(0x28);
    w.op(0x28).string('storage').global('torch', t.storage.type).string(t.storage.key).string('cpu').int(t.storage.numel).op(0x74).memoise();
    w.op(0x51);
    w.int(t.offset);
    w.tuple(t.size).memoise();
    w.tuple(t.stride).memoise();
    w.op(0x89);
    w.global('collections', 'OrderedDict').op(0x29, 0x52).memoise();
    w.op(0x74).memoise();
    w.op(0x52).memoise();
  }
  w.op(0x75);
  // state: {'_metadata': OrderedDict([('', {'version': 1})])}
  w.op(0x7d).memoise().string('_metadata');
  w.global('collections', 'OrderedDict').op(0x29, 0x52).memoise();
  w.string('').op(0x7d).memoise().string('version').int(1).op(0x73).op(0x73);
  w.op(0x73);
  w.op(0x62);
  w.op(0x2e);
  return w.bytes();
}

/** The zip torch.save writes: stored (uncompressed) entries under `archive/`. */
export function torchZip(pickle: Uint8Array, storages: StorageSpec[], archive = 'archive'): Uint8Array {
  const files: Record<string, [Uint8Array, {level: 0}]> = {
    [`${archive}/data.pkl`]: [pickle, {level: 0}],
    [`${archive}/byteorder`]: [new TextEncoder().encode('little'), {level: 0}],
  };
  for (const storage of storages) files[`${archive}/data/${storage.key}`] = [storage.bytes, {level: 0}];
  files[`${archive}/version`] = [new TextEncoder().encode('3\n'), {level: 0}];
  return zipSync(files);
}

export function torchSave(tensors: TensorSpec[]): Uint8Array {
  const storages = [...new Map(tensors.map((t) => [t.storage.key, t.storage])).values()];
  return torchZip(stateDictPickle(tensors), storages);
}

/** torch's storage class per safetensors dtype (the names the pickle references). */
const STORAGE_CLASSES: Record<string, string> = {
  F64: 'DoubleStorage', F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', I64: 'LongStorage',
  I32: 'IntStorage', I16: 'ShortStorage', I8: 'CharStorage', U8: 'ByteStorage', BOOL: 'BoolStorage',
};

/** A state dict of contiguous tensors, one storage each, in the given order. */
export function encodeTorchBin(tensors: Map<string, RawTensor>): Uint8Array {
  const specs = [...tensors].map(([name, t], i): TensorSpec => {
    const numel = t.shape.reduce((n, d) => n * d, 1);
    const stride = t.shape.map((_, k) => t.shape.slice(k + 1).reduce((n, d) => n * d, 1));
    return {name, storage: {key: String(i), type: STORAGE_CLASSES[t.dtype], bytes: t.bytes, numel}, offset: 0, size: t.shape, stride};
  });
  return torchSave(specs);
}
