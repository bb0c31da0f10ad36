/**
 * A second thread for the frozen encoder's large matmuls on the WASM backend.
 *
 * tfjs-backend-wasm runs single-threaded in Node (its threaded build needs `blob:` workers), and
 * the frozen linears are most of a P-tuning v2 step. So the main thread starts one helper worker
 * with its own tfjs WASM instance and, for each large y = x·W (+ b), computes the first half of
 * the rows itself (XNNPACK, W's cached operator) while the helper computes the second half: its
 * rows of x go through a SharedArrayBuffer, the helper multiplies them by its own copy of W (sent
 * once per weight), and its rows of y come back the same way. Measured on 2 cores: 1.15–1.7× per
 * matmul including the copies (bench/README.md).
 *
 * Costs: the helper holds a second copy of every frozen weight it has seen (memory), and a job
 * is synchronous: the main thread blocks in Atomics.wait until the helper is done. PTV2_THREADS=1
 * turns the helper off; it also stays off on a single-core machine. To bound the memory, only
 * the first PTV2_HELPER_MB megabytes (default 128) of weights are shared; matmuls with any other
 * weight run on the main thread alone. That covers every layer of small and mid-size encoders
 * while a BERT-base-shaped one stays under 2× PyTorch's peak RSS (without a budget the helper's
 * copies took BERT-base pt2 from 3.1 GB to 4.5 GB RSS).
 */
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type {MessagePort} from 'node:worker_threads';
import {awaitJob, FIRST_FREE_WORD, postJob, serveJobs, startWorker, workerReady} from './worker-jobs.js';
import type * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;

/** Control words after worker-jobs.ts's own. */
const M = FIRST_FREE_WORD;
const K = FIRST_FREE_WORD + 1;
const WEIGHT = FIRST_FREE_WORD + 2;
const BIAS = FIRST_FREE_WORD + 3;
const FAILED = FIRST_FREE_WORD + 4;
const CONTROL_WORDS = 16;

/** Below this many multiply-adds a job's fixed costs (wake-up, copies) outweigh the second core. */
const MIN_WORK = 1 << 22;
/** Bytes of weights the helper may copy (see header). */
const HELPER_BUDGET_BYTES = Number(process.env.PTV2_HELPER_MB ?? 128) * 1024 * 1024;

interface WasmBackend {
  wasm: {
    HEAP32: Int32Array;
    _malloc(bytes: number): number;
    _register_tensor(id: number, size: number, offset: number): void;
    _dispose_data(id: number): void;
    __FusedMatMul(...args: number[]): void;
  };
  dataIdNextNumber: number;
  dataIdMap: {get(id: tf.DataId): {id: number; memoryOffset: number}};
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

interface HelperData {
  wasmDir: string;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  port: MessagePort;
}

type HelperMessage =
  | {type: 'tensor'; id: number; shape: number[]; values: Float32Array}
  | {type: 'free'; id: number}
  | {type: 'buffer'; data: SharedArrayBuffer};

export class MatMulHelper {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private data = new Float32Array(new SharedArrayBuffer(4 << 20));
  private readonly port: MessagePort;
  private readonly ids = new WeakMap<tf.DataId, number>();
  private readonly released = new FinalizationRegistry<number>((id) => this.port.postMessage({type: 'free', id} satisfies HelperMessage));
  private nextId = 1;
  private sharedBytes = 0;
  private seq = 0;
  /** Six int32s on the main heap: the [1, m, k] and [1, k, n] shapes for _FusedMatMul. */
  private readonly shapes: number;

  constructor(private readonly backend: WasmBackend) {
    this.shapes = backend.wasm._malloc(24);
    const require = createRequire(import.meta.url);
    const workerData: Omit<HelperData, 'port'> = {
      wasmDir: path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep,
      control: this.control.buffer as SharedArrayBuffer,
      data: this.data.buffer as SharedArrayBuffer,
    };
    this.port = startWorker(import.meta.url, 'serveMatMuls', workerData);
  }

  get ready(): boolean {
    return workerReady(this.control);
  }

  /** Worth a job: large enough, and the helper is up. */
  accepts(m: number, k: number, n: number): boolean {
    return m >= 8 && m * k * n >= MIN_WORK && this.ready;
  }

