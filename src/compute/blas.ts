/**
 * The machine's BLAS through FFI (koffi: prebuilt binaries, nothing compiles at install): one
 * `cblas_sgemm` for every matrix product of the `blas` backend (blas-backend.ts), plus the
 * library's thread control and its version string for `ptv2 doctor`.
 *
 * Lookup order: PTV2_BLAS (a path, or `none`), then OpenBLAS, Intel MKL, BLIS, and on macOS
 * Apple Accelerate. A library that is missing or has no `cblas_sgemm` is skipped; when none loads
 * the caller falls back to WASM (backend.ts) and says which package to install.
 *
 * Float32Arrays (or subarrays, for an element offset) are passed as the pointers: koffi hands
 * the typed array's own memory to C, so nothing is copied.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import koffi from 'koffi';

export const CBLAS_ROW_MAJOR = 101;
export const CBLAS_NO_TRANS = 111;
export const CBLAS_TRANS = 112;

export type BlasVendor = 'OpenBLAS' | 'MKL' | 'BLIS' | 'Accelerate' | 'unknown';

export interface Blas {
  /** The file the library was loaded from (the soname resolved through /proc/self/maps on Linux). */
  path: string;
  vendor: BlasVendor;
  /** The library's own version/config string, e.g. `OpenBLAS 0.3.21 DYNAMIC_ARCH … Cooperlake`. */
  config: string;
  /** Short form for the run's backend column, e.g. `OpenBLAS 0.3.21`. */
  version: string;
  /** Threads the library computes with (set at load: all cores, or PTV2_THREADS). */
  threads: number;
  /**
   * C ← alpha·op(A)·op(B) + beta·C, row-major; op(X) = Xᵀ when trans. op(A) is [m, k], op(B)
   * [k, n], C [m, n]; lda/ldb/ldc are the row strides of the arrays as stored. The arrays start at
   * element 0 of each matrix: pass a subarray for an offset. `oneThread`: on the calling thread
   * only (the helper thread runs products of its own at the same time; helper-thread.ts).
   */
  sgemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number, oneThread?: boolean): void;
}

export interface BlasProbe {
  blas?: Blas;
  /** Why each candidate was skipped (missing file, no cblas_sgemm, PTV2_BLAS=none). */
  skipped: string[];
}

const ACCELERATE = '/System/Library/Frameworks/Accelerate.framework/Accelerate';

/** Candidates in order, by platform. */
export function blasCandidates(platform = process.platform): string[] {
  if (platform === 'darwin') return ['libopenblas.dylib', '/opt/homebrew/opt/openblas/lib/libopenblas.dylib', '/usr/local/opt/openblas/lib/libopenblas.dylib', ACCELERATE];
  if (platform === 'win32') return ['libopenblas.dll', 'openblas.dll', 'mkl_rt.2.dll', 'mkl_rt.dll'];
  // Fedora's openblas-threads names its pthreads build libopenblasp.so.0 (OpenMP: libopenblaso).
  return ['libopenblas.so.0', 'libopenblasp.so.0', 'libopenblaso.so.0', 'libopenblas.so', 'libmkl_rt.so.2', 'libmkl_rt.so', 'libblis.so.4', 'libblis.so'];
}

/** The one line printed when no BLAS library loads: what to install, per OS. */
export function installHint(platform = process.platform): string {
  if (platform === 'darwin') return 'Accelerate should always be present; or `brew install openblas`, or set PTV2_BLAS to a library path';
  if (platform === 'win32') return 'download an OpenBLAS release (libopenblas.dll) and set PTV2_BLAS to its path';
  return 'install libopenblas0-pthread (Debian/Ubuntu: apt-get install libopenblas0-pthread; Fedora: dnf install openblas-threads), or set PTV2_BLAS to a library path';
}

