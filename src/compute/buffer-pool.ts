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
 * Pooled bytes are capped (PTV2_POOL_MB, default 1024); beyond the cap arrays go to the GC.
 */

export interface PoolStats {
  taken: number;
  reused: number;
  recycled: number;
  shared: number;
  escaped: number;
  dropped: number;
}

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  private readonly fresh = new WeakSet<ArrayBufferLike>();
  private readonly owned = new WeakSet<ArrayBufferLike>();
  readonly stats: PoolStats = {taken: 0, reused: 0, recycled: 0, shared: 0, escaped: 0, dropped: 0};

  constructor(
    readonly capBytes: number,
    private readonly poison = false,
    /** New arrays in SharedArrayBuffers, so that the helper thread (helper-thread.ts) can use them. */
    readonly shared = false,
  ) {}

  static fromEnv(env = process.env, shared = false): BufferPool {
    const mb = Number(env.PTV2_POOL_MB ?? 1024);
    return new BufferPool(Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : 2 ** 30, env.PTV2_POOL_POISON === '1', shared);
  }

  /** An array of length n: a recycled one (contents undefined) or a new one. */
  take(n: number): Float32Array {
    this.stats.taken++;
    let array = this.free.get(n)?.pop();
    if (array) {
      this.stats.reused++;
      this.pooledBytes -= array.byteLength;
      if (this.poison) array.fill(NaN);
    } else {
      array = this.shared ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n);
    }
    this.fresh.add(array.buffer);
    return array;
  }

  /** A tensor's data was stored as `values`. */
  written(values: Float32Array): void {
    const buffer = values.buffer;
    if (this.fresh.has(buffer)) {
      this.fresh.delete(buffer);
      if (values.byteOffset === 0 && values.byteLength === buffer.byteLength) {
        this.owned.add(buffer);
        return;
      }
    }
    if (this.owned.delete(buffer)) this.stats.shared++;
  }

  /** `values` were handed to code outside the backend, which may keep them. */
  escaped(values: Float32Array): void {
    if (this.owned.delete(values.buffer)) this.stats.escaped++;
  }

  /** The tensor data stored as `values` was deleted. */
  recycle(values: Float32Array): void {
    const buffer = values.buffer;
    if (!this.owned.delete(buffer)) return;
    if (this.pooledBytes + values.byteLength > this.capBytes) {
      this.stats.dropped++;
      return;
    }
    this.stats.recycled++;
    this.pooledBytes += values.byteLength;
    const list = this.free.get(values.length);
    if (list) list.push(values);
    else this.free.set(values.length, [values]);
  }

  /** Bytes held for reuse. */
  get bytes(): number {
    return this.pooledBytes;
  }

  /** Drops every pooled array (to the GC). */
  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
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