  /** out [m, n] ← a [m, k]·w [k, n] (+ bias [n]); w and bias are long-lived (frozen) tensors. */
  matMul(a: TensorInfo, w: TensorInfo, bias: TensorInfo | undefined, out: TensorInfo, m: number, k: number, n: number): void {
    const theirs = m >> 1;
    const mine = m - theirs;
    if (!this.fitsBudget(bias ? [w, bias] : [w])) {
      this.xnn(a, w, bias, out, m, k, n);
      return;
    }
    const weight = this.shareTensor(w);
    const biasId = bias ? this.shareTensor(bias) : 0;
    const words = theirs * (k + n);
    if (this.data.length < words) {
      this.data = new Float32Array(new SharedArrayBuffer(4 * words));
      this.port.postMessage({type: 'buffer', data: this.data.buffer as SharedArrayBuffer} satisfies HelperMessage);
    }
    this.data.set(this.backend.typedArrayFromHeap(a).subarray(mine * k, m * k));
    const c = this.control;
    c[M] = theirs;
    c[K] = k;
    c[WEIGHT] = weight;
    c[BIAS] = biasId;
    const seq = ++this.seq;
    postJob(c, seq);

    this.xnn(a, w, bias, out, mine, k, n);

    awaitJob(c, seq, 'matmul helper thread');
    if (c[FAILED]) throw new Error('the matmul helper thread failed on a job');
    this.backend.typedArrayFromHeap(out).set(this.data.subarray(theirs * k, theirs * (k + n)), mine * n);
  }

  /** The first `rows` rows of out ← a·w (+ bias), on XNNPACK with w's (and bias's) cached operator. */
  private xnn(a: TensorInfo, w: TensorInfo, bias: TensorInfo | undefined, out: TensorInfo, rows: number, k: number, n: number): void {
    const {wasm, dataIdMap} = this.backend;
    wasm.HEAP32.set([1, rows, k, 1, k, n], this.shapes >> 2);
    const aId = this.backend.dataIdNextNumber++;
    const outId = this.backend.dataIdNextNumber++;
    wasm._register_tensor(aId, rows * k, dataIdMap.get(a.dataId).memoryOffset);
    wasm._register_tensor(outId, rows * n, dataIdMap.get(out.dataId).memoryOffset);
    const biasId = bias ? dataIdMap.get(bias.dataId).id : 0;
    wasm.__FusedMatMul(aId, this.shapes, 3, dataIdMap.get(w.dataId).id, this.shapes + 12, 3, 0, 0, 0, biasId, 0, 0, outId);
    wasm._dispose_data(aId);
    wasm._dispose_data(outId);
  }

  /** Whether the helper has (or may still take, within its budget) copies of all these tensors. */
  private fitsBudget(tensors: TensorInfo[]): boolean {
    const fresh = tensors.filter((t) => !this.ids.has(t.dataId));
    const bytes = fresh.reduce((sum, t) => sum + 4 * t.shape.reduce((a, b) => a * b, 1), 0);
    return this.sharedBytes + bytes <= HELPER_BUDGET_BYTES;
  }

  /** The helper's id for a long-lived tensor, sending it a copy the first time. */
  private shareTensor(t: TensorInfo): number {
    let id = this.ids.get(t.dataId);
    if (id === undefined) {
      this.sharedBytes += 4 * t.shape.reduce((a, b) => a * b, 1);
      id = this.nextId++;
      this.ids.set(t.dataId, id);
      this.released.register(t.dataId, id);
      const values = this.backend.typedArrayFromHeap(t).slice();
      this.port.postMessage({type: 'tensor', id, shape: t.shape, values} satisfies HelperMessage, [values.buffer]);
    }
    return id;
  }
}

/** The helper's loop (worker thread): wait for a job, multiply, hand the rows back. */
export async function serveMatMuls(workerData: HelperData): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(workerData.wasmDir);
  await tf.setBackend('wasm');
  const backend = tf.backend() as unknown as WasmBackend;
  const control = new Int32Array(workerData.control);
  let data = new Float32Array(workerData.data);
  const tensors = new Map<number, tf.Tensor>();
  const onMessage = (message: unknown) => {
    const m = message as HelperMessage;
    if (m.type === 'tensor') tensors.set(m.id, tf.keep(tf.tensor(m.values, m.shape)));
    else if (m.type === 'free') {
      tensors.get(m.id)?.dispose();
      tensors.delete(m.id);
    } else data = new Float32Array(m.data);
  };
  serveJobs(control, workerData.port, onMessage, () => {
    const [rows, k] = [control[M], control[K]];
    try {
      tf.tidy(() => {
        const a = tf.tensor2d(data.subarray(0, rows * k), [rows, k]);
        const bias = control[BIAS] ? (tensors.get(control[BIAS]) as tf.Tensor1D) : undefined;
        const y = tf.fused.matMul({a, b: tensors.get(control[WEIGHT]) as tf.Tensor2D, bias});
        data.set(backend.typedArrayFromHeap(y), rows * k);
      });
      control[FAILED] = 0;
    } catch {
      control[FAILED] = 1;
    }
  });
}

let helper: MatMulHelper | null | undefined;

/** The helper for the WASM backend `backend` (started on first call), or null when off. */
export function matMulHelper(backend: object): MatMulHelper | null {
  if (helper === undefined) {
    const threads = Number(process.env.PTV2_THREADS ?? os.availableParallelism());
    helper = threads >= 2 ? new MatMulHelper(backend as WasmBackend) : null;
  }
  return helper;
}