/** Threads to compute with: all cores unless PTV2_THREADS asks for fewer (never more). */
export function threadBudget(env = process.env): number {
  const cores = os.availableParallelism();
  const asked = Number(env.PTV2_THREADS);
  return Number.isInteger(asked) && asked > 0 ? Math.min(asked, cores) : cores;
}

type Lib = ReturnType<typeof koffi.load>;

/** A function of `lib`, or undefined when the symbol is absent. */
function optionalFunc(lib: Lib, name: string, result: string, args: string[]): ((...a: unknown[]) => unknown) | undefined {
  try {
    return lib.func(name, result, args) as (...a: unknown[]) => unknown;
  } catch {
    return undefined;
  }
}

interface Identity extends Omit<Blas, 'path' | 'sgemm'> {
  /** The library's thread setter, when it has one. */
  setThreads?: (n: number) => void;
}

function identify(lib: Lib, file: string, threads: number): Identity {
  const openblasConfig = optionalFunc(lib, 'openblas_get_config', 'const char *', []);
  if (openblasConfig) {
    const setThreads = optionalFunc(lib, 'openblas_set_num_threads', 'void', ['int']);
    setThreads?.(threads);
    const getThreads = optionalFunc(lib, 'openblas_get_num_threads', 'int', []);
    const config = String(openblasConfig()).trim();
    return {vendor: 'OpenBLAS', config, version: config.split(' ').slice(0, 2).join(' '), threads: Number(getThreads?.() ?? threads), setThreads};
  }
  const mklVersion = optionalFunc(lib, 'MKL_Get_Version_String', 'void', ['char *', 'int']);
  if (mklVersion) {
    const setThreads = optionalFunc(lib, 'MKL_Set_Num_Threads', 'void', ['int']);
    setThreads?.(threads);
    const buffer = Buffer.alloc(256);
    mklVersion(buffer, buffer.length);
    const config = buffer.toString('latin1').replace(/\0.*$/s, '').trim();
    const version = /Version ([\d.]+)/.exec(config)?.[1];
    const maxThreads = optionalFunc(lib, 'MKL_Get_Max_Threads', 'int', []);
    return {vendor: 'MKL', config, version: version ? `MKL ${version}` : 'MKL', threads: Number(maxThreads?.() ?? threads), setThreads};
  }
  const blisVersion = optionalFunc(lib, 'bli_info_get_version_str', 'const char *', []);
  if (blisVersion) {
    const setThreads = optionalFunc(lib, 'bli_thread_set_num_threads', 'void', ['int64_t']);
    setThreads?.(threads);
    const getThreads = optionalFunc(lib, 'bli_thread_get_num_threads', 'int64_t', []);
    const config = `BLIS ${String(blisVersion())}`;
    return {vendor: 'BLIS', config, version: config, threads: Number(getThreads?.() ?? threads), setThreads};
  }
  if (file.includes('Accelerate')) return {vendor: 'Accelerate', config: 'Apple Accelerate (threads managed by the system)', version: 'Accelerate', threads};
  // A BLAS without thread control: say so, and count what we were given.
  return {vendor: 'unknown', config: `${file} (no known version or thread functions)`, version: 'BLAS', threads};
}

/**
 * Below this many multiply-adds (m·n·k) a GEMM runs on one thread: waking and joining a second
 * thread costs more than it saves. OpenBLAS 0.3.21 itself goes single-threaded below 2^18.
 * Measured on 2 cores, attention's per-head 128×144×64 products (1.2M): on a loaded machine
 * (load average 5+) one thread is 1.3–2× faster, idle two are 10–20% faster; so only what is
 * smaller than them stays on one thread, and the linears (≥ 2048×256×256) always use all.
 */
const SMALL_GEMM = 1 << 20;

