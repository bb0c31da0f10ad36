/**
 * A second thread for the `blas` backend's row loops (GELU, dropout, softmax, LayerNorm and their
 * gradients) and attention's per-head products, which otherwise run on the main thread alone
 * while the second core idles: the large matrix products use both cores (OpenBLAS's threads),
 * but the loops between them use one, and so do attention's small per-head GEMMs (one OpenBLAS
 * thread each is faster than two at 128×144×64).
 *
 * How: the backend's output arrays live in SharedArrayBuffers (buffer-pool.ts), so a worker
 * thread can read and write them in place. Most calls are shared (`share`, `shareWork`): cut
 * into chunks of rows, elements or (example, head) pairs that both threads claim from a shared
 * counter, the helper running the same function (its own StagedSimd, and cblas_sgemm bound once
 * more, on one OpenBLAS thread) on its chunks; the main thread waits (Atomics.wait) only for
 * chunks the helper has claimed. A few (LayerNorm's gradient, softmax, the squared sum, whose
 * partial sums must not depend on who took what) are split in two fixed halves (`splitWork`).
 * No message is posted per call: the arguments go through a shared Float64Array, and an array
 * is named by the id of its buffer, sent to the helper once (MessagePort) and forgotten there
 * when the buffer is collected here (FinalizationRegistry).
 *
 * Off with PTV2_THREADS=1, on one core, or while the helper is still starting; calls whose
 * arrays are not all shared, or that are too small to pay for the wake-up, run on the main
 * thread as before. OpenBLAS's own threads sleep between products (OPENBLAS_THREAD_TIMEOUT,
 * blas.ts), so the helper never competes with them.
 */
import type {MessagePort} from 'node:worker_threads';
import {backwardPairs, forwardPairs, shapeFromArgs, type ArrayGemm} from './attention-pairs.js';
import {findDnnl} from './dnnl.js';
import {bindSgemm, findBlas, threadBudget} from './blas.js';
import {flatOps, StagedSimd, type VectorOps} from './staged-simd.js';
import {RANGE_CALLS, type RangeCall} from './vector-ranges.js';
import * as ops from './vector-ops.js';
import {awaitCount, awaitJob, FIRST_FREE_WORD, postJob, serveJobs, startWorker, workerReady} from './worker-jobs.js';

/** Control words after worker-jobs.ts's own. */
const FAILED = FIRST_FREE_WORD;
const KIND = FIRST_FREE_WORD + 1;
/** A shared call (`share`): its range [FROM, TO) in chunks of STEP (0: not shared), the next chunk to claim, the chunks the helper finished. */
const RANGE_FROM = FIRST_FREE_WORD + 2;
const RANGE_TO = FIRST_FREE_WORD + 3;
const RANGE_STEP = FIRST_FREE_WORD + 4;
const CLAIM = FIRST_FREE_WORD + 5;
const HELPER_DONE = FIRST_FREE_WORD + 6;
const CONTROL_WORDS = FIRST_FREE_WORD + 7;
/** Added to HELPER_DONE by a failing helper, so that the main thread stops waiting. */
const FAILED_CHUNKS = 1 << 28;
/** Argument slots (Float64Array): per argument a tag and up to three numbers. */
const MAX_ARGS = 24;
const SLOT = 4;
const TAG_NUMBER = 0;
const TAG_ARRAY = 1;
const TAG_TRUE = 2;
const TAG_FALSE = 3;
const TAG_NONE = 4;

export type VectorMethod = keyof VectorOps;
/**
 * What the helper runs: a VectorOps method; attention's pair loops (attention-pairs.ts) with
 * arguments (shape as 8 numbers, rate, seed, arrays in the order of the interface, from, to);
 * or vector-ops.ts's AdamW update and squared sum (optimizer-kernel.ts) and equal-shape
 * element-wise ops (array-kernels.ts).
 */
export type HelperCall = VectorMethod | RangeCall | 'attentionForward' | 'attentionBackward' | 'adamWRange' | 'squaredSum' | 'binaryEqual';
const CALLS: HelperCall[] = [
  'gelu', 'geluSlope', 'dropoutRows', 'softmaxRows', 'softmaxGradRows', 'layerNormRows', 'layerNormGradRows', 'residualLayerNormRows',
  'attentionForward', 'attentionBackward', 'adamWRange', 'squaredSum', 'binaryEqual',
  ...(Object.keys(RANGE_CALLS) as RangeCall[]),
];
const VECTOR_METHODS = CALLS.slice(0, 8) as VectorMethod[];

