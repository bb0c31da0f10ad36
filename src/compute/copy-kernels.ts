/**
 * Faster versions of stock data-movement kernels: on WASM four of them, swapped in by
 * `fastKernels()` (kernels.ts) the first time ptv2's kernels run there; on `blas` (JS arrays,
 * tfjs's CPU kernels) Transpose and Tile, registered with the backend. Same semantics as stock.
 *
 * Measured on the WASM backend (tfjs 4.22, config b of bench/README.md):
 * - Identity (how tfjs saves tensors for backprop) copies the data; tensors are immutable, so
 *   sharing the buffer, as the CPU backend and WASM Reshape do, is enough.
 * - Slice first copies the whole input out of the heap (`readSync`) and then slices the copy:
 *   splitting a tensor into N parts costs N full copies.
 * - Transpose of rank 5 and Tile go through per-element index arithmetic, ~150 ns per element
 *   (a deep prompt's [B, P, 2L, H, d] → [2L, B, H, P, d] rearrangement took ~80 ms per step).
 * Here each copies contiguous runs of the innermost dimension between heap views.
 * On `blas` the stock CPU Transpose and Tile also index per element (measured, config b pt2: 0.5 s
 * of a 2.8 s profile), and so do a strided Slice and PadV2: the pooler's first token of each
 * example, [B, S, h] → [B, 1, h], took 2–4 ms and its gradient (a pad) 5 ms of a ~300 ms step.
 * Slice here copies even where stock CPU would return a view of its input: a view shares the
 * input's array, which the output pool (buffer-pool.ts) then can never reuse. CPU Identity
 * already shares its input.
 */
import * as tf from '@tensorflow/tfjs';
import {outputArray} from './buffer-pool.js';

type TensorInfo = tf.TensorInfo;
type TypedArray = Float32Array | Int32Array | Uint8Array;

/** What the kernels need of a backend: a new output and the typed array behind a tensor. */
export interface ArrayAccess {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): TypedArray;
  incRef(id: tf.DataId): void;
}


interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}

/** The backend argument of a kernel as ArrayAccess (WASM is one; `blas` gets an adapter). */
let access: (backend: object) => ArrayAccess = (backend) => backend as ArrayAccess;

function stridesOf(shape: number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/**
 * Calls `run(outRow, inOffset)` for every row (all indices but the last) of an output of shape
 * `outShape`, where the input offset of the row start is Σ index[i]·inStrides[i] + base.
 */
function forEachRow(outShape: number[], inStrides: number[], base: number, run: (outRow: number, inOffset: number) => void): void {
  const rank = outShape.length;
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  const rows = outShape.slice(0, -1).reduce((p, d) => p * d, 1);
  let offset = base;
  for (let row = 0; row < rows; row++) {
    run(row, offset);
    for (let axis = rank - 2; axis >= 0; axis--) {
      index[axis]++;
      offset += inStrides[axis];
      if (index[axis] < outShape[axis]) break;
      offset -= index[axis] * inStrides[axis];
      index[axis] = 0;
    }
  }
}

function sharingIdentity({inputs, backend}: KernelArgs): TensorInfo {
  const x = inputs.x!;
  access(backend).incRef(x.dataId);
  return {dataId: x.dataId, shape: x.shape, dtype: x.dtype};
}

function slice({inputs, backend, attrs}: KernelArgs): TensorInfo {
  const x = inputs.x!;
  const mem = access(backend);
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs!.begin as number[], attrs!.size as number[]);
  const out = mem.makeOutput(size, x.dtype);
  if (size.some((d) => d === 0)) return out;
  const input = mem.typedArrayFromHeap(x);
  const output = mem.typedArrayFromHeap(out);
  const strides = stridesOf(x.shape);
  const width = size[size.length - 1];
  const base = begin.reduce((sum, b, i) => sum + b * strides[i], 0);
  forEachRow(size, strides, base, (row, from) => output.set(input.subarray(from, from + width), row * width));
  return out;
}

/** x with `paddings` [before, after] per axis filled with constantValue: a fill, then x's rows copied in. */
function pad({inputs, backend, attrs}: KernelArgs): TensorInfo {
  const x = inputs.x!;
  const mem = access(backend);
  const paddings = attrs!.paddings as [number, number][];
  const shape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const out = mem.makeOutput(shape, x.dtype);
  const output = mem.typedArrayFromHeap(out);
  output.fill(attrs!.constantValue as number);
  if (x.shape.some((d) => d === 0)) return out;
  const input = mem.typedArrayFromHeap(x);
  const outStrides = stridesOf(shape);
  const width = x.shape[x.shape.length - 1];
  const base = paddings.reduce((sum, [before], i) => sum + before * outStrides[i], 0);
  // Rows of x, each to where its index (shifted by the padding before) lands in the output.
  forEachRow(x.shape, outStrides, base, (row, to) => output.set(input.subarray(row * width, (row + 1) * width), to));
  return out;
}

