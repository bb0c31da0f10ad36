/**
 * oneDNN (`libdnnl.so.2`; Debian/Ubuntu package libdnnl2) through koffi, optional: JIT-compiled
 * AVX2/AVX-512 element-wise and row-wise primitives for the `blas` backend, in place on its
 * arrays (no staging copy, unlike ptv2's WASM SIMD loops).
 *
 * Why, measured here (2 cores, AVX-512):
 * - GELU (`eltwise_gelu_erf`): ~0.9 ns per element on one thread and ~0.45 on two, against ~4 ns
 *   per thread for ptv2's own SIMD GELU; largest error against a float64 GELU 3.4e-7 (ptv2's own
 *   2.1e-7). A config-b eval pass spent 16–18 ms of ~120 ms in GELU.
 * - softmax over one attention head's scores [128, 144]: 25 µs on one thread (1.4 ns per
 *   element), against ~56 µs for ptv2's own; largest error against float64 5e-9.
 * - LayerNorm over [2048, 256] or [512, 1024]: 0.1–0.13 ms (0.2–0.25 ns per element), against
 *   ~1.1 ms for ptv2's own residual-add-and-LayerNorm on two threads; error ~4e-7.
 *
 * Nothing compiles: oneDNN's C API takes plain pointers. Descriptors are opaque byte buffers large
 * enough for oneDNN 2.x's structs; a primitive is built (JIT) once per shape and kept. oneDNN
 * computes on its OpenMP threads: OMP_NUM_THREADS follows PTV2_THREADS, and
 * OMP_WAIT_POLICY=PASSIVE (unless set) makes them sleep after each call instead of spinning on
 * the cores that OpenBLAS and ptv2's helper thread need next. Softmax, LayerNorm and element-wise
 * ops below TWO_THREADS elements run on the calling thread alone (`alone`: OpenMP's thread count
 * is a per-thread setting, lowered to 1 around them); GELU uses all. Primitives run on the
 * thread that built them (oneDNN's shared scratchpad requires it): each thread binds its own
 * (`findDnnl` per thread).
 * PTV2_DNNL=none turns it off; a path picks the library.
 */
import koffi from 'koffi';
import {threadBudget} from './blas.js';

const ENGINE_CPU = 1;
const STREAM_IN_ORDER = 1;
const F32 = 3;
/** dnnl_a and dnnl_ab: plain 1-D and row-major 2-D layouts. */
const TAG_PLAIN = [0, 2, 3];
const FORWARD_TRAINING = 64;
const FORWARD_INFERENCE = 96;
const ELTWISE_GELU_ERF = 0x30;
const USE_SCALE = 0x8;
const USE_SHIFT = 0x10;
const ARG_SRC = 1;
const ARG_SRC_1 = 2;
const ARG_DST = 17;
const ARG_MEAN = 49;
const ARG_VARIANCE = 50;
const ARG_SCALE = 51;
const ARG_SHIFT = 52;
/** Room for oneDNN 2.x's dnnl_memory_desc_t and op descriptors (both well under this). */
const DESC_BYTES = 16384;
/** Shapes whose primitive is kept (eval batches are padded to different lengths). */
const MAX_PRIMITIVES = 64;

export interface Dnnl {
  /** The library's version, e.g. `oneDNN 2.6.3`. */
  version: string;
  /** y ← GELU(x) (erf form) over all of x; y has x's length (may be x). */
  gelu(x: Float32Array, y: Float32Array): void;
  /** Each row of x [rows, width] ← softmax(row), in place, on the calling thread alone. */
  softmaxRows(x: Float32Array, rows: number, width: number): void;
  /**
   * y ← γ·(x − mean)/√(variance + eps) + β per row of x [rows, width] (y may be x); with `stats`
   * (training) each row's mean and variance are written there.
   */
  layerNormRows(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, rows: number, width: number, eps: number, stats?: {mean: Float32Array; variance: Float32Array}): void;
  /**
   * out ← a op b, element-wise over out's length (out may be a or b), IEEE float32 like a JS loop
   * into a Float32Array. On the calling thread alone below TWO_THREADS elements.
   */
  binary(op: BinaryOp, a: Float32Array, b: Float32Array, out: Float32Array): void;
}

export type BinaryOp = 'Add' | 'Sub' | 'Multiply' | 'RealDiv';
const BINARY_ALGS: Record<BinaryOp, number> = {Add: 0x1fff0, Multiply: 0x1fff1, RealDiv: 0x1fff4, Sub: 0x1fff5};
/**
 * Elements from which an element-wise op uses both threads: below, it runs in cache and a second
 * thread's wake-up (~40 µs) costs more than it saves (one thread: ~0.1 ms for 0.5M floats).
 */
