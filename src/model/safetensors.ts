/**
 * safetensors reader and writer: float tensors (F32, F16, BF16; always float32 in memory) for the
 * model code, and raw tensors in every dtype safetensors defines (bytes as stored, I64 buffers such
 * as `position_ids` included) for checkpoint conversion and inspection; one header parser checks
 * both.
 *
 * Layout (https://github.com/huggingface/safetensors, "Format"): an 8-byte little-endian u64 N,
 * N bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?:
 * {string: string}}`, then the byte buffer; offsets are relative to the buffer start and all
 * numbers are little-endian. The writer follows the HF Python/Rust writer: header padded with
 * spaces so the buffer starts on an 8-byte boundary, tensors sorted by name, laid out back to
 * back with no gaps (HF's reader rejects gaps).
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {UserError} from '../errors.js';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

export interface ParseOptions {
  /**
   * Tensors to leave out by name. Their byte ranges are still checked, but not their dtype, so
   * a caller can step over integer buffers such as `embeddings.position_ids` (I64).
   */
  skip?: (name: string) => boolean;
}

const HEADER_LENGTH_BYTES = 8;
const HEADER_ALIGNMENT = 8;
const METADATA_KEY = '__metadata__';
const HOST_IS_LITTLE_ENDIAN = os.endianness() === 'LE';

interface DtypeCodec {
  bytesPerElement: number;
  decode(bytes: Uint8Array, count: number): Float32Array;
  encode(values: Float32Array, out: Uint8Array): void;
}

// Scratch views that reinterpret one float32 as its bit pattern.
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function float32Bits(value: number): number {
  scratchFloat[0] = value;
  return scratchBits[0];
}

function float32FromBits(bits: number): number {
  scratchBits[0] = bits;
  return scratchFloat[0];
}

/** IEEE binary16 → number; subnormals are m·2^-24, exponent 31 is inf/NaN. */
export function halfToFloat(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** number → IEEE binary16, rounding to nearest even; overflow gives ±inf, NaN stays quiet NaN. */
export function floatToHalf(value: number): number {
  const bits = float32Bits(value);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Below 2^-25 even the smallest subnormal is more than twice too big: rounds to zero.
    if (halfExponent < -10) return sign;
    const significand = mantissa | 0x800000;
    const dropped = 14 - halfExponent;
    return sign | roundShiftEven(significand, dropped);
  }
  // A carry out of the mantissa correctly bumps the exponent (and 65520+ becomes inf).
  return sign | roundShiftEven((halfExponent << 23) | mantissa, 13);
}

/** value >> shift, rounded to nearest with ties to even. */
function roundShiftEven(value: number, shift: number): number {
  const kept = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return remainder > halfway || (remainder === halfway && kept & 1) ? kept + 1 : kept;
}

export function bfloat16ToFloat(bf16: number): number {
  return float32FromBits((bf16 << 16) >>> 0);
}

/** number → bfloat16 (top half of float32), rounding to nearest even; NaN stays quiet NaN. */
export function floatToBfloat16(value: number): number {
  const bits = float32Bits(value);
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

let halfTable: Float32Array | undefined;

/** All 65536 halves decoded once: a lookup beats bit twiddling on checkpoint-sized arrays. */
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const CODECS = new Map<SafetensorsDtype, DtypeCodec>([
  ['F32', {
    bytesPerElement: 4,
    decode(bytes, count) {
      // A view shares the file's memory; only a misaligned or big-endian source needs a copy.
      if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
        return new Float32Array(bytes.buffer, bytes.byteOffset, count);
      }
      const view = dataView(bytes);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    },
    encode(values, out) {
      if (HOST_IS_LITTLE_ENDIAN) {
        out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
        return;
      }
      const view = dataView(out);
      for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    },
  }],
  ['F16', {
    bytesPerElement: 2,
    decode(bytes, count) {
      const table = halfLookup();
      const view = dataView(bytes);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)];
      return out;
    },
    encode(values, out) {
      const view = dataView(out);
      for (let i = 0; i < values.length; i++) view.setUint16(i * 2, floatToHalf(values[i]), true);
    },
  }],
  ['BF16', {
    bytesPerElement: 2,
    decode(bytes, count) {
      const view = dataView(bytes);
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      // Aliased typed arrays share host byte order, so writing the bits is endian-safe.
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    },
    encode(values, out) {
      const view = dataView(out);
      for (let i = 0; i < values.length; i++) {
        view.setUint16(i * 2, floatToBfloat16(values[i]), true);
      }
    },
  }],
]);