/** Where the dynamic loader found `file` (a soname such as libopenblas.so.0), on Linux; else `file`. */
function loadedPath(file: string): string {
  if (path.isAbsolute(file)) return file;
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    // The soname is often a symlink to a versioned file (libopenblas.so.0 → libopenblasp-r0.3.21.so).
    const stem = file.replace(/\.(so|dylib|dll)\b.*$/, '');
    const hit = maps.split('\n').map((l) => l.slice(l.indexOf('/'))).find((p) => p.startsWith('/') && path.basename(p).startsWith(stem));
    return hit ?? file;
  } catch {
    return file;
  }
}

/** The library's cblas_sgemm, row-major with boolean transposes (an empty product does nothing), or undefined. */
function bindRowMajor(lib: Lib): Blas['sgemm'] | undefined {
  const raw = optionalFunc(lib, 'cblas_sgemm', 'void', ['int', 'int', 'int', 'int', 'int', 'int', 'float', 'float *', 'int', 'float *', 'int', 'float', 'float *', 'int']);
  if (!raw) return undefined;
  return (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    if (m === 0 || n === 0) return;
    raw(CBLAS_ROW_MAJOR, transA ? CBLAS_TRANS : CBLAS_NO_TRANS, transB ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  };
}

/**
 * cblas_sgemm of an already loaded library for another thread (helper-thread.ts), with nothing
 * else: no thread setting, which is the library's global state and stays the main thread's.
 */
export function bindSgemm(file: string): Blas['sgemm'] {
  const sgemm = bindRowMajor(koffi.load(file));
  if (!sgemm) throw new Error(`${file}: has no cblas_sgemm`);
  return sgemm;
}

/** Loads one library and binds cblas_sgemm; throws with the reason when it cannot. */
export function loadBlasFrom(file: string, threads = threadBudget()): Blas {
  quietIdleThreads();
  let lib: Lib;
  try {
    lib = koffi.load(file);
  } catch (error) {
    throw new Error(`${file}: cannot load (${(error as Error).message.split('\n')[0]})`);
  }
  const rowMajor = bindRowMajor(lib);
  if (!rowMajor) {
    lib.unload();
    throw new Error(`${file}: has no cblas_sgemm`);
  }
  const {setThreads, ...info} = identify(lib, file, threads);
  let current = info.threads;
  return {
    path: loadedPath(file),
    ...info,
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, oneThread = false) {
      if (m === 0 || n === 0) return;
      const want = oneThread || m * n * k < SMALL_GEMM ? 1 : info.threads;
      if (setThreads && want !== current) {
        setThreads(want);
        current = want;
      }
      rowMajor(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    },
  };
}

/**
 * OpenBLAS's idle worker threads spin (calling sched_yield) for 2^28 cycles after every GEMM
 * before they sleep, taking a core from the JS element-wise work that follows each product on
 * two cores. OpenBLAS reads OPENBLAS_THREAD_TIMEOUT (2^N cycles, N ≥ 4) when it loads, so it is
 * set first unless the user chose a value. Measured on the quick start (2 × 64 model, six runs):
 * 72 s with 2 min 18 s of system time → 64 s with 15 s.
 */
function quietIdleThreads(env = process.env): void {
  env.OPENBLAS_THREAD_TIMEOUT ??= '4';
}

let probed: BlasProbe | undefined;

/**
 * The BLAS library ptv2 computes with, found once per process: PTV2_BLAS (a path, or `none`),
 * else the first candidate that loads and has cblas_sgemm.
 */
export function findBlas(env = process.env): BlasProbe {
  if (probed && env === process.env) return probed;
  const skipped: string[] = [];
  let blas: Blas | undefined;
  const wanted = env.PTV2_BLAS?.trim();
  const threads = threadBudget(env);
  if (wanted === 'none') {
    skipped.push('PTV2_BLAS=none');
  } else {
    for (const file of wanted ? [wanted] : blasCandidates()) {
      try {
        blas = loadBlasFrom(file, threads);
        break;
      } catch (error) {
        skipped.push((error as Error).message);
      }
    }
  }
  const probe = {blas, skipped};
  if (env === process.env) probed = probe;
  return probe;
}
