/**
 * Output buffers of the `blas` backend, reused instead of allocated afresh for every op.
 *
 * A training step allocates the same few hundred arrays every step (config b: ~600 MB a step in
 * arrays of 0.1–8 MB). A fresh `Float32Array` is zero-filled memory the kernel maps page by page
 * on first write, and V8 collects the dead ones later: measured on bench config b pt2 (blas),
 * 191k minor page faults and 2.5 s of system time over 10 steps, and 7% of the profile in the
 * garbage collector. A disposed tensor's array goes back here, keyed by its length, and the next
 * op that needs that length gets it back, dirty: every kernel that takes from the pool writes
 * each element of its output (sgemm with beta = 0 does; PTV2_POOL_POISON=1 fills reused
 * arrays with NaN so that the tests prove it).
 *
 * An array is recycled only while exactly one tensor holds it and nothing outside has seen it:
 * - `take` marks it fresh; the first tensor written with it (`written`) owns it;
 * - a second tensor written with it, or with a view of it (tfjs's CPU Slice returns a subarray
 *   of its input), makes it shared, and it is never recycled;
 * - `escaped`: its values were read out (dataSync, data, arraySync), and the reader may keep them;
 * - `recycle`: its tensor's data was deleted (refcount 0).
 * Arrays come in size classes (`sizeClass`), handed out as views of their first n floats. Pooled
 * bytes are capped (PTV2_POOL_MB, default a quarter of RAM); beyond the cap the least recently
 * used sizes go to the GC.
 */
import os from 'node:os';

export interface PoolStats {
  taken: number;
  reused: number;
  recycled: number;
  shared: number;
  escaped: number;
  /** Arrays let go because the pool was full (the least recently used sizes first). */
  dropped: number;
}

/**
 * The capacity an array of n floats is allocated with: n rounded up to one of 8 sizes per
 * power of two (at most 12.5% slack; multiples of 16 below 256). Batches padded to their longest
 * example change shape from step to step; size classes let them reuse each other's arrays.
 */
export function sizeClass(n: number): number {
  if (n <= 256) return Math.max(16, Math.ceil(n / 16) * 16);
  const step = 2 ** (Math.floor(Math.log2(n)) - 3);
  return Math.ceil(n / step) * step;
}

export class BufferPool {
  /** Free arrays (full capacity) by size class. */
  private readonly free = new Map<number, Float32Array[]>();
  /** When each size class was last taken from (a counter): eviction goes by it. */
  private readonly lastUse = new Map<number, number>();
  private clock = 0;
  private pooledBytes = 0;
  /** Buffers handed out by take() and not yet written to a tensor, with the view handed out. */
  private readonly handed = new WeakMap<ArrayBufferLike, Float32Array>();
  private readonly fresh = new WeakSet<ArrayBufferLike>();
  private readonly owned = new WeakSet<ArrayBufferLike>();
  readonly stats: PoolStats = {taken: 0, reused: 0, recycled: 0, shared: 0, escaped: 0, dropped: 0};
  /** Told of every buffer the pool lets go of (the helper thread forgets it). */
  onDrop?: (buffer: ArrayBufferLike) => void;

  constructor(
    readonly capBytes: number,
    private readonly poison = false,
    /** New arrays in SharedArrayBuffers, so that the helper thread (helper-thread.ts) can use them. */
    readonly shared = false,
  ) {}

  /**
   * The pool for `env`: PTV2_POOL_MB caps it (default: a quarter of the machine's memory). A
   * small cap costs more than it saves: arrays let go of stay mapped until the garbage collector
   * finds them, which for shared memory is late (BERT-base ft: 1 GB cap 5.8 GB peak RSS, no
   * cap 4.5 GB).
   */
  static fromEnv(env = process.env, shared = false): BufferPool {
    const mb = Number(env.PTV2_POOL_MB ?? os.totalmem() / 4 / 2 ** 20);
    return new BufferPool(Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : os.totalmem() / 4, env.PTV2_POOL_POISON === '1', shared);
  }

  /** An array of length n: a recycled one (contents undefined) or a new one. */
  take(n: number): Float32Array {
    this.stats.taken++;
    const size = sizeClass(n);
    this.lastUse.set(size, ++this.clock);
    let array = this.free.get(size)?.pop();
    if (array) {
      this.stats.reused++;
      this.pooledBytes -= array.byteLength;
      if (this.poison) array.fill(NaN);
    } else {
      array = this.shared ? new Float32Array(new SharedArrayBuffer(4 * size)) : new Float32Array(size);
    }
    const view = n === size ? array : array.subarray(0, n);
    this.fresh.add(array.buffer);
    this.handed.set(array.buffer, view);
    return view;
  }

  /** A tensor's data was stored as `values`. */
  written(values: Float32Array): void {
    const buffer = values.buffer;
    if (this.fresh.has(buffer)) {
      this.fresh.delete(buffer);
      if (this.handed.get(buffer) === values) {
        this.owned.add(buffer);
        return;
      }
    }
    if (this.owned.delete(buffer)) this.stats.shared++;
  }

  /** Whether `values` is an array of the pool that one tensor holds and nobody has seen. */
  owns(values: Float32Array): boolean {
    return this.owned.has(values.buffer) && this.handed.get(values.buffer) === values;
  }

  /** `values` were handed to code outside the backend, which may keep them. */
  escaped(values: Float32Array): void {
    if (this.owned.delete(values.buffer)) this.stats.escaped++;
  }

  /** The tensor data stored as `values` was deleted. Returns whether the array was kept for reuse. */
  recycle(values: Float32Array): boolean {
    const buffer = values.buffer;
    if (!this.owned.delete(buffer)) return false;
    const size = buffer.byteLength / 4;
    if (!this.makeRoom(buffer.byteLength, size)) {
      this.stats.dropped++;
      return false;
    }
    this.stats.recycled++;
    this.pooledBytes += buffer.byteLength;
    const full = values.length === size ? values : new Float32Array(buffer, 0, size);
    const list = this.free.get(size);
    if (list) list.push(full);
    else this.free.set(size, [full]);
    return true;
  }

  /** Lets go of the least recently used sizes (not `keep`) until `bytes` more fit under the cap. */
  private makeRoom(bytes: number, keep: number): boolean {
    while (this.pooledBytes + bytes > this.capBytes) {
      let oldest: number | undefined;
      for (const [size, list] of this.free) {
        if (size !== keep && list.length > 0 && (oldest === undefined || this.lastUse.get(size)! < this.lastUse.get(oldest)!)) oldest = size;
      }
      if (oldest === undefined) return false;
      for (const array of this.free.get(oldest)!) {
        this.pooledBytes -= array.byteLength;
        this.stats.dropped++;
        this.onDrop?.(array.buffer);
      }
      this.free.delete(oldest);
    }
    return true;
  }

  /** Bytes held for reuse. */
  get bytes(): number {
    return this.pooledBytes;
  }
}

/** The pool of a backend that has one (`blas`), else undefined. */
export function poolOf(backend: object): BufferPool | undefined {
  return (backend as {pool?: BufferPool}).pool;
}

/** A float32 output array of length n: from the backend's pool when it has one. */
export function outputArray(backend: object, n: number): Float32Array {
  return poolOf(backend)?.take(n) ?? new Float32Array(n);
}