const SUPPORTED_DTYPES = [...CODECS.keys()].join(', ');

function elementCount(shape: number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function formatShape(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

export function readSafetensors(file: string, options: ParseOptions = {}): SafetensorsFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new UserError(`cannot read safetensors file: ${reason}`, {file});
  }
  return parseSafetensors(bytes, file, options);
}

export function parseSafetensors(bytes: Uint8Array, file?: string, options: ParseOptions = {}): SafetensorsFile {
  const {entries, metadata, bufferStart} = parseHeaderOf(bytes, bytes.byteLength, file);
  const tensors = new Map<string, NamedTensor>();
  for (const [name, {dtype, shape, offsets}] of entries) {
    if (options.skip?.(name)) continue;
    const codec = CODECS.get(dtype as SafetensorsDtype);
    if (!codec) throw new UserError(`unsupported dtype ${JSON.stringify(dtype)}; supported dtypes: ${SUPPORTED_DTYPES}`, {file, field: name});
    tensors.set(name, {shape, data: codec.decode(bytes.subarray(bufferStart + offsets[0], bufferStart + offsets[1]), elementCount(shape))});
  }
  return {tensors, metadata};
}

type Fail = (message: string, field?: string) => never;

function parseHeader(headerBytes: Uint8Array, fail: Fail): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(headerBytes);
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    return fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    return fail('header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}');
  }
  return header as Record<string, unknown>;
}

function checkMetadata(entry: unknown, fail: Fail): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return fail('must be an object of string values', METADATA_KEY);
  }
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== 'string') fail(`value of "${key}" must be a string, got ${JSON.stringify(value)}`, METADATA_KEY);
  }
  return {...(entry as Record<string, string>)};
}

export function encodeSafetensors(
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  metadata?: Record<string, string>,
  dtype: SafetensorsDtype = 'F32',
): Uint8Array {
  return encodeFor(undefined, tensors, metadata, dtype);
}

