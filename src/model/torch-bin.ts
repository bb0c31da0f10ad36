/**
 * PyTorch's `pytorch_model.bin` (torch.save's zip format, torch ≥ 1.6) read without Python and
 * without executing the pickle: `<archive>/data.pkl` is interpreted by src/model/pickle.ts with
 * only the names torch.save writes for a state dict allowed, and each tensor is cut from its
 * storage file `<archive>/data/<key>` by (storage offset, size, stride) — shared storages, views
 * and transposed tensors come out as contiguous row-major bytes.
 *
 * Layout (torch/serialization.py `_save`, `_load`; torch/_utils.py `_rebuild_tensor_v2`): the
 * persistent id of a storage is ('storage', torch.XStorage, key, location, numel); a tensor is
 * `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`,
 * offsets and strides in elements.
 */
import fs from 'node:fs';
import {unzipSync} from 'fflate';
import {UserError} from '../errors.js';
import {unpickle, type PickleDict, type PickleValue} from './pickle.js';
import {RAW_DTYPE_BYTES, type RawDtype, type RawTensor} from './safetensors.js';

export const TORCH_BIN_FILE = 'pytorch_model.bin';

/** torch's legacy storage classes (what the pickle names) → safetensors dtype. */
const STORAGE_DTYPES = new Map<string, RawDtype>([
  ['torch.DoubleStorage', 'F64'],
  ['torch.FloatStorage', 'F32'],
  ['torch.HalfStorage', 'F16'],
  ['torch.BFloat16Storage', 'BF16'],
  ['torch.LongStorage', 'I64'],
  ['torch.IntStorage', 'I32'],
  ['torch.ShortStorage', 'I16'],
  ['torch.CharStorage', 'I8'],
  ['torch.ByteStorage', 'U8'],
  ['torch.BoolStorage', 'BOOL'],
]);

interface StorageRef {
  readonly kind: 'storage';
  dtype: RawDtype;
  key: string;
  numel: number;
}

interface TensorRef {
  readonly kind: 'tensor';
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

export interface TorchBin {
  tensors: Map<string, RawTensor>;
  /** Distinct storages the tensors came from (fewer than tensors when some share one). */
  storages: number;
}

/** Zip files start with a local header "PK\x03\x04"; torch's legacy format with a pickled magic number. */
function isZip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export function readTorchBin(file: string): TorchBin {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new UserError(`cannot read: ${reason}`, {file});
  }
  return parseTorchBin(bytes, file);
}

export function parseTorchBin(bytes: Uint8Array, file: string): TorchBin {
  if (!isZip(bytes)) {
    const legacy = bytes.byteLength >= 2 && bytes[0] === 0x80;
    throw new UserError(
      legacy
        ? 'this is PyTorch\'s legacy (pre-1.6, non-zip) serialization, which ptv2 does not read'
        : 'not a PyTorch zip checkpoint (no zip header)',
      {file},
      ['re-save it with torch ≥ 1.6: torch.save(torch.load(FILE), FILE), or save_pretrained(DIR, safe_serialization=True) in transformers'],
    );
  }
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (error) {
    throw new UserError(`cannot read the zip archive: ${(error as Error).message}`, {file});
  }
  const pickleName = Object.keys(entries).find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (!pickleName) throw new UserError('the zip archive has no <name>/data.pkl; it is not a torch.save file', {file});
  const archive = pickleName.slice(0, -'data.pkl'.length);
  const byteorder = entries[`${archive}byteorder`];
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little') {
    throw new UserError('the checkpoint was saved on a big-endian machine, which ptv2 does not convert', {file, field: `${archive}byteorder`});
  }

  const refs = unpickleStateDict(entries[pickleName], `${file}:${pickleName}`);
  const storageBytes = (storage: StorageRef): Uint8Array => {
    const entry = entries[`${archive}data/${storage.key}`];
    if (!entry) throw new UserError(`storage ${storage.key} is missing from the archive`, {file, field: `${archive}data/${storage.key}`});
    const needed = storage.numel * RAW_DTYPE_BYTES[storage.dtype];
    if (entry.byteLength < needed) {
      throw new UserError(`storage holds ${entry.byteLength} bytes, fewer than ${storage.numel} ${storage.dtype} elements need`, {file, field: `${archive}data/${storage.key}`});
    }
    return entry;
  };
  const tensors = new Map<string, RawTensor>();
  for (const [name, ref] of refs) {
    tensors.set(name, {dtype: ref.storage.dtype, shape: ref.size, bytes: materialise(ref, storageBytes(ref.storage), name, file)});
  }
  return {tensors, storages: new Set([...refs.values()].map((ref) => ref.storage.key)).size};
}

