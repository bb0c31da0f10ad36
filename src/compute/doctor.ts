/**
 * What `ptv2 run` would compute with, for `ptv2 doctor`: the backend `auto` (or the given choice)
 * picks, the BLAS library (path, version/config string, threads), the CPU's SIMD and estimated
 * fp32 peak, whether the native tfjs packages are installed, and a short GEMM self-test on the
 * chosen backend measured against that peak.
 */
import {createRequire} from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import {findBlas, threadBudget} from './blas.js';
import {findDnnl} from './dnnl.js';
import {helperStarted} from './helper-thread.js';
import {initBackend, type BackendChoice} from './backend.js';

export interface CpuInfo {
  model: string;
  cores: number;
  mhz: number;
  /** The widest fp32 SIMD the flags show: `avx512`, `avx2+fma`, `avx`, `neon` or `sse`. */
  simd: string;
  /** fp32 FLOPs per cycle per core assumed for that SIMD (two FMA pipes). */
  flopsPerCycle: number;
  /** cores × flops/cycle × MHz. */
  peakGflops: number;
}

export interface GemmResult {
  shape: string;
  ms: number;
  gflops: number;
  /** Share of the CPU's estimated peak. */
  ofPeak: number;
}

export interface DoctorReport {
  backend: string;
  tfBackend: string;
  blas?: {path: string; vendor: string; version: string; config: string; threads: number};
  /** Why BLAS libraries were skipped (when none loaded, or before the one that did). */
  blasSkipped: string[];
  /** oneDNN's version when it loads (the blas backend's GELU outside training, LayerNorm and attention's softmax; dnnl.ts), else null. */
  dnnl: string | null;
  notes: string[];
  /** Threads computing: the BLAS library's on `blas`; WASM's main thread plus its matmul helper. */
  threads: number;
  cpu: CpuInfo;
  native: Record<string, boolean>;
  gemm: GemmResult[];
}

/** SIMD and fp32 FLOPs per cycle per core from the CPU flags (/proc/cpuinfo on Linux). */
export function simdOf(flags: Set<string>, arch = process.arch): {simd: string; flopsPerCycle: number} {
  if (flags.has('avx512f')) return {simd: 'avx512', flopsPerCycle: 32};
  if (flags.has('avx2') && flags.has('fma')) return {simd: 'avx2+fma', flopsPerCycle: 32};
  if (flags.has('avx')) return {simd: 'avx', flopsPerCycle: 16};
  if (arch === 'arm64') return {simd: 'neon', flopsPerCycle: 16};
  return {simd: 'sse', flopsPerCycle: 8};
}

/** Parses /proc/cpuinfo text (first processor's flags and MHz); other platforms use os.cpus(). */
export function cpuInfo(cpuinfo = readCpuinfo()): CpuInfo {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim();
  const cpus = os.cpus();
  const flags = new Set((field('flags') ?? field('Features') ?? '').split(/\s+/));
  const mhz = Number(field('cpu MHz')) || cpus[0]?.speed || 0;
  const cores = os.availableParallelism();
  const {simd, flopsPerCycle} = simdOf(flags);
  return {model: field('model name') ?? cpus[0]?.model ?? 'unknown', cores, mhz: Math.round(mhz), simd, flopsPerCycle, peakGflops: (cores * flopsPerCycle * mhz) / 1000};
}

function readCpuinfo(): string {
  try {
    return fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** GEMM shapes of the self-test: a square one and the BERT-base FFN shape (tokens × hidden × ffn). */
export const SELF_TEST_SHAPES: [number, number, number][] = [
  [1024, 1024, 1024],
  [1024, 768, 3072],
];

/** The backend `run` would use, and its GEMM speed (`gemm: false` skips the self-test). */
export async function diagnose(opts: {backend?: BackendChoice; gemm?: boolean; repeats?: number} = {}): Promise<DoctorReport> {
  const {info, tf} = await initBackend(opts.backend ?? 'auto');
  const {blas, skipped} = findBlas();
  const cpu = cpuInfo();
  const gemm: GemmResult[] = [];
  // The pure-JS CPU backend would take seconds per product: no self-test there.
  if (opts.gemm !== false && info.tfName !== 'cpu') {
    // blas starts its helper thread on first use; its start-up would otherwise share the cores
    // with the timed products (measured: half the GFLOP/s).
    if (info.tfName === 'blas') await helperStarted();
    for (const [m, k, n] of SELF_TEST_SHAPES) {
      const a = tf.randomUniform([m, k]);
      const b = tf.randomUniform([k, n]);
      // Not tf.tidy(() => ….dataSync()): tidy walks a returned typed array element by element.
      const product = () => {
        const c = tf.matMul(a, b);
        c.dataSync();
        c.dispose();
      };
      product();
      const times: number[] = [];
      for (let i = 0; i < (opts.repeats ?? 5); i++) {
        const t0 = performance.now();
        product();
        times.push(performance.now() - t0);
      }
      tf.dispose([a, b]);
      const ms = Math.min(...times);
      const gflops = (2 * m * k * n) / ms / 1e6;
      gemm.push({shape: `${m}×${k}×${n}`, ms, gflops, ofPeak: cpu.peakGflops > 0 ? gflops / cpu.peakGflops : NaN});
    }
  }
  return {
    backend: info.name,
    tfBackend: info.tfName,
    ...(blas ? {blas: {path: blas.path, vendor: blas.vendor, version: blas.version, config: blas.config, threads: blas.threads}} : {}),
    blasSkipped: skipped,
    dnnl: findDnnl()?.version ?? null,
    notes: info.notes,
    threads: info.blas?.threads ?? (info.tfName === 'wasm' ? Math.min(2, threadBudget()) : info.tfName === 'cpu' ? 1 : threadBudget()),
    cpu,
    native: Object.fromEntries(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].map((p) => [p, installed(p)])),
    gemm,
  };
}

/** The report as text lines. */
export function formatDoctor(r: DoctorReport): string[] {
  const lines = [`backend: ${r.backend}`];
  if (r.blas) lines.push(`BLAS: ${r.blas.path} (${r.blas.vendor}, ${r.blas.threads} thread${r.blas.threads === 1 ? '' : 's'})`, `BLAS config: ${r.blas.config}`);
  else lines.push(`BLAS: none (${r.blasSkipped.join('; ')})`);
  const dnnlOff = process.env.PTV2_DNNL?.trim() === 'none' ? 'PTV2_DNNL=none' : 'not found; Debian/Ubuntu: apt-get install libdnnl2';
  lines.push(r.dnnl ? `oneDNN: ${r.dnnl} (blas: GELU outside training, LayerNorm, attention's softmax)` : `oneDNN: none (${dnnlOff})`);
  lines.push(
    `CPU: ${r.cpu.model}, ${r.cpu.cores} cores at ${r.cpu.mhz} MHz, ${r.cpu.simd} (${r.cpu.flopsPerCycle} fp32 flop/cycle): peak ≈ ${r.cpu.peakGflops.toFixed(0)} GFLOP/s`,
    `threads: ${r.threads} (PTV2_THREADS=${process.env.PTV2_THREADS ?? 'unset'})`,
    ...Object.entries(r.native).map(([pkg, present]) => `${pkg}: ${present ? 'installed' : 'not installed'}`),
  );
  for (const g of r.gemm) lines.push(`GEMM ${g.shape}: ${g.ms.toFixed(1)} ms, ${g.gflops.toFixed(1)} GFLOP/s (${(100 * g.ofPeak).toFixed(0)}% of peak)`);
  return lines;
}
