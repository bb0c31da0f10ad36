/**
 * The JS reference loops behind ptv2's kernels (kernels.ts, attention-kernel.ts): what the CPU
 * backend runs, what the finite-difference test checks, and what simd-kernels.ts reproduces in
 * f32x4 for the WASM backend. Pure functions over Float32Arrays at element offsets; float64
 * arithmetic inside.
 *
 * Dropout masks are a hash of (seed, element index) rather than a PRNG stream, so a mask can be
 * recomputed in the backward pass (nothing stored) and is identical on every backend.
 */

/** Keep-or-drop of element `index` under `seed`: a murmur3-style integer hash. */
export function keeps(seed: number, index: number, threshold: number): boolean {
  let h = (Math.imul(index, 0x9e3779b1) + seed) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ seed, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0 >= threshold;
}

/** Elements whose hash is below this are dropped: P(drop) = rate. */
export function dropThreshold(rate: number): number {
  return Math.min(0xffffffff, Math.floor(rate * 0x100000000));
}

/**
 * y[j] ← x[j]·keep/(1−rate) over `rows` rows of `width` (row stride `width`), where element
 * (r, j) has mask index index0 + r·indexStride + j.
 */
export function dropoutRows(
  x: Float32Array, xOffset: number, y: Float32Array, yOffset: number,
  rows: number, width: number, indexStride: number, seed: number, rate: number, index0: number,
): void {
  const threshold = dropThreshold(rate);
  const scale = 1 / (1 - rate);
  for (let r = 0; r < rows; r++) {
    const base = index0 + r * indexStride;
    const o = r * width;
    for (let j = 0; j < width; j++) y[yOffset + o + j] = keeps(seed, base + j, threshold) ? x[xOffset + o + j] * scale : 0;
  }
}

/**
 * erfc by Abramowitz & Stegun 7.1.26 (absolute error of erf below 1.5e-7, the formula of tfjs's own
 * Erf kernel): erfc(z) = t·(a1 + t·(a2 + …))·exp(−z²), t = 1/(1 + p·z), for z ≥ 0.
 */
export const ERFC = {p: 0.3275911, poly: [1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592]};

export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + ERFC.p * z);
  let poly = 0;
  for (const c of ERFC.poly) poly = poly * t + c;
  const r = t * poly * Math.exp(-z * z);
  return x >= 0 ? r : 2 - r;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TANH_SCALE = Math.sqrt(2 / Math.PI);

/**
 * GELU of x[from..to) into y: exact (erf) form, or the tanh approximation (`gelu_new`). The erf
 * form is `erfc` above written out in one loop (one exp per element, the polynomial inlined):
 * measured on the blas backend, config b, 5 passes of 8.4M elements: 1.9 s → 0.5 s.
 */
export function gelu(x: Float32Array, y: Float32Array, from: number, to: number, approximate: boolean): void {
  if (approximate) {
    for (let i = from; i < to; i++) {
      const v = x[i];
      y[i] = 0.5 * v * (1 + Math.tanh(TANH_SCALE * (v + 0.044715 * v * v * v)));
    }
    return;
  }
  const [c0, c1, c2, c3, c4] = ERFC.poly;
  const p = ERFC.p;
  for (let i = from; i < to; i++) {
    const v = x[i];
    const z = Math.abs(v) * INV_SQRT2;
    const t = 1 / (1 + p * z);
    // r = erfc(|v|/√2); Φ(v) = 1 − r/2 for v ≥ 0, r/2 below.
    const r = t * ((((c0 * t + c1) * t + c2) * t + c3) * t + c4) * Math.exp(-z * z);
    y[i] = v * (v >= 0 ? 1 - 0.5 * r : 0.5 * r);
  }
}

/**
 * GELU of x[from..to) into y and its slope GELU′(x) = Φ(x) + x·φ(x) into g, for training: the
 * backward pass is then dy·g, one multiply, where recomputing Φ from x took as long as the forward
 * (measured, blas, config b pt2: the gradient kernel 4.6–8 ms a layer; dy·g ~0.7 ms). φ's exp is
 * the one erfc needs.
 */
