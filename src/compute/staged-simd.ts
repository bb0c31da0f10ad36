/**
 * The f32x4 loops of simd-kernels.ts for tensors that live in JS memory (the `blas` backend):
 * chunks are copied into a small private WebAssembly memory, computed there, and copied back.
 * Same signatures as the JS references of vector-ops.ts, so kernels call either one.
 *
 * Why: V8 runs the exp/erf loops at 15–25 ns per element (Math.exp is a call); the SIMD loops
 * with a polynomial exp take a few ns, and a copy in and out of a 64 KB chunk (memcpy, cache-hot)
 * is well under 1 ns per element. Measured on blas, config b pt2, one step: GELU + its gradient
 * 0.55 s → 0.08 s; dropout, softmax and LayerNorm together 0.55 s → 0.12 s (machine loaded).
 * Anything the SIMD loops do not cover (odd widths, the tanh GELU, tails) runs the JS reference.
 */
import {simdKernels, type SimdKernels, type WasmMemory} from './simd-kernels.js';
import * as ops from './vector-ops.js';

declare const WebAssembly: {Memory: new (d: {initial: number}) => WasmMemory};

/** Floats per staging region; a region per operand (at most 4) plus two row vectors. */
const CHUNK = 16 * 1024;
const REGIONS = 6;

export type VectorOps = Pick<typeof ops, 'gelu' | 'geluSlope' | 'dropoutRows' | 'softmaxRows' | 'softmaxGradRows' | 'layerNormRows' | 'layerNormGradRows' | 'residualLayerNormRows'>;

export class StagedSimd implements VectorOps {
  private readonly heap: Float32Array;

  private constructor(private readonly simd: SimdKernels, memory: WasmMemory) {
    this.heap = new Float32Array(memory.buffer);
  }

  /** Undefined when this runtime lacks WebAssembly SIMD. */
  static create(): StagedSimd | undefined {
    if (typeof WebAssembly === 'undefined') return undefined;
    const memory = new WebAssembly.Memory({initial: Math.ceil((REGIONS * CHUNK * 4) / 65536)});
    const simd = simdKernels(memory);
    return simd ? new StagedSimd(simd, memory) : undefined;
  }

  /** Byte address and float index of staging region r. */
  private region(r: number): [number, number] {
    return [r * CHUNK * 4, r * CHUNK];
  }

  /**
   * Elements [from, to) in chunks: each input copied into staging region 0, 1, … in turn, `run`
   * on the chunk's length (region r's byte address is r·CHUNK·4), each output copied out of the
   * region paired with it; the last n mod 4 elements go to `tail(i)` (the JS reference from i).
   */
  private flat(from: number, to: number, inputs: Float32Array[], outputs: [Float32Array, number][], run: (n: number) => void, tail: (i: number) => void): void {
    let i = from;
    for (; to - i >= 4; ) {
      const n = Math.min(CHUNK, (to - i) & ~3);
      inputs.forEach((a, r) => this.heap.set(a.subarray(i, i + n), this.region(r)[1]));
      run(n);
      for (const [out, r] of outputs) out.set(this.heap.subarray(r * CHUNK, r * CHUNK + n), i);
      i += n;
    }
    tail(i);
  }

  gelu(x: Float32Array, y: Float32Array, from: number, to: number, approximate: boolean): void {
    if (approximate) return ops.gelu(x, y, from, to, true);
    const [ax, ay] = [this.region(0)[0], this.region(1)[0]];
    this.flat(from, to, [x], [[y, 1]], (n) => this.simd.gelu(ax, ay, n), (i) => ops.gelu(x, y, i, to, false));
  }

  geluSlope(x: Float32Array, y: Float32Array, g: Float32Array, from: number, to: number, approximate: boolean): void {
    if (approximate) return ops.geluSlope(x, y, g, from, to, true);
    const [ax, ay, ag] = [0, 1, 2].map((r) => this.region(r)[0]);
    this.flat(from, to, [x], [[y, 1], [g, 2]], (n) => this.simd.geluSlope(ax, ay, ag, n), (i) => ops.geluSlope(x, y, g, i, to, false));
  }

