/**
 * f32x4 SIMD versions of the element-wise and row-wise hot loops of kernels.ts and
 * attention-kernel.ts (plus the matrix loops of simd-matrix.ts), assembled (wasm-asm.ts) into one
 * module that imports the tfjs WASM backend's own memory, so they run in place on tensor data.
 * Arguments are byte addresses.
 *
 * Why: the stock WASM element-wise kernels are scalar (erf ~25 ns per element), and JS loops cost
 * 20–60 ns per element for exp/erf (V8 calls out for Math.exp). Four lanes with a polynomial exp
 * are ~10× faster.
 *
 * Each function matches its JS reference in vector-ops.ts (the CPU backend's path, and the one
 * the finite-difference test checks): the same formulas, in float32 instead of float64, and
 * bit-identical dropout masks (the same integer hash). Row and element counts must be multiples
 * of 4; callers handle tails.
 */
import {assemble, endOf, F32, horner, I32, op, reduceLanes, rowLoop, splat, V128, v, vectorLoop, type Code, type WasmFunction} from './wasm-asm.js';
import {copyRowsFn, gemmFunction, transposeFn} from './simd-matrix.js';
import {BINARY_OPS, ERFC} from './vector-ops.js';

/** The part of the WebAssembly JS API used here (the project's TypeScript lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
declare const WebAssembly: {
  Memory: abstract new () => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => {exports: object};
};

export function isWasmMemory(x: unknown): x is WasmMemory {
  return typeof WebAssembly !== 'undefined' && x instanceof WebAssembly.Memory;
}

export interface SimdKernels {
  /** y ← x·Φ(x) for n floats. */
  gelu(x: number, y: number, n: number): void;
  /** y ← x·Φ(x) and g ← Φ(x) + x·φ(x) (the slope) for n floats. */
  geluSlope(x: number, y: number, g: number, n: number): void;
  /** y ← x·keep/(1−rate) for rows × width floats; element (r, j) has mask index index0 + r·indexStride + j. */
  dropoutRows(x: number, y: number, rows: number, width: number, indexStride: number, seed: number, threshold: number, scale: number, index0: number): void;
  /** Each row of x [rows, width] ← softmax(row + mask), in place; mask is one row [width]. */
  softmaxRows(x: number, rows: number, width: number, mask: number): void;
  /** dp ← p ⊙ (g − Σ g·p) per row, g = dropout mask applied to dp (indices as dropoutRows). */
  softmaxGradRows(dp: number, p: number, rows: number, width: number, indexStride: number, seed: number, threshold: number, scale: number, index0: number): void;
  /** LayerNorm of each row; writes y and per-row mean and 1/σ. */
  layerNormRows(x: number, gamma: number, beta: number, y: number, mean: number, rstd: number, rows: number, width: number, eps: number): void;
  /**
   * C ← A·B for row-major A [m, k], B [k, n] and C [m, n] whose rows are ldb and ldc floats apart;
   * n a multiple of 4. Unlike XNNPACK it reads B in place: no packing, which dominates the small
   * per-head matmuls of attention.
   */
  gemm(a: number, b: number, c: number, m: number, k: number, n: number, ldb: number, ldc: number): void;
  /** The same with A given transposed: A[i][p] at aT[p·m + i], i.e. aT is [k, m]. */
  gemmTransposedA(aT: number, b: number, c: number, m: number, k: number, n: number, ldb: number, ldc: number): void;
  /** `rows` rows of `width` floats (a multiple of 4), times `scale`, from src to dst; strides in floats. */
  copyRows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, width: number, scale: number): void;
  /** dst[c·dstStride + r] ← src[r·srcStride + c] for r < rows, c < cols, both multiples of 4. */
  transpose(src: number, srcStride: number, dst: number, dstStride: number, rows: number, cols: number): void;
  /**
   * One AdamW update of n floats in place (vector-ops.ts adamWRange, in float32): g ← g·gradScale;
   * m ← β1·m + c1·g; v ← β2·v + c2·g²; p ← p·decay − stepSize·m / (√v·invBc2 + eps), where c1 = 1 − β1
   * and c2 = 1 − β2 come in rounded from float64 (1 − f32(0.999) is 5·10⁻⁵ off, which showed).
   */
  adamW(p: number, g: number, m: number, v: number, n: number, beta1: number, c1: number, beta2: number, c2: number, eps: number, decay: number, stepSize: number, invBc2: number, gradScale: number): void;
  /** out ← a + b, a − b, a·b, a / b for n floats. */
  binaryAdd(a: number, b: number, out: number, n: number): void;
  binarySub(a: number, b: number, out: number, n: number): void;
  binaryMultiply(a: number, b: number, out: number, n: number): void;
  binaryRealDiv(a: number, b: number, out: number, n: number): void;
  /** dx per row; adds into dgamma and dbeta (zero them first). */
  layerNormGradRows(dy: number, x: number, gamma: number, mean: number, rstd: number, dx: number, dgamma: number, dbeta: number, rows: number, width: number): void;
}

