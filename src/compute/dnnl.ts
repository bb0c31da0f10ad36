/**
 * oneDNN (`libdnnl.so.2`; Debian/Ubuntu package libdnnl2) through koffi, optional: its
 * JIT-compiled AVX2/AVX-512 GELU for the `blas` backend's passes without a gradient tape.
 *
 * Why: ptv2's own GELU runs on 128-bit WASM SIMD, staged through a private WASM memory, at
 * ~4 ns per element per thread; oneDNN's `eltwise_gelu_erf` runs at ~0.9 ns on one thread and
 * ~0.45 ns on two (measured here on 2M floats; largest error against a float64 GELU 3.4e-7, ptv2's
 * own 2.1e-7). A config-b eval pass spent 16–18 ms of ~120 ms in GELU.
 *
 * Nothing compiles: oneDNN's C API takes plain pointers. Descriptors are opaque byte buffers large
 * enough for oneDNN 2.x's structs; a primitive is built (JIT) once per array length and kept.
 * oneDNN computes on its OpenMP threads: OMP_NUM_THREADS follows PTV2_THREADS, and
 * OMP_WAIT_POLICY=PASSIVE (unless set) makes them sleep after each call instead of spinning on
 * the cores that OpenBLAS and ptv2's helper thread need next. PTV2_DNNL=none turns it off; a
 * path picks the library.
 */
import koffi from 'koffi';
import {threadBudget} from './blas.js';

const ENGINE_CPU = 1;
const STREAM_IN_ORDER = 1;
const F32 = 3;
const TAG_A = 2;
const FORWARD_INFERENCE = 96;
const ELTWISE_GELU_ERF = 0x30;
const ARG_SRC = 1;
const ARG_DST = 17;
/** Room for oneDNN 2.x's dnnl_memory_desc_t and op descriptors (both well under this). */
const DESC_BYTES = 16384;
/** Array lengths whose primitive is kept (eval batches padded to different lengths). */
const MAX_PRIMITIVES = 32;

export interface Dnnl {
  /** The library's version, e.g. `oneDNN 2.6.3`. */
  version: string;
  /** y ← GELU(x) (erf form) over all of x; y has x's length (may be x). */
  gelu(x: Float32Array, y: Float32Array): void;
}

type Fn = (...args: unknown[]) => number;

/** koffi's named types, declared once per process. */
let types: {version: koffi.IKoffiCType} | undefined;
function declareTypes(): {version: koffi.IKoffiCType} {
  if (!types) {
    koffi.struct('ptv2_dnnl_exec_arg_t', {arg: 'int', memory: 'void *'});
    types = {version: koffi.struct('ptv2_dnnl_version_t', {major: 'int', minor: 'int', patch: 'int', hash: 'const char *'})};
  }
  return types;
}

