/**
 * The matrix loops of simd-kernels.ts: a GEMM that reads its operands in place (A optionally
 * transposed), strided row copies and a 4×4-tile transpose, as WebAssembly SIMD functions
 * (wasm-asm.ts). attention-kernel.ts uses them for its per-head blocks, where XNNPACK's packing
 * of B on every call costs as much as the multiply (see kernels.ts, SIMD_GEMM_MAX_B).
 */
import {endOf, F32, I32, op, rowLoop, splat, V128, v, vectorLoop, type Code, type WasmFunction} from './wasm-asm.js';

/**
 * The GEMM: 4-row × 8-column blocks of C (eight f32x4 accumulators; each step of k broadcasts one
 * element of each A row and loads 8 contiguous elements of the B row), then 4-column and 1-row
 * remainders. B and C rows are ldb and ldc floats apart. With A transposed, one f32x4 load gives
 * the four rows' elements and a shuffle broadcasts each.
 * Locals: a b c m k n ldb ldc | i j kk pb pa0..pa3 | s b0 b1 acc×8 aT-column.
 */
const GEMM = {a: 0, b: 1, c: 2, m: 3, k: 4, n: 5, ldb: 6, ldc: 7, i: 8, j: 9, kk: 10, pb: 11, pa: 12, s: 16, bv: 17, acc: 19, column: 27};

function gemmBlock(rows: number, vecs: number, transposedA: boolean): Code[] {
  const {a, b, c, m, k, ldb, ldc, i, j, kk, pb, pa, s, bv, acc, column} = GEMM;
  const accOf = (r: number, w: number) => acc + r * 2 + w;
  const code: Code[] = [];
  for (let r = 0; r < rows; r++) {
    for (let w = 0; w < vecs; w++) code.push(splat(0), op.set(accOf(r, w)));
    // Row r of A: its own pointer, stepping 4 bytes; transposed, all rows share one stepping 4·m.
    if (!transposedA) code.push(op.get(i), op.i32(r), op.i32Add, op.get(k), op.i32Mul, op.i32(2), op.i32Shl, op.get(a), op.i32Add, op.set(pa + r));
  }
  if (transposedA) code.push(op.get(i), op.i32(2), op.i32Shl, op.get(a), op.i32Add, op.set(pa));
  code.push(op.get(j), op.i32(2), op.i32Shl, op.get(b), op.i32Add, op.set(pb), op.get(k), op.set(kk));
  const step: Code[] = [];
  for (let w = 0; w < vecs; w++) step.push(op.get(pb), v.load(16 * w), op.set(bv + w));
  if (transposedA && rows > 1) step.push(op.get(pa), v.load(), op.set(column));
  for (let r = 0; r < rows; r++) {
    if (!transposedA || rows === 1) step.push(op.get(pa + r), v.loadSplat(), op.set(s));
    else step.push(op.get(column), op.get(column), v.broadcastLane(r), op.set(s));
    for (let w = 0; w < vecs; w++) step.push(op.get(accOf(r, w)), op.get(s), op.get(bv + w), v.mul, v.add, op.set(accOf(r, w)));
    if (!transposedA) step.push(op.get(pa + r), op.i32(4), op.i32Add, op.set(pa + r));
  }
  if (transposedA) step.push(op.get(pa), op.get(m), op.i32(2), op.i32Shl, op.i32Add, op.set(pa));
  step.push(op.get(pb), op.get(ldb), op.i32(2), op.i32Shl, op.i32Add, op.set(pb));
  code.push(
    op.block, op.loop,
    op.get(kk), op.i32Eqz, op.brIf(1),
    ...step,
    op.get(kk), op.i32(1), op.i32Sub, op.set(kk),
    op.br(0),
    op.end, op.end,
  );
  for (let r = 0; r < rows; r++) {
    for (let w = 0; w < vecs; w++) {
      code.push(
        op.get(i), op.i32(r), op.i32Add, op.get(ldc), op.i32Mul, op.get(j), op.i32Add, op.i32(2), op.i32Shl, op.get(c), op.i32Add,
        op.get(accOf(r, w)), v.store(16 * w),
      );
    }
  }
  return code;
}