function sortedEntries<T>(tensors: Map<string, T> | Record<string, T>): [string, T][] {
  return (tensors instanceof Map ? [...tensors] : Object.entries(tensors)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The file's bytes for tensors given as (name, dtype, shape, byte length), sorted by name: the
 * padded header is written, and `fill` writes each tensor's bytes into its slice of the buffer.
 */
function layOut(
  file: string | undefined,
  entries: {name: string; dtype: string; shape: number[]; byteLength: number}[],
  metadata: Record<string, string> | undefined,
  fill: (index: number, out: Uint8Array) => void,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const {name, dtype, shape, byteLength} of entries) {
    if (name === METADATA_KEY) throw new UserError(`"${METADATA_KEY}" is reserved and cannot name a tensor`, {file});
    header[name] = {dtype, shape, data_offsets: [offset, offset + byteLength]};
    offset += byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.byteLength / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  const bufferStart = HEADER_LENGTH_BYTES + headerLength;
  const out = new Uint8Array(bufferStart + offset);
  dataView(out).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, HEADER_LENGTH_BYTES);
  out.fill(0x20, HEADER_LENGTH_BYTES + json.byteLength, bufferStart);
  let position = bufferStart;
  entries.forEach(({byteLength}, index) => {
    fill(index, out.subarray(position, position + byteLength));
    position += byteLength;
  });
  return out;
}

function encodeFor(
  file: string | undefined,
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  metadata: Record<string, string> | undefined,
  dtype: SafetensorsDtype,
): Uint8Array {
  const codec = CODECS.get(dtype);
  if (!codec) throw new UserError(`unsupported dtype ${JSON.stringify(dtype)}; supported dtypes: ${SUPPORTED_DTYPES}`, {file});
  const entries = sortedEntries(tensors);
  for (const [name, {shape, data}] of entries) {
    if (!shape.every(isNonNegativeInteger) || elementCount(shape) !== data.length) {
      throw new UserError(`shape ${formatShape(shape)} does not match ${data.length} values`, {file, field: name});
    }
  }
  const layout = entries.map(([name, {shape, data}]) => ({name, dtype, shape, byteLength: data.length * codec.bytesPerElement}));
  return layOut(file, layout, metadata, (index, out) => codec.encode(entries[index][1].data, out));
}

/**
 * Every dtype safetensors defines that ptv2 reads or writes as raw bytes (checkpoint conversion
 * keeps dtypes as they are; integer buffers such as `position_ids` are I64).
 */
export const RAW_DTYPE_BYTES = {F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1} as const;
export type RawDtype = keyof typeof RAW_DTYPE_BYTES;

/** A tensor as little-endian bytes of its dtype, row-major. */
export interface RawTensor {
  dtype: RawDtype;
  shape: number[];
  bytes: Uint8Array;
}

export function encodeRawSafetensors(tensors: Map<string, RawTensor>, metadata?: Record<string, string>, file?: string): Uint8Array {
  const entries = sortedEntries(tensors);
  for (const [name, {dtype, shape, bytes}] of entries) {
    const width = RAW_DTYPE_BYTES[dtype];
    if (width === undefined) throw new UserError(`unsupported dtype ${JSON.stringify(dtype)}`, {file, field: name});
    if (!shape.every(isNonNegativeInteger) || elementCount(shape) * width !== bytes.byteLength) {
      throw new UserError(`shape ${formatShape(shape)} of ${dtype} does not match ${bytes.byteLength} bytes`, {file, field: name});
    }
  }
  const layout = entries.map(([name, {dtype, shape, bytes}]) => ({name, dtype, shape, byteLength: bytes.byteLength}));
  return layOut(file, layout, metadata, (index, out) => out.set(entries[index][1].bytes));
}

/** Every tensor with its dtype and bytes as stored (a view of `bytes`), offsets checked. */
export function parseRawSafetensors(bytes: Uint8Array, file?: string): {tensors: Map<string, RawTensor>; metadata: Record<string, string>} {
  const {entries, metadata, bufferStart} = parseHeaderOf(bytes, bytes.byteLength, file);
  const tensors = new Map<string, RawTensor>();
  for (const [name, entry] of entries) {
    if (RAW_DTYPE_BYTES[entry.dtype as RawDtype] === undefined) throw new UserError(`unsupported dtype ${JSON.stringify(entry.dtype)}; supported: ${Object.keys(RAW_DTYPE_BYTES).join(', ')}`, {file, field: name});
    tensors.set(name, {dtype: entry.dtype as RawDtype, shape: entry.shape, bytes: bytes.subarray(bufferStart + entry.offsets[0], bufferStart + entry.offsets[1])});
  }
  return {tensors, metadata};
}

export interface SafetensorsHeaderEntry {
  dtype: string;
  shape: number[];
  offsets: [number, number];
}

/** Names, dtypes and shapes from the header alone (the tensor bytes are not read). */
export function readSafetensorsHeader(file: string): {entries: Map<string, SafetensorsHeaderEntry>; metadata: Record<string, string>; fileSize: number} {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new UserError(`cannot read safetensors file: ${reason}`, {file});
  }
  try {
    const fileSize = fs.fstatSync(fd).size;
    const lengthBytes = new Uint8Array(HEADER_LENGTH_BYTES);
    fs.readSync(fd, lengthBytes, 0, HEADER_LENGTH_BYTES, 0);
    const headerLength = Math.min(Number(dataView(lengthBytes).getBigUint64(0, true)), Math.max(0, fileSize - HEADER_LENGTH_BYTES));
    const head = new Uint8Array(HEADER_LENGTH_BYTES + headerLength);
    fs.readSync(fd, head, 0, head.byteLength, 0);
    const {entries, metadata} = parseHeaderOf(head, fileSize, file);
    return {entries, metadata, fileSize};
  } finally {
    fs.closeSync(fd);
  }
}