function bind(lib: ReturnType<typeof koffi.load>): Dnnl {
  const f = (proto: string) => lib.func(proto) as Fn;
  const check = (status: number, what: string) => {
    if (status !== 0) throw new Error(`oneDNN ${what}: status ${status}`);
  };
  const Version = declareTypes().version;
  const version = lib.func('dnnl_version', koffi.pointer(Version), [])() as unknown;
  const v = koffi.decode(version, Version) as {major: number; minor: number; patch: number};
  if (v.major !== 2) throw new Error(`oneDNN ${v.major}.${v.minor}: ptv2 binds the 2.x API`);
  const engineCreate = f('int dnnl_engine_create(_Out_ void **engine, int kind, size_t index)');
  const streamCreate = f('int dnnl_stream_create(_Out_ void **stream, void *engine, unsigned int flags)');
  const memoryDesc = f('int dnnl_memory_desc_init_by_tag(uint8_t *md, int ndims, int64_t *dims, int dt, int tag)');
  const eltwiseDesc = f('int dnnl_eltwise_forward_desc_init(uint8_t *ed, int prop, int alg, uint8_t *md, float alpha, float beta)');
  const primitiveDesc = f('int dnnl_primitive_desc_create(_Out_ void **pd, uint8_t *opdesc, void *attr, void *engine, void *hint)');
  const primitiveCreate = f('int dnnl_primitive_create(_Out_ void **prim, void *pd)');
  const memoryCreate = f('int dnnl_memory_create(_Out_ void **mem, uint8_t *md, void *engine, void *handle)');
  const setHandle = f('int dnnl_memory_set_data_handle(void *mem, void *handle)');
  const execute = f('int dnnl_primitive_execute(void *prim, void *stream, int nargs, ptv2_dnnl_exec_arg_t *args)');
  const wait = f('int dnnl_stream_wait(void *stream)');
  const destroyDesc = f('int dnnl_primitive_desc_destroy(void *pd)');
  const destroyPrimitive = f('int dnnl_primitive_destroy(void *prim)');
  const destroyMemory = f('int dnnl_memory_destroy(void *mem)');

  const out: unknown[] = [null];
  check(engineCreate(out, ENGINE_CPU, 0), 'engine');
  const engine = out[0];
  check(streamCreate(out, engine, STREAM_IN_ORDER), 'stream');
  const stream = out[0];
  const primitives = new Map<number, {primitive: unknown; args: {arg: number; memory: unknown}[]}>();

  const geluFor = (n: number) => {
    let p = primitives.get(n);
    if (p) return p;
    if (primitives.size >= MAX_PRIMITIVES) {
      // Native objects: released here, not by the garbage collector.
      for (const kept of primitives.values()) {
        destroyPrimitive(kept.primitive);
        for (const {memory} of kept.args) destroyMemory(memory);
      }
      primitives.clear();
    }
    const md = new Uint8Array(DESC_BYTES);
    check(memoryDesc(md, 1, BigInt64Array.of(BigInt(n)), F32, TAG_A), 'memory descriptor');
    const op = new Uint8Array(DESC_BYTES);
    check(eltwiseDesc(op, FORWARD_INFERENCE, ELTWISE_GELU_ERF, md, 0, 0), 'GELU descriptor');
    check(primitiveDesc(out, op, null, engine, null), 'GELU primitive descriptor');
    const desc = out[0];
    const created = primitiveCreate(out, desc);
    // The primitive keeps what it needs of its descriptor.
    destroyDesc(desc);
    check(created, 'GELU primitive');
    const primitive = out[0];
    const memories = [ARG_SRC, ARG_DST].map((arg) => {
      check(memoryCreate(out, md, engine, null), 'memory');
      return {arg, memory: out[0]};
    });
    p = {primitive, args: memories};
    primitives.set(n, p);
    return p;
  };

  return {
    version: `oneDNN ${v.major}.${v.minor}.${v.patch}`,
    gelu(x, y) {
      if (x.length === 0) return;
      const {primitive, args} = geluFor(x.length);
      check(setHandle(args[0].memory, x), 'source');
      check(setHandle(args[1].memory, y), 'destination');
      check(execute(primitive, stream, 2, args), 'GELU');
      check(wait(stream), 'wait');
    },
  };
}

let found: Dnnl | null | undefined;

/** oneDNN if it loads (once per process), else null: PTV2_DNNL=none, missing, or not 2.x. */
export function findDnnl(env = process.env): Dnnl | null {
  if (found !== undefined && env === process.env) return found;
  let dnnl: Dnnl | null = null;
  const wanted = env.PTV2_DNNL?.trim();
  if (wanted !== 'none') {
    // Read by libgomp when oneDNN loads it: set first, unless the user chose.
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
    process.env.OMP_NUM_THREADS ??= String(threadBudget(env));
    try {
      dnnl = bind(koffi.load(wanted || 'libdnnl.so.2'));
    } catch {
      dnnl = null;
    }
  }
  if (env === process.env) found = dnnl;
  return dnnl;
}