const LOG2E = Math.LOG2E;
// Cody–Waite split of ln 2 for float32 (Cephes expf).
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
const EXP_MIN = -87.3;
/** 1.5·2²³: x + ROUND rounds x to an integer kept in the low bits of the sum (|x| < 2²²). */
const ROUND = 12582912;
/** Added to the bits of x + ROUND (0x4b400000 + n): n + 127, the exponent field of 2ⁿ. */
const EXP_BIAS = 127 - 0x4b400000;
const EXP_MAX = 88.3;
const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const EXP_POLY = [1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1, 1];
// The dropout hash of kernels.ts `keeps`.
const GOLDEN = 0x9e3779b1 | 0;
const MIX1 = 0x85ebca6b | 0;
const MIX2 = 0xc2b2ae35 | 0;

/**
 * Local `dst` ← exp(value of `src`) lane-wise; 0 below EXP_MIN. `n`, `r` are scratch v128 locals.
 * exp(x) = 2ⁿ·exp(r), n = round(x·log₂e). The rounding adds ROUND (1.5·2²³), which leaves n in
 * the low mantissa bits, so 2ⁿ's bits are one integer add and a shift away; with pmin/pmax for
 * the clamp this replaced nearest, trunc_sat, min and max, whose NaN and overflow rules V8
 * expands to several x86 instructions each: GELU's loop went from 145 to 129 instructions per
 * four elements (V8 11, x64), about 5–10% faster, close to this machine's run-to-run spread.
 */
function exp(src: Code, dst: number, n: number, r: number): Code[] {
  const nearest = (): Code[] => [op.get(n), splat(ROUND), v.sub];
  return [
    src, splat(EXP_MIN), v.pmax, splat(EXP_MAX), v.pmin, op.set(r),
    op.get(r), splat(LOG2E), v.mul, splat(ROUND), v.add, op.set(n),
    op.get(r), ...nearest(), splat(LN2_HI), v.mul, v.sub, ...nearest(), splat(LN2_LO), v.mul, v.sub, op.set(r),
    ...horner(r, EXP_POLY),
    op.get(n), v.i32x4([EXP_BIAS, EXP_BIAS, EXP_BIAS, EXP_BIAS]), v.iAdd, op.i32(23), v.shl,
    v.mul,
    src, splat(EXP_MIN), v.fGe, v.and,
    op.set(dst),
  ];
}

/**
 * Local `dst` ← Φ(x) = P(N(0,1) ≤ x) for x in local `x` (erfc of vector-ops.ts), and local `e` ←
 * exp(−x²/2), which is √(2π)·φ(x) (GELU's gradient needs it too). Scratch v128 locals: t, n, r.
 */
function normalCdf(x: number, dst: number, t: number, e: number, n: number, r: number): Code[] {
  return [
    // z = |x|/√2 (in dst for now), t = 1/(1 + p·z)
    op.get(x), v.abs, splat(INV_SQRT2), v.mul, op.set(dst),
    splat(1), splat(1), op.get(dst), splat(ERFC.p), v.mul, v.add, v.div, op.set(t),
    // half = erfc(z)/2 = t·poly(t)·exp(−z²)/2, in t
    ...exp([...op.get(dst), ...op.get(dst), ...v.mul, ...v.neg], e, n, r),
    op.get(t), ...horner(t, ERFC.poly), v.mul, op.get(e), v.mul, splat(0.5), v.mul, op.set(t),
    // Φ = half for x ≤ 0, else 1 − half
    op.get(t), splat(1), op.get(t), v.sub, op.get(x), splat(0), v.fLe, v.bitselect, op.set(dst),
  ];
}

/** Local `out` ← the dropout hash of the lane indices in local `idx` (i32x4) under `seedv`. */
function hash(idx: number, seedv: number, out: number): Code[] {
  const shiftXor = (s: number): Code[] => [op.get(out), op.get(out), op.i32(s), v.shrU, v.xor];
  return [
    op.get(idx), op.i32(GOLDEN), v.splatI32, v.iMul, op.get(seedv), v.iAdd, op.set(out),
    ...shiftXor(16), op.i32(MIX1), v.splatI32, v.iMul, op.set(out),
    ...shiftXor(13), op.get(seedv), v.xor, op.i32(MIX2), v.splatI32, v.iMul, op.set(out),
    ...shiftXor(16), op.set(out),
  ];
}