export type Arg = Float32Array | number | boolean | undefined;

interface HelperData {
  /** The BLAS library the main thread loaded, for attention's products. */
  blasPath?: string;
  /** Whether the main thread uses oneDNN (dnnl.ts): then the helper binds it too, for attention's softmax. */
  dnnl: boolean;
  control: SharedArrayBuffer;
  args: SharedArrayBuffer;
  port: MessagePort;
}

type HelperMessage = {type: 'buffer'; id: number; buffer: SharedArrayBuffer} | {type: 'free'; id: number};

export function isShared(a: Float32Array): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

export class HelperThread {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private readonly args = new Float64Array(new SharedArrayBuffer(MAX_ARGS * SLOT * 8));
  private readonly port: MessagePort;
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private readonly released = new FinalizationRegistry<number>((id) => this.port.postMessage({type: 'free', id} satisfies HelperMessage));
  private nextId = 1;
  private seq = 0;
  private pending = false;
  /** A shared call returned before the helper said it was done with it: wait before the next. */
  private unacknowledged = false;

  constructor() {
    const workerData: Omit<HelperData, 'port'> = {
      blasPath: findBlas().blas?.path,
      dnnl: findDnnl() !== null,
      control: this.control.buffer as SharedArrayBuffer,
      args: this.args.buffer as SharedArrayBuffer,
    };
    this.port = startWorker(import.meta.url, 'serveCalls', workerData);
  }

  get ready(): boolean {
    return workerReady(this.control) && !this.pending;
  }

  /**
   * Starts `method(...args)` on the helper (with `range`: its chunks, see `share`); `wait` must
   * follow before the results are used.
   */
  start(method: HelperCall, args: Arg[], range?: {from: number; to: number; step: number}): void {
    if (this.unacknowledged) this.wait();
    if (args.length + (range ? 2 : 0) > MAX_ARGS) throw new Error(`helper call ${method}: ${args.length} arguments, at most ${MAX_ARGS}`);
    const a = this.args;
    args.forEach((arg, i) => {
      const at = i * SLOT;
      if (typeof arg === 'number') [a[at], a[at + 1]] = [TAG_NUMBER, arg];
      else if (typeof arg === 'boolean') a[at] = arg ? TAG_TRUE : TAG_FALSE;
      else if (arg === undefined) a[at] = TAG_NONE;
      else [a[at], a[at + 1], a[at + 2], a[at + 3]] = [TAG_ARRAY, this.idOf(arg.buffer as SharedArrayBuffer), arg.byteOffset, arg.length];
    });
    const c = this.control;
    c[KIND] = CALLS.indexOf(method) | (args.length << 8);
    [c[RANGE_FROM], c[RANGE_TO], c[RANGE_STEP], c[CLAIM], c[HELPER_DONE]] = range ? [range.from, range.to, range.step, 0, 0] : [0, 0, 0, 0, 0];
    c[FAILED] = 0;
    this.pending = true;
    postJob(c, ++this.seq);
  }

  /**
   * Runs `method(...args, lo, hi)` over [from, to) in chunks of `step`, which this thread (`mine`)
   * and the helper claim one at a time from a shared counter, and returns when every chunk is
   * done. A helper that wakes late, or whose core the machine gives to something else, takes
   * fewer chunks instead of holding this thread up: with two fixed halves the main thread waited
   * 6–17 ms of a ~140 ms eval pass (config b) for the helper. The helper's final "done" is waited
   * for before the next call, not here: by then it has long woken and found nothing left.
   */
  share(method: HelperCall, args: Arg[], from: number, to: number, step: number, mine: (lo: number, hi: number) => void): void {
    const c = this.control;
    const chunks = Math.ceil((to - from) / step);
    this.start(method, args, {from, to, step});
    let done = 0;
    try {
      for (let i = Atomics.add(c, CLAIM, 1); i < chunks; i = Atomics.add(c, CLAIM, 1)) {
        const lo = from + i * step;
        mine(lo, Math.min(to, lo + step));
        done++;
      }
    } catch (error) {
      Atomics.store(c, CLAIM, chunks);
      this.wait();
      throw error;
    }
    awaitCount(c, HELPER_DONE, chunks - done, 'blas helper thread');
    this.pending = false;
    this.unacknowledged = true;
    if (c[FAILED]) {
      this.wait();
      throw new Error('the blas helper thread failed on a call');
    }
  }

  /** Runs `method(...args)` on the helper while `mine` runs here; returns when both are done. */
  alongside(method: HelperCall, args: Arg[], mine: () => void): void {
    this.start(method, args);
    try {
      mine();
    } finally {
      this.wait();
    }
  }