  /**
   * vector-ops.ts adamWRange on the SIMD loop, in float32 (the JS reference computes in float64,
   * as vector-ops.ts says; both store float32). Its float64 sqrt and division made AdamW ~5 ns per
   * parameter on one thread, compute-bound (a plain copy here moves 20 GB/s): BERT-large ft spent
   * 1.4 s of an 8 s step in it. Outputs may be the inputs (in place).
   */
  adamWRange(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
    beta1: number, beta2: number, eps: number, decay: number, stepSize: number, biasCorrection2: number, gradScale: number, from: number, to: number,
  ): void {
    const [ap, ag, am, av] = [0, 1, 2, 3].map((r) => this.region(r)[0]);
    this.flat(
      from, to, [p, g, m, v], [[pOut, 0], [mOut, 2], [vOut, 3]],
      (n) => this.simd.adamW(ap, ag, am, av, n, beta1, 1 - beta1, beta2, 1 - beta2, eps, decay, stepSize, 1 / biasCorrection2, gradScale),
      (i) => ops.adamWRange(p, g, m, v, pOut, mOut, vOut, beta1, beta2, eps, decay, stepSize, biasCorrection2, gradScale, i, to),
    );
  }

  /**
   * out[i] ← a[i] op b[i] over [from, to) (op an index into BINARY_OPS) on the SIMD loop. JS
   * loops over Float32Arrays run ~1.8 ns per element here (no vectorisation); staged, the copies
   * are memcpy and the op four lanes at a time.
   */
  binaryEqual(code: number, a: Float32Array, b: Float32Array, out: Float32Array, from: number, to: number): void {
    const run = [this.simd.binaryAdd, this.simd.binarySub, this.simd.binaryMultiply, this.simd.binaryRealDiv][code];
    const [aa, ab] = [this.region(0)[0], this.region(1)[0]];
    this.flat(from, to, [a, b], [[out, 0]], (n) => run(aa, ab, aa, n), (i) => ops.binaryEqual(code, a, b, out, i, to));
  }

  dropoutRows(x: Float32Array, xOffset: number, y: Float32Array, yOffset: number, rows: number, width: number, indexStride: number, seed: number, rate: number, index0: number): void {
    const [ax, ix] = this.region(0);
    const [ay, iy] = this.region(1);
    const threshold = ops.dropThreshold(rate);
    const scale = 1 / (1 - rate);
    if (rows === 1) {
      // A flat run: chunk along it (mask indices continue from index0).
      let j = 0;
      for (; width - j >= 4; ) {
        const n = Math.min(CHUNK, (width - j) & ~3);
        this.heap.set(x.subarray(xOffset + j, xOffset + j + n), ix);
        this.simd.dropoutRows(ax, ay, 1, n, 0, seed, threshold, scale, index0 + j);
        y.set(this.heap.subarray(iy, iy + n), yOffset + j);
        j += n;
      }
      if (j < width) ops.dropoutRows(x, xOffset + j, y, yOffset + j, 1, width - j, 0, seed, rate, index0 + j);
      return;
    }
    if (width % 4 !== 0 || width > CHUNK) return ops.dropoutRows(x, xOffset, y, yOffset, rows, width, indexStride, seed, rate, index0);
    const per = Math.floor(CHUNK / width);
    for (let r = 0; r < rows; r += per) {
      const count = Math.min(per, rows - r);
      const n = count * width;
      this.heap.set(x.subarray(xOffset + r * width, xOffset + r * width + n), ix);
      this.simd.dropoutRows(ax, ay, count, width, indexStride, seed, threshold, scale, index0 + r * indexStride);
      y.set(this.heap.subarray(iy, iy + n), yOffset + r * width);
    }
  }