function transpose({inputs, backend, attrs}: KernelArgs): TensorInfo {
  const x = inputs.x!;
  const mem = access(backend);
  const perm = attrs!.perm as number[];
  const shape = perm.map((p) => x.shape[p]);
  const out = mem.makeOutput(shape, x.dtype);
  if (shape.some((d) => d === 0)) return out;
  const input = mem.typedArrayFromHeap(x);
  const output = mem.typedArrayFromHeap(out);
  const inStrides = stridesOf(x.shape);
  const permuted = perm.map((p) => inStrides[p]);
  const width = shape[shape.length - 1];
  const step = permuted[permuted.length - 1];
  forEachRow(shape, permuted, 0, (row, from) => {
    const to = row * width;
    if (step === 1) output.set(input.subarray(from, from + width), to);
    else for (let j = 0; j < width; j++) output[to + j] = input[from + j * step];
  });
  return out;
}

function tile({inputs, backend, attrs}: KernelArgs): TensorInfo {
  const x = inputs.x!;
  const mem = access(backend);
  const reps = attrs!.reps as number[];
  const shape = x.shape.map((d, i) => d * reps[i]);
  const out = mem.makeOutput(shape, x.dtype);
  if (shape.some((d) => d === 0)) return out;
  const input = mem.typedArrayFromHeap(x);
  const output = mem.typedArrayFromHeap(out);
  const inStrides = stridesOf(x.shape);
  const rank = shape.length;
  const inner = x.shape[rank - 1];
  const width = shape[rank - 1];
  // Walk output rows; the input row index of each output axis wraps at the input's extent.
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  const rows = shape.slice(0, -1).reduce((p, d) => p * d, 1);
  for (let row = 0; row < rows; row++) {
    let from = 0;
    for (let axis = 0; axis < rank - 1; axis++) from += (index[axis] % x.shape[axis]) * inStrides[axis];
    const source = input.subarray(from, from + inner);
    for (let j = 0; j < width; j += inner) output.set(source, row * width + j);
    for (let axis = rank - 2; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

const OVERRIDES = new Map<string, (args: KernelArgs) => TensorInfo>([
  ['Identity', sharingIdentity],
  ['Slice', slice],
  ['Transpose', transpose],
  ['Tile', tile],
  ['PadV2', pad],
]);

let installed = false;

/** Replaces the stock WASM kernels above (once); strings and scalars still go to the stock ones. */
export function installWasmCopyKernels(): void {
  if (installed) return;
  installed = true;
  replaceKernels('wasm', ['Identity', 'Slice', 'Transpose', 'Tile']);
}

const adapters = new WeakMap<object, ArrayAccess>();

/**
 * Replaces Slice, Transpose, Tile and PadV2 of a backend whose tensors are JS typed arrays
 * (tfjs's CPU backend class: `data.get(id).values`, `makeTensorInfo`), e.g. `blas`.
 */
export function installArrayCopyKernels(backendName: string): void {
  const wasmAccess = access;
  access = (backend) => {
    const cpu = backend as {data?: {get(id: tf.DataId): {values: TypedArray}}; makeTensorInfo?: (shape: number[], dtype: string, values: TypedArray) => TensorInfo; incRef(id: tf.DataId): void};
    if (!cpu.data || !cpu.makeTensorInfo) return wasmAccess(backend);
    let adapter = adapters.get(backend);
    if (!adapter) {
      adapter = {
        makeOutput: (shape, dtype) => {
          const n = shape.reduce((p, d) => p * d, 1);
          return cpu.makeTensorInfo!(shape, dtype, dtype === 'int32' ? new Int32Array(n) : dtype === 'bool' ? new Uint8Array(n) : outputArray(backend, n));
        },
        typedArrayFromHeap: (t) => cpu.data!.get(t.dataId).values,
        incRef: (id) => cpu.incRef(id),
      };
      adapters.set(backend, adapter);
    }
    return adapter;
  };
  replaceKernels(backendName, ['Slice', 'Transpose', 'Tile', 'PadV2']);
}

function replaceKernels(backendName: string, names: string[]): void {
  for (const name of names) {
    const kernel = OVERRIDES.get(name)!;
    const stock = tf.getKernel(name, backendName);
    if (!stock) continue;
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({
      ...stock,
      kernelFunc: ((args: KernelArgs) =>
        args.inputs.x?.dtype === 'string' || args.inputs.x?.dtype === 'complex64' || args.inputs.x?.shape.length === 0
          ? stock.kernelFunc(args as Parameters<tf.KernelFunc>[0])
          : kernel(args)) as tf.KernelFunc,
    });
  }
}