  /** Blocks until the started call is done. */
  wait(): void {
    this.pending = false;
    this.unacknowledged = false;
    awaitJob(this.control, this.seq, 'blas helper thread');
    if (this.control[FAILED]) throw new Error('the blas helper thread failed on a call');
  }

  /**
   * The helper drops its reference to `buffer` (posted now, read before its next call). Its
   * references keep memory alive: without this, a freed array stayed mapped until the garbage
   * collector ran the finalizer here (BERT-base ft: peak RSS 7.0 GB instead of 3.9).
   */
  forget(buffer: ArrayBufferLike): void {
    const id = this.ids.get(buffer as SharedArrayBuffer);
    if (id === undefined) return;
    this.ids.delete(buffer as SharedArrayBuffer);
    this.released.unregister(buffer);
    this.port.postMessage({type: 'free', id} satisfies HelperMessage);
  }

  private idOf(buffer: SharedArrayBuffer): number {
    let id = this.ids.get(buffer);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(buffer, id);
      this.released.register(buffer, id, buffer);
      this.port.postMessage({type: 'buffer', id, buffer} satisfies HelperMessage);
    }
    return id;
  }
}

/**
 * The helper's functions by call, on its own StagedSimd, (bound on first use) cblas_sgemm, and its
 * own oneDNN binding (primitives run on the thread that built them) when the main thread has one.
 */
function helperFunctions(blasPath: string | undefined, useDnnl: boolean): Record<HelperCall, (...args: Arg[]) => void> {
  const staged = StagedSimd.create() ?? null;
  const vec: VectorOps = staged ?? ops;
  const dnnl = (useDnnl && findDnnl()) || undefined;
  let gemm: ArrayGemm | undefined;
  const arrayGemm = (): ArrayGemm => {
    if (gemm) return gemm;
    if (!blasPath) throw new Error('no BLAS library for the helper thread');
    const sgemm = bindSgemm(blasPath);
    gemm = (tA, tB, m, n, k, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc) =>
      sgemm(tA, tB, m, n, k, alpha, A.subarray(aOff), lda, B.subarray(bOff), ldb, beta, C.subarray(cOff), ldc);
    return gemm;
  };
  const bound = Object.fromEntries(VECTOR_METHODS.map((m) => [m, (vec[m] as (...args: Arg[]) => void).bind(vec)]));
  type A = Float32Array;
  return {
    ...(bound as Record<VectorMethod, (...args: Arg[]) => void>),
    attentionForward: (...args: Arg[]) => {
      const n = args as number[];
      const [qkv, prefixKey, prefixValue, mask, probs, context, dropped] = args.slice(10, 17) as A[];
      forwardPairs(arrayGemm(), vec, shapeFromArgs(n.slice(0, 8)), n[8], n[9], {qkv, prefixKey, prefixValue, mask, probs, context, dropped}, n[17], n[18], dnnl);
    },
    ...(flatOps(staged) as unknown as Record<'adamWRange' | 'binaryEqual', (...args: Arg[]) => void>),
    squaredSum: ops.squaredSum as (...args: Arg[]) => void,
    ...(Object.fromEntries(Object.entries(RANGE_CALLS).map(([name, f]) => [name, (...args: Arg[]) => (f as (vec: VectorOps, ...rest: Arg[]) => void)(vec, ...args)])) as Record<RangeCall, (...args: Arg[]) => void>),
    attentionBackward: (...args: Arg[]) => {
      const n = args as number[];
      const [qkv, prefixKey, prefixValue, dContext, probs, dqkv, dPrefixKey, dPrefixValue, dP, dropped] = args.slice(10, 20) as A[];
      backwardPairs(arrayGemm(), vec, shapeFromArgs(n.slice(0, 8)), n[8], n[9], {qkv, prefixKey, prefixValue, dContext, probs, dqkv, dPrefixKey, dPrefixValue, dP, dropped}, n[20], n[21]);
    },
  };
}