  softmaxRows(x: Float32Array, offset: number, rows: number, width: number, mask: Float32Array, maskOffset: number): void {
    if (width % 4 !== 0 || width > CHUNK) return ops.softmaxRows(x, offset, rows, width, mask, maskOffset);
    const [ax, ix] = this.region(0);
    const [am, im] = this.region(4);
    this.heap.set(mask.subarray(maskOffset, maskOffset + width), im);
    const per = Math.floor(CHUNK / width);
    for (let r = 0; r < rows; r += per) {
      const n = Math.min(per, rows - r) * width;
      const at = offset + r * width;
      this.heap.set(x.subarray(at, at + n), ix);
      this.simd.softmaxRows(ax, n / width, width, am);
      x.set(this.heap.subarray(ix, ix + n), at);
    }
  }

  softmaxGradRows(dp: Float32Array, dpOffset: number, p: Float32Array, pOffset: number, rows: number, width: number, indexStride: number, seed: number, rate: number, index0: number): void {
    if (width % 4 !== 0 || width > CHUNK) return ops.softmaxGradRows(dp, dpOffset, p, pOffset, rows, width, indexStride, seed, rate, index0);
    const [ad, id] = this.region(0);
    const [ap, ip] = this.region(1);
    const threshold = ops.dropThreshold(rate);
    const scale = 1 / (1 - rate);
    const per = Math.floor(CHUNK / width);
    for (let r = 0; r < rows; r += per) {
      const count = Math.min(per, rows - r);
      const n = count * width;
      this.heap.set(dp.subarray(dpOffset + r * width, dpOffset + r * width + n), id);
      this.heap.set(p.subarray(pOffset + r * width, pOffset + r * width + n), ip);
      this.simd.softmaxGradRows(ad, ap, count, width, indexStride, seed, threshold, scale, index0 + r * indexStride);
      dp.set(this.heap.subarray(id, id + n), dpOffset + r * width);
    }
  }

  layerNormRows(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, width: number, eps: number): void {
    if (width % 4 !== 0 || width > CHUNK) return ops.layerNormRows(x, gamma, beta, y, mean, rstd, rows, width, eps);
    const [ax, ix] = this.region(0);
    const [ay, iy] = this.region(1);
    const [am, im] = this.region(2);
    const [ar, ir] = this.region(3);
    const [ag, ig] = this.region(4);
    const [ab, ib] = this.region(5);
    this.heap.set(gamma.subarray(0, width), ig);
    this.heap.set(beta.subarray(0, width), ib);
    const per = Math.min(Math.floor(CHUNK / width), CHUNK);
    for (let r = 0; r < rows; r += per) {
      const count = Math.min(per, rows - r);
      const n = count * width;
      this.heap.set(x.subarray(r * width, r * width + n), ix);
      this.simd.layerNormRows(ax, ag, ab, ay, am, ar, count, width, eps);
      y.set(this.heap.subarray(iy, iy + n), r * width);
      mean.set(this.heap.subarray(im, im + count), r);
      rstd.set(this.heap.subarray(ir, ir + count), r);
    }
  }