const TWO_THREADS = 1 << 22;

type Fn = (...args: unknown[]) => number;
interface Primitive {
  primitive: unknown;
  /** Memory objects by execution argument, their data set per call. */
  args: {arg: number; memory: unknown}[];
}

/** koffi's named types, declared once per thread. */
let types: {version: koffi.IKoffiCType} | undefined;
function declareTypes(): {version: koffi.IKoffiCType} {
  if (!types) {
    koffi.struct('ptv2_dnnl_exec_arg_t', {arg: 'int', memory: 'void *'});
    types = {version: koffi.struct('ptv2_dnnl_version_t', {major: 'int', minor: 'int', patch: 'int', hash: 'const char *'})};
  }
  return types;
}

function bind(lib: ReturnType<typeof koffi.load>, threads: number): Dnnl {
  const f = (proto: string) => lib.func(proto) as Fn;
  const check = (status: number, what: string) => {
    if (status !== 0) throw new Error(`oneDNN ${what}: status ${status}`);
  };
  const Version = declareTypes().version;
  const version = lib.func('dnnl_version', koffi.pointer(Version), [])() as unknown;
  const v = koffi.decode(version, Version) as {major: number; minor: number; patch: number};
  if (v.major !== 2) throw new Error(`oneDNN ${v.major}.${v.minor}: ptv2 binds the 2.x API`);
  // oneDNN's OpenMP runtime (loaded with it): the calling thread's team size.
  const ompThreads = koffi.load('libgomp.so.1').func('void omp_set_num_threads(int n)') as (n: number) => void;
  const engineCreate = f('int dnnl_engine_create(_Out_ void **engine, int kind, size_t index)');
  const streamCreate = f('int dnnl_stream_create(_Out_ void **stream, void *engine, unsigned int flags)');
  const memoryDesc = f('int dnnl_memory_desc_init_by_tag(uint8_t *md, int ndims, int64_t *dims, int dt, int tag)');
  const eltwiseDesc = f('int dnnl_eltwise_forward_desc_init(uint8_t *ed, int prop, int alg, uint8_t *md, float alpha, float beta)');
  const softmaxDesc = f('int dnnl_softmax_forward_desc_init(uint8_t *sd, int prop, uint8_t *md, int axis)');
  const layerNormDesc = f('int dnnl_layer_normalization_forward_desc_init(uint8_t *ld, int prop, uint8_t *md, uint8_t *statmd, float eps, unsigned int flags)');
  const binaryDesc = f('int dnnl_binary_desc_init(uint8_t *bd, int alg, uint8_t *src0, uint8_t *src1, uint8_t *dst)');
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
  const primitives = new Map<string, Primitive>();

  const memoryDescOf = (dims: number[]) => {
    const md = new Uint8Array(DESC_BYTES);
    check(memoryDesc(md, dims.length, BigInt64Array.from(dims, BigInt), F32, TAG_PLAIN[dims.length]), 'memory descriptor');
    return md;
  };

  /** The primitive for `key`, built on first use from its op descriptor and its arguments' layouts. */
  const primitiveFor = (key: string, what: string, describe: () => {op: Uint8Array; args: [number, Uint8Array][]}): Primitive => {
    let p = primitives.get(key);
    if (p) return p;
    if (primitives.size >= MAX_PRIMITIVES) {
      // Native objects: released here, not by the garbage collector.
      for (const kept of primitives.values()) {
        destroyPrimitive(kept.primitive);
        for (const {memory} of kept.args) destroyMemory(memory);
      }
      primitives.clear();
    }
    const {op, args} = describe();
    check(primitiveDesc(out, op, null, engine, null), `${what} primitive descriptor`);
    const desc = out[0];
    const created = primitiveCreate(out, desc);
    // The primitive keeps what it needs of its descriptor.
    destroyDesc(desc);
    check(created, `${what} primitive`);
    const primitive = out[0];
    const memories = args.map(([arg, md]) => {
      check(memoryCreate(out, md, engine, null), 'memory');
      return {arg, memory: out[0]};
    });
    p = {primitive, args: memories};
    primitives.set(key, p);
    return p;
  };

  const run = ({primitive, args}: Primitive, arrays: Float32Array[], what: string) => {
    arrays.forEach((a, i) => check(setHandle(args[i].memory, a), what));
    check(execute(primitive, stream, args.length, args), what);
    check(wait(stream), 'wait');
  };

  /**
   * Runs f with OpenMP's thread count for this thread at 1, for primitives that run on the calling
   * thread alone: they must also be built so, as oneDNN fixes a primitive's thread count when it
   * builds it. With OMP_WAIT_POLICY=PASSIVE, waking the second (sleeping) thread costs ~40 µs a
   * call: more than a head's softmax (~20 µs), and about what a second thread saves on LayerNorm
   * or an element-wise op in cache (memory-bound: LayerNorm [2048, 256] 133 µs on one thread,
   * 116 on two).
   */
  const alone = (f: () => void) => {
    ompThreads(1);
    try {
      f();
    } finally {
      ompThreads(threads);
    }
  };

  const op = (init: (desc: Uint8Array) => number, what: string) => {
    const desc = new Uint8Array(DESC_BYTES);
    check(init(desc), `${what} descriptor`);
    return desc;
  };

  return {
    version: `oneDNN ${v.major}.${v.minor}.${v.patch}`,
    gelu(x, y) {
      const n = x.length;
      if (n === 0) return;
      const p = primitiveFor(`gelu ${n}`, 'GELU', () => {
        const md = memoryDescOf([n]);
        return {op: op((d) => eltwiseDesc(d, FORWARD_INFERENCE, ELTWISE_GELU_ERF, md, 0, 0), 'GELU'), args: [[ARG_SRC, md], [ARG_DST, md]]};
      });
      run(p, [x, y], 'GELU');
    },
    softmaxRows(x, rows, width) {
      if (rows * width === 0) return;
      alone(() => {
        const p = primitiveFor(`softmax ${rows} ${width}`, 'softmax', () => {
          const md = memoryDescOf([rows, width]);
          return {op: op((d) => softmaxDesc(d, FORWARD_INFERENCE, md, 1), 'softmax'), args: [[ARG_SRC, md], [ARG_DST, md]]};
        });
        run(p, [x, x], 'softmax');
      });
    },
    layerNormRows(x, gamma, beta, y, rows, width, eps, stats) {
      if (rows * width === 0) return;
      alone(() => {
        const p = primitiveFor(`layerNorm ${rows} ${width} ${eps} ${stats ? 'stats' : ''}`, 'LayerNorm', () => {
          const [md, channels, rowsMd] = [memoryDescOf([rows, width]), memoryDescOf([width]), memoryDescOf([rows])];
          const prop = stats ? FORWARD_TRAINING : FORWARD_INFERENCE;
          const args: [number, Uint8Array][] = [[ARG_SRC, md], [ARG_DST, md], [ARG_SCALE, channels], [ARG_SHIFT, channels]];
          if (stats) args.push([ARG_MEAN, rowsMd], [ARG_VARIANCE, rowsMd]);
          return {op: op((d) => layerNormDesc(d, prop, md, rowsMd, eps, USE_SCALE | USE_SHIFT), 'LayerNorm'), args};
        });
        run(p, stats ? [x, y, gamma, beta, stats.mean, stats.variance] : [x, y, gamma, beta], 'LayerNorm');
      });
    },
    binary(kind, a, b, result) {
      const n = result.length;
      if (n === 0) return;
      const build = () => {
        const p = primitiveFor(`${kind} ${n}`, kind, () => {
          const md = memoryDescOf([n]);
          return {op: op((d) => binaryDesc(d, BINARY_ALGS[kind], md, md, md), kind), args: [[ARG_SRC, md], [ARG_SRC_1, md], [ARG_DST, md]]};
        });
        run(p, [a, b, result], kind);
      };
      if (n < TWO_THREADS) alone(build);
      else build();
    },
  };
}

let found: Dnnl | null | undefined;

/** oneDNN if it loads (once per thread), else null: PTV2_DNNL=none, missing, or not 2.x. */
export function findDnnl(env = process.env): Dnnl | null {
  if (found !== undefined && env === process.env) return found;
  let dnnl: Dnnl | null = null;
  const wanted = env.PTV2_DNNL?.trim();
  if (wanted !== 'none') {
    const threads = threadBudget(env);
    // Read by libgomp when oneDNN loads it: set first, unless the user chose.
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
    process.env.OMP_NUM_THREADS ??= String(threads);
    try {
      dnnl = bind(koffi.load(wanted || 'libdnnl.so.2'), threads);
    } catch {
      dnnl = null;
    }
  }
  if (env === process.env) found = dnnl;
  return dnnl;
}