/** The helper's loop (worker thread): wait for a call, run it, say so. */
export function serveCalls(workerData: HelperData): void {
  const functions = helperFunctions(workerData.blasPath, workerData.dnnl);
  const control = new Int32Array(workerData.control);
  const a = new Float64Array(workerData.args);
  const buffers = new Map<number, SharedArrayBuffer>();
  const onMessage = (message: unknown) => {
    const m = message as HelperMessage;
    if (m.type === 'buffer') buffers.set(m.id, m.buffer);
    else buffers.delete(m.id);
  };
  serveJobs(control, workerData.port, onMessage, () => {
    const step = control[RANGE_STEP];
    try {
      const kind = control[KIND];
      const args: Arg[] = [];
      for (let i = 0; i < kind >> 8; i++) {
        const at = i * SLOT;
        const tag = a[at];
        if (tag === TAG_NUMBER) args.push(a[at + 1]);
        else if (tag === TAG_ARRAY) args.push(new Float32Array(buffers.get(a[at + 1])!, a[at + 2], a[at + 3]));
        else args.push(tag === TAG_NONE ? undefined : tag === TAG_TRUE);
      }
      const run = functions[CALLS[kind & 0xff]];
      if (step === 0) {
        run(...args);
        return;
      }
      // A shared call: claim chunks until none is left (the main thread takes them too).
      const [from, to] = [control[RANGE_FROM], control[RANGE_TO]];
      const chunks = Math.ceil((to - from) / step);
      for (let i = Atomics.add(control, CLAIM, 1); i < chunks; i = Atomics.add(control, CLAIM, 1)) {
        const lo = from + i * step;
        run(...args, lo, Math.min(to, lo + step));
        Atomics.add(control, HELPER_DONE, 1);
        Atomics.notify(control, HELPER_DONE);
      }
    } catch {
      control[FAILED] = 1;
      if (step > 0) {
        Atomics.add(control, HELPER_DONE, FAILED_CHUNKS);
        Atomics.notify(control, HELPER_DONE);
      }
    }
  });
}

/** The chunk a shared call over n items is cut into: 1/16 of it, rounded up to a multiple of `align`. */
export function chunkOf(n: number, align: number): number {
  return Math.ceil(Math.ceil(n / 16) / align) * align;
}

/**
 * Runs a call over n items shared with the helper (HelperThread.share): chunks (`chunkOf`) that
 * either thread claims, `mine` told to keep its products on one thread, the helper calling
 * `call(...args, lo, hi)`; or all of it here (`mine(false, 0, n)`) when the helper is off or busy
 * starting, n is under `min`, or an array is not in shared memory.
 */
export function shareWork(
  n: number, min: number, arrays: (Float32Array | undefined)[],
  mine: (oneThread: boolean, from: number, to: number) => void, call: HelperCall, args: Arg[], align = 1,
): void {
  const h = helper;
  if (!h || !h.ready || n < min || !arrays.every((a) => !a || isShared(a))) {
    mine(false, 0, n);
    return;
  }
  h.share(call, args, 0, n, chunkOf(n, align), (lo, hi) => mine(true, lo, hi));
}

/**
 * Runs a call over n items in two halves: [0, mid) here (`mine`, told to keep its products on
 * one thread) and [mid, n) on the helper (`theirs` gives its call and arguments), mid a multiple
 * of `align`; or all of it here (`mine(false, 0, n)`) when the helper is off or busy starting,
 * n is under `min`, or an array is not in shared memory.
 */
export function splitWork(
  n: number, min: number, arrays: (Float32Array | undefined)[],
  mine: (oneThread: boolean, from: number, to: number) => void, theirs: (from: number, to: number) => [HelperCall, Arg[]], align = 1,
): void {
  const h = helper;
  if (!h || !h.ready || n < min || !arrays.every((a) => !a || isShared(a))) {
    mine(false, 0, n);
    return;
  }
  const mid = Math.floor(n / 2 / align) * align;
  h.alongside(...theirs(mid, n), () => mine(true, 0, mid));
}

let helper: HelperThread | null | undefined;

/** The helper thread if the `blas` backend started it, else null (never starts it). */
export function runningHelper(): HelperThread | null {
  return helper ?? null;
}

/** Whether the blas backend gets a helper thread (and so shared output arrays). */
export function helperWanted(env = process.env): boolean {
  return threadBudget(env) >= 2 && env.PTV2_HELPER !== '0' && typeof SharedArrayBuffer === 'function';
}

/** Resolves once the helper thread (started here if need be) is up, or is off, or after `timeoutMs`. */
export async function helperStarted(timeoutMs = 10_000): Promise<void> {
  const h = helperThread();
  for (const until = Date.now() + timeoutMs; h && !h.ready && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 10));
}

/**
 * The helper thread (started on first call), or null when off. Only the `blas` backend starts it
 * (its kernels' arrays are shared); code shared with other backends uses `runningHelper`.
 */
export function helperThread(): HelperThread | null {
  if (helper === undefined) helper = helperWanted() ? new HelperThread() : null;
  return helper;
}