/** The header of a file of `fileSize` bytes whose start is `bytes`; every entry's offsets checked. */
function parseHeaderOf(bytes: Uint8Array, fileSize: number, file?: string): {entries: Map<string, SafetensorsHeaderEntry>; metadata: Record<string, string>; bufferStart: number} {
  const fail = (message: string, field?: string): never => {
    throw new UserError(message, {file, field});
  };
  if (fileSize < HEADER_LENGTH_BYTES || bytes.byteLength < HEADER_LENGTH_BYTES) {
    fail(`file is ${fileSize} bytes, shorter than the 8-byte header length; it is truncated or not safetensors`);
  }
  const headerLength = dataView(bytes).getBigUint64(0, true);
  if (headerLength > BigInt(fileSize - HEADER_LENGTH_BYTES) || headerLength > BigInt(bytes.byteLength - HEADER_LENGTH_BYTES)) {
    fail(`header length ${headerLength} runs past the end of the file (${fileSize} bytes); it is truncated or not safetensors`);
  }
  const bufferStart = HEADER_LENGTH_BYTES + Number(headerLength);
  const header = parseHeader(bytes.subarray(HEADER_LENGTH_BYTES, bufferStart), fail);
  const bufferBytes = fileSize - bufferStart;
  const entries = new Map<string, SafetensorsHeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = checkMetadata(entry, fail);
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('header entry must be an object {dtype, shape, data_offsets}', name);
    const {dtype, shape, data_offsets: offsets} = entry as Record<string, unknown>;
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) fail(`shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, name);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
      fail(`data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`data_offsets begin ${begin} is after end ${end}`, name);
    if (end > bufferBytes) {
      fail(`data_offsets end ${end} is past the end of the file (data buffer holds ${bufferBytes} bytes); the file is truncated or the header is wrong`, name);
    }
    if (typeof dtype !== 'string') fail(`dtype must be a string, got ${JSON.stringify(dtype)}`, name);
    // A dtype ptv2 does not know is left for the caller to refuse (or skip); known ones must fit their bytes.
    const width = RAW_DTYPE_BYTES[dtype as RawDtype];
    const count = elementCount(shape as number[]);
    if (width !== undefined && end - begin !== count * width) {
      fail(`data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${formatShape(shape as number[])} of ${dtype} needs ${count * width}`, name);
    }
    entries.set(name, {dtype: dtype as string, shape: [...(shape as number[])], offsets: [begin, end]});
  }
  return {entries, metadata, bufferStart};
}

/** Writes raw tensors as writeSafetensors writes float ones (temporary file, then rename). */
export function writeRawSafetensors(file: string, tensors: Map<string, RawTensor>, metadata?: Record<string, string>): void {
  writeAtomically(file, encodeRawSafetensors(tensors, metadata, file));
}

/** Writes via a temporary file and rename, so a crash never leaves half a checkpoint behind. */
export function writeSafetensors(
  file: string,
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  metadata?: Record<string, string>,
  dtype: SafetensorsDtype = 'F32',
): void {
  writeAtomically(file, encodeFor(file, tensors, metadata, dtype));
}

function writeAtomically(file: string, bytes: Uint8Array): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, bytes);
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, {force: true});
    throw error;
  }
}