  /**
   * vector-ops.ts residualLayerNormRows: per chunk of rows, a and res are copied in once, and
   * dropout, the sum and the LayerNorm run on the staged copy (in cache) before y and the sum go
   * out; separately (dropout, Add, LayerNorm) the same rows went through memory three times.
   */
  residualLayerNormRows(
    a: Float32Array, res: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, sum: Float32Array | undefined,
    mean: Float32Array, rstd: Float32Array, rows: number, width: number, eps: number, rate: number, seed: number, index0: number,
  ): void {
    if (width % 4 !== 0 || width > CHUNK) return ops.residualLayerNormRows(a, res, gamma, beta, y, sum, mean, rstd, rows, width, eps, rate, seed, index0);
    const [ax, ix] = this.region(0);
    const [ay, iy] = this.region(1);
    const [am, im] = this.region(2);
    const [ar, ir] = [am + (CHUNK / 2) * 4, im + CHUNK / 2];
    const [as, is] = this.region(3);
    const [ag, ig] = this.region(4);
    const [ab, ib] = this.region(5);
    this.heap.set(gamma.subarray(0, width), ig);
    this.heap.set(beta.subarray(0, width), ib);
    const [threshold, scale] = [ops.dropThreshold(rate), 1 / (1 - rate)];
    const per = Math.floor(CHUNK / width);
    for (let r = 0; r < rows; r += per) {
      const count = Math.min(per, rows - r);
      const n = count * width;
      const o = r * width;
      this.heap.set(a.subarray(o, o + n), ix);
      if (rate > 0) this.simd.dropoutRows(ax, ax, 1, n, 0, seed, threshold, scale, index0 + o);
      this.heap.set(res.subarray(o, o + n), is);
      this.simd.binaryAdd(ax, as, ax, n);
      sum?.set(this.heap.subarray(ix, ix + n), o);
      this.simd.layerNormRows(ax, ag, ab, ay, am, ar, count, width, eps);
      y.set(this.heap.subarray(iy, iy + n), o);
      mean.set(this.heap.subarray(im, im + count), r);
      rstd.set(this.heap.subarray(ir, ir + count), r);
    }
  }

  layerNormGradRows(dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, rows: number, width: number): void {
    // Six row-sized operands plus four vectors: half-size chunks keep them in REGIONS regions.
    const half = CHUNK / 2;
    if (width % 4 !== 0 || width > half) return ops.layerNormGradRows(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, width);
    const [ady, idy] = this.region(0);
    const [ax, ix] = this.region(1);
    const [adx, idx] = this.region(2);
    const [ag, ig] = this.region(3);
    const [adg, idg] = [ag + half * 4, ig + half];
    const [adb, idb] = this.region(4);
    const [am, im] = this.region(5);
    const [ar, ir] = [am + half * 4, im + half];
    this.heap.set(gamma.subarray(0, width), ig);
    this.heap.fill(0, idg, idg + width);
    this.heap.fill(0, idb, idb + width);
    const per = Math.floor(half / width);
    for (let r = 0; r < rows; r += per) {
      const count = Math.min(per, rows - r);
      const n = count * width;
      this.heap.set(dy.subarray(r * width, r * width + n), idy);
      this.heap.set(x.subarray(r * width, r * width + n), ix);
      this.heap.set(mean.subarray(r, r + count), im);
      this.heap.set(rstd.subarray(r, r + count), ir);
      this.simd.layerNormGradRows(ady, ax, ag, am, ar, adx, adg, adb, count, width);
      dx.set(this.heap.subarray(idx, idx + n), r * width);
    }
    dgamma.set(this.heap.subarray(idg, idg + width));
    dbeta.set(this.heap.subarray(idb, idb + width));
  }
}

/** The flat loops both threads run outside VectorOps: AdamW's update and equal-shape element-wise ops. */
export type FlatOps = Pick<typeof ops, 'adamWRange' | 'binaryEqual'>;

/** `simd`'s SIMD versions of the flat loops, or the JS references where WebAssembly SIMD is missing. */
export function flatOps(simd: StagedSimd | null): FlatOps {
  return simd ? {adamWRange: simd.adamWRange.bind(simd), binaryEqual: simd.binaryEqual.bind(simd)} : {adamWRange: ops.adamWRange, binaryEqual: ops.binaryEqual};
}

let main: StagedSimd | null | undefined;
let mainFlat: FlatOps | undefined;

/** The main thread's StagedSimd (made on first use), or null where WebAssembly SIMD is missing. */
export function mainStaged(): StagedSimd | null {
  if (main === undefined) main = StagedSimd.create() ?? null;
  return main;
}

/** The main thread's flat loops (flatOps of mainStaged). */
export function mainFlatOps(): FlatOps {
  mainFlat ??= flatOps(mainStaged());
  return mainFlat;
}
