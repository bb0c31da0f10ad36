/**
 * `ptv2 doctor`: the CPU peak from /proc/cpuinfo flags, and the built CLI (`bin/run.js`) reporting
 * the backend, the BLAS library and a GEMM self-test, as text and as --json; with PTV2_BLAS=none
 * it reports WASM and why no BLAS loaded.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {cpuInfo, simdOf} from '../../src/compute/doctor.js';
import {requireBlas} from '../helpers/blas.js';
import {requireDnnl} from '../helpers/dnnl.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/run.js');
const {blas, skip} = requireBlas();
const {dnnl} = requireDnnl();

function doctor(args: string[], env: Record<string, string> = {}) {
  const {PTV2_BACKEND: _, ...inherited} = process.env;
  const r = spawnSync(process.execPath, [BIN, 'doctor', ...args], {encoding: 'utf8', env: {...inherited, ...env}, timeout: 120_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

test('SIMD and fp32 FLOPs per cycle from CPU flags', () => {
  const CASES = [
    {flags: 'fpu sse2 avx avx2 fma avx512f', simd: 'avx512', flops: 32},
    {flags: 'fpu sse2 avx avx2 fma', simd: 'avx2+fma', flops: 32},
    {flags: 'fpu sse2 avx avx2', simd: 'avx', flops: 16},
    {flags: 'fpu sse2', simd: 'sse', flops: 8},
  ];
  for (const c of CASES) assert.deepEqual(simdOf(new Set(c.flags.split(' ')), 'x64'), {simd: c.simd, flopsPerCycle: c.flops}, c.flags);
});

test('the peak is cores × flops per cycle × MHz from /proc/cpuinfo', () => {
  const info = cpuInfo('processor\t: 0\nmodel name\t: Test CPU\ncpu MHz\t\t: 3000.000\nflags\t\t: fpu avx avx2 fma\n');
  assert.equal(info.model, 'Test CPU');
  assert.equal(info.mhz, 3000);
  assert.equal(info.simd, 'avx2+fma');
  assert.ok(Math.abs(info.peakGflops - info.cores * 32 * 3) < 1e-9, `peak ${info.peakGflops} for ${info.cores} cores`);
});

test('ptv2 doctor --json reports the blas backend, the library and GEMM speed', {skip}, () => {
  const r = doctor(['--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.match(report.backend, /^blas \(OpenBLAS \d+\.\d+\.\d+, \d+ threads?\)$/);
  assert.equal(report.tfBackend, 'blas');
  assert.equal(report.blas.path, blas!.path);
  assert.match(report.blas.config, /^OpenBLAS \d/);
  if (dnnl) assert.equal(report.dnnl, dnnl.version);
  assert.equal(report.threads, blas!.threads);
  assert.deepEqual(Object.keys(report.native).sort(), ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']);
  assert.deepEqual(report.gemm.map((g: {shape: string}) => g.shape), ['1024×1024×1024', '1024×768×3072']);
  for (const g of report.gemm) {
    // GFLOP/s is the shape's FLOPs over the time; even a loaded 1-core machine does > 1 GFLOP/s on BLAS.
    const [m, k, n] = g.shape.split('×').map(Number);
    assert.ok(Math.abs(g.gflops - (2 * m * k * n) / g.ms / 1e6) < 1e-6 * g.gflops);
    assert.ok(g.gflops > 1, `${g.shape}: ${g.gflops} GFLOP/s`);
    assert.ok(g.ofPeak > 0 && g.ofPeak < 2, `${g.shape}: ${g.ofPeak} of peak`);
  }
});

test('ptv2 doctor prints the backend, library, threads and self-test lines', {skip}, () => {
  const r = doctor([], {PTV2_THREADS: '1'});
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^backend: blas \(OpenBLAS [\d.]+, 1 thread\)$/m);
  assert.match(r.stdout, /^BLAS config: OpenBLAS /m);
  assert.match(r.stdout, /^threads: 1 \(PTV2_THREADS=1\)$/m);
  assert.match(r.stdout, dnnl ? /^oneDNN: oneDNN 2\.\d+\.\d+ \(blas: GELU outside training, LayerNorm, attention's softmax\)$/m : /^oneDNN: none \(not found/m);
  assert.match(r.stdout, /^CPU: .* peak ≈ \d+ GFLOP\/s$/m);
  assert.match(r.stdout, /^GEMM 1024×768×3072: [\d.]+ ms, [\d.]+ GFLOP\/s \(\d+% of peak\)$/m);
});

test('PTV2_BLAS=none: doctor reports WASM and why no BLAS loaded', () => {
  const r = doctor(['--json', '--no-gemm'], {PTV2_BLAS: 'none', PTV2_DNNL: 'none'});
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.backend, 'wasm');
  assert.equal(report.dnnl, null);
  assert.equal(report.blas, undefined);
  assert.deepEqual(report.blasSkipped, ['PTV2_BLAS=none']);
  assert.deepEqual(report.gemm, []);
  assert.match(r.stderr, /no BLAS library found.*libopenblas0-pthread/);
});