const geluFn: WasmFunction = {
  name: 'gelu',
  params: [I32, I32, I32],
  locals: [I32, V128, V128, V128, V128, V128, V128],
  body: ((x, y, n, end, a, phi, t, e, nn, r) => [
    ...endOf(x, n, end),
    ...vectorLoop(x, end, [x, y], [
      op.get(x), v.load(), op.set(a),
      ...normalCdf(a, phi, t, e, nn, r),
      op.get(y), op.get(a), op.get(phi), v.mul, v.store(),
    ]),
  ])(0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
};

const geluSlopeFn: WasmFunction = {
  name: 'geluSlope',
  params: [I32, I32, I32, I32],
  locals: [I32, V128, V128, V128, V128, V128, V128],
  body: ((x, y, g, n, end, a, phi, t, e, nn, r) => [
    ...endOf(x, n, end),
    ...vectorLoop(x, end, [x, y, g], [
      op.get(x), v.load(), op.set(a),
      // e = exp(−x²/2) from Φ's own exp: one exp per element for both outputs.
      ...normalCdf(a, phi, t, e, nn, r),
      op.get(y), op.get(a), op.get(phi), v.mul, v.store(),
      op.get(g), op.get(phi), op.get(a), op.get(e), v.mul, splat(INV_SQRT_2PI), v.mul, v.add, v.store(),
    ]),
  ])(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
};

/** out ← a op b for n floats, one function per op in the order of vector-ops.ts BINARY_OPS. */
const binaryFns: WasmFunction[] = BINARY_OPS.map((name, code) => ({
  name: `binary${name}`,
  params: [I32, I32, I32, I32],
  locals: [I32],
  body: ((a, b, out, n, end) => [
    ...endOf(a, n, end),
    ...vectorLoop(a, end, [a, b, out], [op.get(out), op.get(a), v.load(), op.get(b), v.load(), [v.add, v.sub, v.mul, v.div][code], v.store()]),
  ])(0, 1, 2, 3, 4),
}));

const dropoutRowsFn: WasmFunction = {
  name: 'dropoutRows',
  params: [I32, I32, I32, I32, I32, I32, I32, F32, I32],
  locals: [I32, V128, V128, V128, V128, V128],
  body: ((x, y, rows, width, indexStride, seed, threshold, scale, index0, end, seedv, idx, h, thr, sc) => [
    op.get(seed), v.splatI32, op.set(seedv),
    op.get(threshold), v.splatI32, op.set(thr),
    op.get(scale), v.splatF32, op.set(sc),
    ...rowLoop(rows, [
      ...endOf(x, width, end),
      op.get(index0), v.splatI32, v.i32x4([0, 1, 2, 3]), v.iAdd, op.set(idx),
      ...vectorLoop(x, end, [x, y], [
        ...hash(idx, seedv, h),
        op.get(y), op.get(x), v.load(), op.get(sc), v.mul, op.get(h), op.get(thr), v.i32GeU, v.and, v.store(),
        op.get(idx), op.i32(4), v.splatI32, v.iAdd, op.set(idx),
      ]),
      op.get(index0), op.get(indexStride), op.i32Add, op.set(index0),
    ]),
  ])(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14),
};

const softmaxRowsFn: WasmFunction = {
  name: 'softmaxRows',
  params: [I32, I32, I32, I32],
  locals: [I32, I32, I32, V128, V128, V128, V128, V128, V128],
  body: ((x, rows, width, mask, end, p, mp, acc, a, e, nn, r, m) => [
    ...rowLoop(rows, [
      ...endOf(x, width, end),
      // logits + mask, and their max
      splat(-3.4e38), op.set(acc), op.get(x), op.set(p), op.get(mask), op.set(mp),
      ...vectorLoop(p, end, [p, mp], [
        op.get(p), v.load(), op.get(mp), v.load(), v.add, op.set(a),
        op.get(p), op.get(a), v.store(),
        op.get(acc), op.get(a), v.max, op.set(acc),
      ]),
      ...reduceLanes(acc, op.f32Max), v.splatF32, op.set(m),
      // exponentials and their sum
      splat(0), op.set(acc), op.get(x), op.set(p),
      ...vectorLoop(p, end, [p], [
        ...exp([...op.get(p), ...v.load(), ...op.get(m), ...v.sub], e, nn, r),
        op.get(p), op.get(e), v.store(),
        op.get(acc), op.get(e), v.add, op.set(acc),
      ]),
      op.f32(1), ...reduceLanes(acc, op.f32Add), op.f32Div, v.splatF32, op.set(m),
      op.get(x), op.set(p),
      ...vectorLoop(p, end, [p], [op.get(p), op.get(p), v.load(), op.get(m), v.mul, v.store()]),
      op.get(end), op.set(x),
    ]),
  ])(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
};

const softmaxGradRowsFn: WasmFunction = {
  name: 'softmaxGradRows',
  params: [I32, I32, I32, I32, I32, I32, I32, F32, I32],
  locals: [I32, I32, I32, V128, V128, V128, V128, V128, V128, V128],
  body: ((dp, p, rows, width, indexStride, seed, threshold, scale, index0, end, q, pp, seedv, idx, h, thr, sc, acc, g) => [
    op.get(seed), v.splatI32, op.set(seedv),
    op.get(threshold), v.splatI32, op.set(thr),
    op.get(scale), v.splatF32, op.set(sc),
    ...rowLoop(rows, [
      ...endOf(dp, width, end),
      op.get(index0), v.splatI32, v.i32x4([0, 1, 2, 3]), v.iAdd, op.set(idx),
      splat(0), op.set(acc), op.get(dp), op.set(q), op.get(p), op.set(pp),
      // g = dropout(dp); Σ g·p
      ...vectorLoop(q, end, [q, pp], [
        ...hash(idx, seedv, h),
        op.get(q), v.load(), op.get(sc), v.mul, op.get(h), op.get(thr), v.i32GeU, v.and, op.set(g),
        op.get(q), op.get(g), v.store(),
        op.get(acc), op.get(g), op.get(pp), v.load(), v.mul, v.add, op.set(acc),
        op.get(idx), op.i32(4), v.splatI32, v.iAdd, op.set(idx),
      ]),
      ...reduceLanes(acc, op.f32Add), v.splatF32, op.set(acc),
      op.get(dp), op.set(q), op.get(p), op.set(pp),
      ...vectorLoop(q, end, [q, pp], [
        op.get(q), op.get(pp), v.load(), op.get(q), v.load(), op.get(acc), v.sub, v.mul, v.store(),
      ]),
      op.get(end), op.set(dp),
      op.get(pp), op.set(p),
      op.get(index0), op.get(indexStride), op.i32Add, op.set(index0),
    ]),
  ])(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18),
};

/** f32 ← local i32 `count` as float */
const toF32 = (i: number): Code => [...op.get(i), 0xb2];

const layerNormRowsFn: WasmFunction = {
  name: 'layerNormRows',
  params: [I32, I32, I32, I32, I32, I32, I32, I32, F32],
  locals: [I32, I32, I32, I32, I32, V128, V128, V128],
  body: ((x, gamma, beta, y, mean, rstd, rows, width, eps, end, p, g, b, o, acc, mu, d) => [
    ...rowLoop(rows, [
      ...endOf(x, width, end),
      splat(0), op.set(acc), op.get(x), op.set(p),
      ...vectorLoop(p, end, [p], [op.get(acc), op.get(p), v.load(), v.add, op.set(acc)]),
      op.get(mean), ...reduceLanes(acc, op.f32Add), toF32(width), op.f32Div, op.f32Store(),
      op.get(mean), op.f32Load(), v.splatF32, op.set(mu),
      splat(0), op.set(acc), op.get(x), op.set(p),
      ...vectorLoop(p, end, [p], [op.get(p), v.load(), op.get(mu), v.sub, op.set(d), op.get(acc), op.get(d), op.get(d), v.mul, v.add, op.set(acc)]),
      // 1/σ = 1/√(var + eps)
      op.get(rstd), op.f32(1), ...reduceLanes(acc, op.f32Add), toF32(width), op.f32Div, op.get(eps), op.f32Add, [0x91], op.f32Div, op.f32Store(),
      op.get(rstd), op.f32Load(), v.splatF32, op.set(d),
      op.get(x), op.set(p), op.get(gamma), op.set(g), op.get(beta), op.set(b), op.get(y), op.set(o),
      ...vectorLoop(p, end, [p, g, b, o], [
        op.get(o), op.get(p), v.load(), op.get(mu), v.sub, op.get(d), v.mul, op.get(g), v.load(), v.mul, op.get(b), v.load(), v.add, v.store(),
      ]),
      op.get(end), op.set(x),
      op.get(o), op.set(y),
      op.get(mean), op.i32(4), op.i32Add, op.set(mean),
      op.get(rstd), op.i32(4), op.i32Add, op.set(rstd),
    ]),
  ])(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
};

const layerNormGradRowsFn: WasmFunction = {
  name: 'layerNormGradRows',
  params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32],
  locals: [I32, I32, I32, I32, I32, I32, I32, V128, V128, V128, V128, V128, V128, V128],
  body: ((dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, width, end, p, q, g, dg, db, o, mu, inv, sg, sgx, xhat, gv, w) => [
    ...rowLoop(rows, [
      ...endOf(x, width, end),
      op.get(mean), op.f32Load(), v.splatF32, op.set(mu),
      op.get(rstd), op.f32Load(), v.splatF32, op.set(inv),
      splat(0), op.set(sg), splat(0), op.set(sgx),
      op.get(x), op.set(p), op.get(dy), op.set(q), op.get(gamma), op.set(g), op.get(dgamma), op.set(dg), op.get(dbeta), op.set(db),
      ...vectorLoop(p, end, [p, q, g, dg, db], [
        op.get(p), v.load(), op.get(mu), v.sub, op.get(inv), v.mul, op.set(xhat),
        op.get(q), v.load(), op.set(w),
        op.get(w), op.get(g), v.load(), v.mul, op.set(gv),
        op.get(sg), op.get(gv), v.add, op.set(sg),
        op.get(sgx), op.get(gv), op.get(xhat), v.mul, v.add, op.set(sgx),
        op.get(dg), op.get(dg), v.load(), op.get(w), op.get(xhat), v.mul, v.add, v.store(),
        op.get(db), op.get(db), v.load(), op.get(w), v.add, v.store(),
      ]),
      ...reduceLanes(sg, op.f32Add), toF32(width), op.f32Div, v.splatF32, op.set(sg),
      ...reduceLanes(sgx, op.f32Add), toF32(width), op.f32Div, v.splatF32, op.set(sgx),
      op.get(x), op.set(p), op.get(dy), op.set(q), op.get(gamma), op.set(g), op.get(dx), op.set(o),
      ...vectorLoop(p, end, [p, q, g, o], [
        op.get(o),
        op.get(q), v.load(), op.get(g), v.load(), v.mul, op.get(sg), v.sub,
        op.get(p), v.load(), op.get(mu), v.sub, op.get(inv), v.mul, op.get(sgx), v.mul, v.sub,
        op.get(inv), v.mul, v.store(),
      ]),
      op.get(end), op.set(x),
      op.get(q), op.set(dy),
      op.get(o), op.set(dx),
      op.get(mean), op.i32(4), op.i32Add, op.set(mean),
      op.get(rstd), op.i32(4), op.i32Add, op.set(rstd),
    ]),
  ])(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23),
};



const adamWFn: WasmFunction = {
  name: 'adamW',
  params: [I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32, F32],
  locals: [I32, V128, V128, V128],
  body: ((p, g, m, vv, n, beta1, c1, beta2, c2, eps, decay, stepSize, invBc2, gradScale, end, gi, mi, vi) => {
    const lanes = (x: number): Code[] => [op.get(x), v.splatF32];
    return [
      ...endOf(p, n, end),
      ...vectorLoop(p, end, [p, g, m, vv], [
        op.get(g), v.load(), ...lanes(gradScale), v.mul, op.set(gi),
        ...lanes(beta1), op.get(m), v.load(), v.mul, ...lanes(c1), op.get(gi), v.mul, v.add, op.set(mi),
        ...lanes(beta2), op.get(vv), v.load(), v.mul, ...lanes(c2), op.get(gi), op.get(gi), v.mul, v.mul, v.add, op.set(vi),
        op.get(m), op.get(mi), v.store(),
        op.get(vv), op.get(vi), v.store(),
        op.get(p),
        op.get(p), v.load(), ...lanes(decay), v.mul,
        ...lanes(stepSize), op.get(mi), v.mul, op.get(vi), v.sqrt, ...lanes(invBc2), v.mul, ...lanes(eps), v.add, v.div,
        v.sub, v.store(),
      ]),
    ];
  })(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17),
};

let compiled: object | undefined;

/** The kernels on `memory`, or undefined when this runtime lacks WebAssembly SIMD. */
export function simdKernels(memory: WasmMemory): SimdKernels | undefined {
  try {
    compiled ??= new WebAssembly.Module(
      assemble([geluFn, geluSlopeFn, dropoutRowsFn, softmaxRowsFn, softmaxGradRowsFn, layerNormRowsFn, layerNormGradRowsFn, gemmFunction('gemm', false), gemmFunction('gemmTransposedA', true), copyRowsFn, transposeFn, adamWFn, ...binaryFns]),
    );
    return new WebAssembly.Instance(compiled, {env: {memory}}).exports as unknown as SimdKernels;
  } catch {
    return undefined;
  }
}