export function geluSlope(x: Float32Array, y: Float32Array, g: Float32Array, from: number, to: number, approximate: boolean): void {
  if (approximate) {
    for (let i = from; i < to; i++) {
      const v = x[i];
      const t = Math.tanh(TANH_SCALE * (v + 0.044715 * v * v * v));
      y[i] = 0.5 * v * (1 + t);
      g[i] = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * TANH_SCALE * (1 + 3 * 0.044715 * v * v);
    }
    return;
  }
  const [c0, c1, c2, c3, c4] = ERFC.poly;
  const p = ERFC.p;
  for (let i = from; i < to; i++) {
    const v = x[i];
    const z = Math.abs(v) * INV_SQRT2;
    const t = 1 / (1 + p * z);
    const e = Math.exp(-z * z);
    const r = t * ((((c0 * t + c1) * t + c2) * t + c3) * t + c4) * e;
    const phi = v >= 0 ? 1 - 0.5 * r : 0.5 * r;
    y[i] = v * phi;
    g[i] = phi + v * INV_SQRT_2PI * e;
  }
}

/** Each row of x [rows, width] at `offset` ← softmax(row + mask), in place; mask is one row. */
export function softmaxRows(x: Float32Array, offset: number, rows: number, width: number, mask: Float32Array, maskOffset: number): void {
  for (let r = 0; r < rows; r++) {
    const o = offset + r * width;
    let max = -Infinity;
    for (let j = 0; j < width; j++) {
      const value = x[o + j] + mask[maskOffset + j];
      x[o + j] = value;
      if (value > max) max = value;
    }
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const e = Math.exp(x[o + j] - max);
      x[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < width; j++) x[o + j] *= inv;
  }
}

/**
 * Backward of dropout(softmax) per row, in place in dp: g = dropout(dp) (indices as dropoutRows),
 * dp ← p ⊙ (g − Σ g·p).
 */
export function softmaxGradRows(
  dp: Float32Array, dpOffset: number, p: Float32Array, pOffset: number,
  rows: number, width: number, indexStride: number, seed: number, rate: number, index0: number,
): void {
  const threshold = dropThreshold(rate);
  const scale = 1 / (1 - rate);
  for (let r = 0; r < rows; r++) {
    const o = dpOffset + r * width;
    const q = pOffset + r * width;
    const base = index0 + r * indexStride;
    let dot = 0;
    for (let j = 0; j < width; j++) {
      const g = keeps(seed, base + j, threshold) ? dp[o + j] * scale : 0;
      dp[o + j] = g;
      dot += g * p[q + j];
    }
    for (let j = 0; j < width; j++) dp[o + j] = p[q + j] * (dp[o + j] - dot);
  }
}

/** LayerNorm of each row of x [rows, width]; also the per-row mean and 1/σ. */
export function layerNormRows(
  x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array,
  rows: number, width: number, eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    let sum = 0;
    for (let j = 0; j < width; j++) sum += x[o + j];
    const mu = sum / width;
    let sq = 0;
    for (let j = 0; j < width; j++) sq += (x[o + j] - mu) ** 2;
    const inv = 1 / Math.sqrt(sq / width + eps);
    for (let j = 0; j < width; j++) y[o + j] = (x[o + j] - mu) * inv * gamma[j] + beta[j];
    mean[r] = mu;
    rstd[r] = inv;
  }
}

/**
 * A residual block's end, y = LayerNorm(dropout(a) + res), in one pass: the sum goes to `sum`
 * when given (the backward pass needs it), and the LayerNorm as layerNormRows. Dropout element
 * (r, j) has mask index index0 + r·width + j, as dropoutRows on the flat [rows·width] run; no
 * dropout when rate is 0.
 */
export function residualLayerNormRows(
  a: Float32Array, res: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, sum: Float32Array | undefined,
  mean: Float32Array, rstd: Float32Array, rows: number, width: number, eps: number, rate: number, seed: number, index0: number,
): void {
  const n = rows * width;
  const s = sum ?? new Float32Array(n);
  if (rate > 0) dropoutRows(a, 0, s, 0, 1, n, 0, seed, rate, index0);
  else s.set(a.subarray(0, n));
  for (let i = 0; i < n; i++) s[i] += res[i];
  layerNormRows(s, gamma, beta, y, mean, rstd, rows, width, eps);
}