/** Rows in steps of `rows`: all 8-column blocks, then one 4-column block when n mod 8 = 4. */
function gemmRows(rows: number, transposedA: boolean): Code[] {
  const {m, n, i, j} = GEMM;
  return [
    op.block, op.loop,
    op.get(i), op.i32(rows), op.i32Add, op.get(m), op.i32GtS, op.brIf(1),
    op.i32(0), op.set(j),
    op.block, op.loop,
    op.get(j), op.i32(8), op.i32Add, op.get(n), op.i32GtS, op.brIf(1),
    ...gemmBlock(rows, 2, transposedA),
    op.get(j), op.i32(8), op.i32Add, op.set(j),
    op.br(0),
    op.end, op.end,
    op.get(j), op.i32(4), op.i32Add, op.get(n), op.i32GtS, op.i32Eqz, op.if,
    ...gemmBlock(rows, 1, transposedA),
    op.end,
    op.get(i), op.i32(rows), op.i32Add, op.set(i),
    op.br(0),
    op.end, op.end,
  ];
}

export const gemmFunction = (name: string, transposedA: boolean): WasmFunction => ({
  name,
  params: [I32, I32, I32, I32, I32, I32, I32, I32],
  locals: [I32, I32, I32, I32, I32, I32, I32, I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128],
  body: [op.i32(0), op.set(GEMM.i), ...gemmRows(4, transposedA), ...gemmRows(1, transposedA)],
});

export const copyRowsFn: WasmFunction = {
  name: 'copyRows',
  params: [I32, I32, I32, I32, I32, I32, F32],
  locals: [I32, I32, I32, V128],
  body: ((src, srcStride, dst, dstStride, rows, width, scale, end, p, q, sc) => [
    op.get(scale), v.splatF32, op.set(sc),
    ...rowLoop(rows, [
      op.get(src), op.set(p), op.get(dst), op.set(q),
      ...endOf(p, width, end),
      ...vectorLoop(p, end, [p, q], [op.get(q), op.get(p), v.load(), op.get(sc), v.mul, v.store()]),
      op.get(src), op.get(srcStride), op.i32(2), op.i32Shl, op.i32Add, op.set(src),
      op.get(dst), op.get(dstStride), op.i32(2), op.i32Shl, op.i32Add, op.set(dst),
    ]),
  ])(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
};

/** 4×4 tiles: four row loads, eight lane shuffles, four column stores. */
export const transposeFn: WasmFunction = {
  name: 'transpose',
  params: [I32, I32, I32, I32, I32, I32],
  locals: [I32, I32, I32, I32, V128, V128, V128, V128, V128, V128, V128, V128],
  body: ((src, srcStride, dst, dstStride, rows, cols, r, c, p, q, a0, a1, a2, a3, u0, u1, u2, u3) => {
    const bytes = (stride: number): Code => [...op.get(stride), ...op.i32(2), ...op.i32Shl];
    const advance = (ptr: number, stride: number): Code[] => [op.get(ptr), bytes(stride), op.i32Add, op.set(ptr)];
    const tile: Code[] = [
      // p = src + r·srcStride·4 + c·4
      op.get(r), op.get(srcStride), op.i32Mul, op.get(c), op.i32Add, op.i32(2), op.i32Shl, op.get(src), op.i32Add, op.set(p),
      ...[a0, a1, a2, a3].flatMap((a) => [op.get(p), v.load(), op.set(a), ...advance(p, srcStride)]),
      op.get(a0), op.get(a1), v.shuffleLanes([0, 4, 1, 5]), op.set(u0),
      op.get(a0), op.get(a1), v.shuffleLanes([2, 6, 3, 7]), op.set(u1),
      op.get(a2), op.get(a3), v.shuffleLanes([0, 4, 1, 5]), op.set(u2),
      op.get(a2), op.get(a3), v.shuffleLanes([2, 6, 3, 7]), op.set(u3),
      // q = dst + c·dstStride·4 + r·4
      op.get(c), op.get(dstStride), op.i32Mul, op.get(r), op.i32Add, op.i32(2), op.i32Shl, op.get(dst), op.i32Add, op.set(q),
      ...([[u0, u2, [0, 1, 4, 5]], [u0, u2, [2, 3, 6, 7]], [u1, u3, [0, 1, 4, 5]], [u1, u3, [2, 3, 6, 7]]] as const).flatMap(([x, y, lanes]) => [
        op.get(q), op.get(x), op.get(y), v.shuffleLanes([...lanes]), v.store(), ...advance(q, dstStride),
      ]),
    ];
    const loopBy4 = (index: number, limit: number, body: Code[]): Code[] => [
      op.i32(0), op.set(index),
      op.block, op.loop,
      op.get(index), op.i32(4), op.i32Add, op.get(limit), op.i32GtS, op.brIf(1),
      ...body,
      op.get(index), op.i32(4), op.i32Add, op.set(index),
      op.br(0),
      op.end, op.end,
    ];
    return loopBy4(r, rows, loopBy4(c, cols, tile));
  })(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17),
};
