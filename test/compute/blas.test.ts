/**
 * The cblas_sgemm binding against a JS reference: all four transpose combinations, operands at
 * offsets inside larger arrays (subarrays), leading dimensions wider than the matrices, alpha and
 * beta; and the fallback when PTV2_BLAS names no usable library.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {findBlas, loadBlasFrom} from '../../src/compute/blas.js';
import {mulberry32} from '../../src/random.js';
import {requireBlas} from '../helpers/blas.js';

const {blas, skip} = requireBlas();

function randomArray(n: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({length: n}, () => rng() * 2 - 1);
}

/** Element (i, j) of op(X) for X stored row-major at `offset` with row stride ld. */
function at(x: Float32Array, offset: number, ld: number, trans: boolean, i: number, j: number): number {
  return trans ? x[offset + j * ld + i] : x[offset + i * ld + j];
}

const CASES = [
  {transA: false, transB: false},
  {transA: true, transB: false},
  {transA: false, transB: true},
  {transA: true, transB: true},
];

for (const {transA, transB} of CASES) {
  test(`sgemm matches a JS reference (transA ${transA}, transB ${transB}, offsets, leading dimensions, alpha, beta)`, {skip}, () => {
    const [m, n, k] = [5, 7, 3];
    // Stored shapes: A is [m, k] or (transposed) [k, m]; rows padded to lda, and so on.
    const [aRows, aCols] = transA ? [k, m] : [m, k];
    const [bRows, bCols] = transB ? [n, k] : [k, n];
    const [lda, ldb, ldc] = [aCols + 2, bCols + 1, n + 3];
    const [aOff, bOff, cOff] = [4, 9, 2];
    const A = randomArray(aOff + aRows * lda, 1);
    const B = randomArray(bOff + bRows * ldb, 2);
    const C = randomArray(cOff + m * ldc + 5, 3);
    const before = C.slice();
    const [alpha, beta] = [0.75, 0.5];
    blas!.sgemm(transA, transB, m, n, k, alpha, A.subarray(aOff), lda, B.subarray(bOff), ldb, beta, C.subarray(cOff), ldc);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < ldc; j++) {
        const index = cOff + i * ldc + j;
        if (j >= n) {
          assert.equal(C[index], before[index], `padding C[${i}, ${j}] must not be written`);
          continue;
        }
        let sum = 0;
        for (let p = 0; p < k; p++) sum += at(A, aOff, lda, transA, i, p) * at(B, bOff, ldb, transB, p, j);
        const expected = alpha * sum + beta * before[index];
        assert.ok(Math.abs(C[index] - expected) < 1e-5, `C[${i}, ${j}] = ${C[index]}, expected ${expected}`);
      }
    }
    assert.deepEqual(C.subarray(0, cOff), before.subarray(0, cOff), 'elements before the offset untouched');
    assert.deepEqual(C.subarray(cOff + m * ldc), before.subarray(cOff + m * ldc), 'elements after C untouched');
  });
}

test('the library reports its vendor, version and threads', {skip}, () => {
  assert.equal(blas!.vendor, 'OpenBLAS');
  assert.match(blas!.version, /^OpenBLAS \d+\.\d+/);
  assert.ok(blas!.threads >= 1);
});

test('PTV2_THREADS limits the library threads', {skip}, () => {
  const one = loadBlasFrom(blas!.path, 1);
  assert.equal(one.threads, 1);
  // Back to the process's own setting, as other tests in this process expect.
  loadBlasFrom(blas!.path);
});

test('PTV2_BLAS=none, a missing path and a library without cblas_sgemm find no BLAS and say why', () => {
  assert.deepEqual(findBlas({PTV2_BLAS: 'none'}), {blas: undefined, skipped: ['PTV2_BLAS=none']});
  const missing = findBlas({PTV2_BLAS: '/nonexistent/libopenblas.so.0'});
  assert.equal(missing.blas, undefined);
  assert.match(missing.skipped[0], /\/nonexistent\/libopenblas\.so\.0: cannot load/);
  const libm = ['/lib/x86_64-linux-gnu/libm.so.6', '/usr/lib/x86_64-linux-gnu/libm.so.6', '/lib/aarch64-linux-gnu/libm.so.6'].find((p) => fs.existsSync(p));
  if (libm) {
    const noGemm = findBlas({PTV2_BLAS: libm});
    assert.equal(noGemm.blas, undefined);
    assert.match(noGemm.skipped[0], /libm\.so\.6: has no cblas_sgemm/);
  }
});

test('with no usable BLAS, auto falls back to WASM with one line naming the package to install', () => {
  for (const PTV2_BLAS of ['none', '/nonexistent/libopenblas.so.0']) {
    const script = "const {initBackend} = await import('./src/compute/backend.ts'); const {info} = await initBackend('auto'); console.log('BACKEND', info.name);";
    const {PTV2_BACKEND: _, ...inherited} = process.env;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {encoding: 'utf8', env: {...inherited, PTV2_BLAS}});
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /BACKEND wasm/);
    const lines = run.stderr.split('\n').filter((l) => l.trim());
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /no BLAS library.*libopenblas0-pthread/);
  }
});