/** LayerNorm backward: dx per row, dγ and dβ summed over rows (overwritten). */
export function layerNormGradRows(
  dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array,
  dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, rows: number, width: number,
): void {
  const dG = new Float64Array(width);
  const dB = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    const mu = mean[r];
    const inv = rstd[r];
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < width; j++) {
      const xhat = (x[o + j] - mu) * inv;
      const g = dy[o + j] * gamma[j];
      sumG += g;
      sumGX += g * xhat;
      dG[j] += dy[o + j] * xhat;
      dB[j] += dy[o + j];
    }
    const meanG = sumG / width;
    const meanGX = sumGX / width;
    for (let j = 0; j < width; j++) dx[o + j] = inv * (dy[o + j] * gamma[j] - meanG - (x[o + j] - mu) * inv * meanGX);
  }
  dgamma.set(dG);
  dbeta.set(dB);
}

/** `rows` rows of `width` elements, times `scale`, from src to dst (row strides in elements). */
export function copyRows(
  src: Float32Array, srcOffset: number, srcStride: number, dst: Float32Array, dstOffset: number, dstStride: number,
  rows: number, width: number, scale = 1,
): void {
  for (let r = 0; r < rows; r++) {
    const from = srcOffset + r * srcStride;
    const to = dstOffset + r * dstStride;
    for (let e = 0; e < width; e++) dst[to + e] = src[from + e] * scale;
  }
}

/** dst[c·dstStride + r] ← src[r·srcStride + c] for r < rows, c < cols (a strided transpose). */
export function transposeStrided(
  src: Float32Array, srcOffset: number, srcStride: number, dst: Float32Array, dstOffset: number, dstStride: number,
  rows: number, cols: number,
): void {
  for (let r = 0; r < rows; r++) {
    let from = srcOffset + r * srcStride;
    const end = from + cols;
    for (let to = dstOffset + r; from < end; from++, to += dstStride) dst[to] = src[from];
  }
}

/**
 * One AdamW update of elements [from, to) (optimizer-kernel.ts), the gradient first scaled by
 * `gradScale` (global-norm clipping):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p·decay − stepSize · m / (√v/bc2 + ε).
 */
export function adamWRange(
  p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
  beta1: number, beta2: number, eps: number, decay: number, stepSize: number, biasCorrection2: number, gradScale: number, from: number, to: number,
): void {
  const [c1, c2] = [1 - beta1, 1 - beta2];
  for (let i = from; i < to; i++) {
    const gi = g[i] * gradScale;
    const mi = beta1 * m[i] + c1 * gi;
    const vi = beta2 * v[i] + c2 * gi * gi;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) / biasCorrection2 + eps);
  }
}

/**
 * out[at] ← Σ x[i]² over [from, to), summed in float64 in four partial sums: one sum waits for
 * each add before the next (1.1 ns per element on one thread); four interleave (0.66 ns).
 */
export function squaredSum(x: Float32Array, from: number, to: number, out: Float32Array | Float64Array, at: number): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = from;
  for (; i + 4 <= to; i += 4) {
    const a = x[i];
    const b = x[i + 1];
    const c = x[i + 2];
    const d = x[i + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i < to; i++) s0 += x[i] * x[i];
  out[at] = s0 + s1 + s2 + s3;
}

/** Add, Sub, Multiply, RealDiv by index (array-kernels.ts, and the helper thread's calls). */
export const BINARY_OPS = ['Add', 'Sub', 'Multiply', 'RealDiv'] as const;

/** out[i] ← a[i] op b[i] over [from, to), op an index into BINARY_OPS. */
export function binaryEqual(op: number, a: Float32Array, b: Float32Array, out: Float32Array, from: number, to: number): void {
  if (op === 0) for (let i = from; i < to; i++) out[i] = a[i] + b[i];
  else if (op === 1) for (let i = from; i < to; i++) out[i] = a[i] - b[i];
  else if (op === 2) for (let i = from; i < to; i++) out[i] = a[i] * b[i];
  else for (let i = from; i < to; i++) out[i] = a[i] / b[i];
}