/** data.pkl → tensor name → its storage view; only what a state dict needs is allowed. */
function unpickleStateDict(pickle: Uint8Array, where: string): Map<string, TensorRef> {
  const fail = (message: string): never => {
    throw new UserError(message, {file: where});
  };
  const storages = new Map<string, StorageRef>();
  const globals = new Map<string, {call?: (args: PickleValue[]) => PickleValue; build?: (target: PickleValue, state: PickleValue) => void}>([
    ['collections.OrderedDict', {
      call: (args) => (args.length === 0 ? new Map() : fail('OrderedDict with arguments is not allowed')),
      // state_dict()'s `_metadata` attribute (per-module versions): not a tensor, not needed.
      build: () => {},
    }],
    ['torch._utils._rebuild_tensor_v2', {call: (args) => rebuildTensor(args, fail)}],
    ['torch._utils._rebuild_parameter', {
      call: (args) => (isTensorRef(args[0]) ? args[0] : fail('_rebuild_parameter of something that is not a tensor')),
    }],
    ...[...STORAGE_DTYPES.keys()].map((name) => [name, {}] as const),
  ]);
  const root = unpickle(pickle, {
    file: where,
    allowedWhat: 'a state dict of tensors: OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_parameter and storage classes',
    globals,
    persistentLoad: (pid) => {
      // ('storage', torch.FloatStorage, '0', 'cpu', numel)
      if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') return fail(`unexpected persistent id ${JSON.stringify(pid)}; only storages are allowed`);
      const [, type, key, , numel] = pid;
      const typeName = typeof type === 'object' && type !== null && 'name' in type ? String(type.name) : '';
      const dtype = STORAGE_DTYPES.get(typeName) ?? fail(`unsupported storage type ${typeName || JSON.stringify(type)}`);
      if (typeof key !== 'string' || typeof numel !== 'number') return fail('a storage id needs a string key and an element count');
      const known = storages.get(key);
      if (known) return known;
      const storage: StorageRef = {kind: 'storage', dtype, key, numel};
      storages.set(key, storage);
      return storage;
    },
  });
  if (!(root instanceof Map)) return fail('the pickle is not a dict of tensors (a state dict); save model.state_dict(), not the model');
  const out = new Map<string, TensorRef>();
  for (const [name, value] of root as PickleDict) {
    if (typeof name !== 'string') fail(`a state dict key that is not a string: ${JSON.stringify(name)}`);
    if (!isTensorRef(value)) fail(`${String(name)} is not a tensor`);
    out.set(name as string, value as TensorRef);
  }
  return out;
}

function isTensorRef(value: PickleValue | undefined): value is TensorRef {
  return typeof value === 'object' && value !== null && !(value instanceof Map) && !Array.isArray(value) && 'kind' in value && value.kind === 'tensor';
}

function rebuildTensor(args: PickleValue[], fail: (message: string) => never): TensorRef {
  const [storage, offset, size, stride] = args;
  const isStorage = typeof storage === 'object' && storage !== null && 'kind' in storage && storage.kind === 'storage';
  const ints = (value: PickleValue) => Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  if (!isStorage || typeof offset !== 'number' || !ints(size) || !ints(stride) || (size as number[]).length !== (stride as number[]).length) {
    return fail('_rebuild_tensor_v2 needs (storage, offset, size, stride); this call has other arguments');
  }
  return {kind: 'tensor', storage: storage as StorageRef, offset, size: size as number[], stride: stride as number[]};
}

/**
 * The tensor's elements in row-major order as new bytes: element (i0, …, in) of the view is
 * storage element offset + Σ ik·stride[k]. A view past its storage's end is an error.
 */
function materialise(ref: TensorRef, storage: Uint8Array, name: string, file: string): Uint8Array {
  const {size, stride, offset} = ref;
  const width = RAW_DTYPE_BYTES[ref.storage.dtype];
  const count = size.reduce((n, d) => n * d, 1);
  const out = new Uint8Array(count * width);
  if (count === 0) return out;
  const last = offset + size.reduce((sum, d, k) => sum + (d - 1) * stride[k], 0);
  if (last >= ref.storage.numel) {
    throw new UserError(`view (offset ${offset}, size [${size.join(', ')}], stride [${stride.join(', ')}]) reaches element ${last} of a storage of ${ref.storage.numel}`, {file, field: name});
  }
  // Trailing dimensions laid out contiguously are copied as one run.
  let run = 1;
  let dims = size.length;
  while (dims > 0 && stride[dims - 1] === run) run *= size[--dims];
  const runBytes = run * width;
  const index = new Array<number>(dims).fill(0);
  for (let written = 0; written < out.byteLength; written += runBytes) {
    let element = offset;
    for (let k = 0; k < dims; k++) element += index[k] * stride[k];
    out.set(storage.subarray(element * width, element * width + runBytes), written);
    for (let k = dims - 1; k >= 0; k--) {
      if (++index[k] < size[k]) break;
      index[k] = 0;
    }
  }
  return out;
}
