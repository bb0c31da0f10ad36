/**
 * Chooses and initialises the tfjs compute backend, once per process.
 *
 * Order for `auto`: @tensorflow/tfjs-node-gpu → @tensorflow/tfjs-node → `blas` (the machine's
 * BLAS through FFI, blas.ts / blas-backend.ts, when a library loads) → WASM → pure-JS CPU.
 * The native packages are optional peer dependencies: they are loaded by dynamic import and a
 * missing one is normal. When no BLAS library loads, `auto` prints one line saying so and what to
 * install, then uses WASM. WASM is initialised offline from the .wasm files the package ships.
 * tfjs itself is imported lazily so that commands which compute nothing start fast.
 */
import {createRequire} from 'node:module';
import path from 'node:path';
import {UserError} from '../errors.js';
import {findBlas, installHint} from './blas.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'blas', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  /** What ptv2 records on a run: `tensorflow-gpu`, `tensorflow`, `blas (OpenBLAS 0.3.21, 2 threads)`, `wasm` or `cpu`. */
  name: string;
  /** tfjs's own backend name (`tensorflow`, `blas`, `wasm`, `cpu`). */
  tfName: string;
  /** On `blas`: the library it computes with. */
  blas?: {path: string; version: string; config: string; threads: number};
  /** Why this one: which candidates were tried and skipped. */
  notes: string[];
}

export type Tf = typeof import('@tensorflow/tfjs');

let active: {info: BackendInfo; tf: Tf} | undefined;

/** The tfjs module, loaded on first use. */
export async function loadTf(): Promise<Tf> {
  return import('@tensorflow/tfjs');
}

/** Where the backend choice comes from: explicit flag, then PTV2_BACKEND, then the config. */
export function resolveBackendChoice(flag?: string, configValue?: string): BackendChoice {
  const raw = flag ?? process.env.PTV2_BACKEND ?? configValue ?? 'auto';
  if (!(BACKEND_CHOICES as readonly string[]).includes(raw)) {
    const source = flag !== undefined ? '--backend' : process.env.PTV2_BACKEND !== undefined ? 'PTV2_BACKEND' : 'backend';
    throw new UserError(`unknown backend "${raw}"; expected one of ${BACKEND_CHOICES.join(', ')}`, {field: source});
  }
  return raw as BackendChoice;
}

async function tryNative(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}

async function initWasm(tf: Tf): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const distDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  wasm.setWasmPaths(path.join(distDir, 'dist') + path.sep);
  await tf.setBackend('wasm');
}

/**
 * Initialise the backend (idempotent within a process: the first choice wins, a different later
 * choice is an error because tfjs tensors cannot move between backends mid-experiment).
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<{info: BackendInfo; tf: Tf}> {
  if (active) {
    if (choice !== 'auto' && !active.info.name.startsWith(choice)) {
      throw new UserError(`backend ${active.info.name} is already active in this process; cannot switch to ${choice}`);
    }
    return active;
  }
  const tf = await loadTf();
  const notes: string[] = [];
  let name: string | undefined;

  if (choice === 'auto' || choice === 'tensorflow') {
    for (const [pkg, label] of [['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'], ['@tensorflow/tfjs-node', 'tensorflow']] as const) {
      if (await tryNative(pkg)) {
        await tf.setBackend('tensorflow');
        name = label;
        break;
      }
      notes.push(`${pkg} not installed`);
    }
    if (!name && choice === 'tensorflow') {
      throw new UserError('backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu', {}, [
        'npm install @tensorflow/tfjs-node (needs internet access to download libtensorflow)',
        'or use --backend wasm',
      ]);
    }
  }
  let blasInfo: BackendInfo['blas'];
  if (!name && (choice === 'auto' || choice === 'blas')) {
    const {blas, skipped} = findBlas();
    if (blas) {
      const {registerBlasBackend, BLAS_BACKEND} = await import('./blas-backend.js');
      registerBlasBackend(blas);
      await tf.setBackend(BLAS_BACKEND);
      name = `blas (${blas.version}, ${blas.threads} thread${blas.threads === 1 ? '' : 's'})`;
      blasInfo = {path: blas.path, version: blas.version, config: blas.config, threads: blas.threads};
      notes.push(`BLAS library ${blas.path}`);
    } else if (choice === 'blas') {
      throw new UserError(`backend "blas" needs a BLAS library with cblas_sgemm (${skipped.join('; ')})`, {}, [installHint(), 'or use --backend wasm']);
    } else {
      notes.push(`no BLAS library (${skipped.join('; ')})`);
      process.stderr.write(`ptv2: no BLAS library found, computing on WASM (several times slower): ${installHint()}\n`);
    }
  }
  if (!name && (choice === 'auto' || choice === 'wasm')) {
    try {
      await initWasm(tf);
      name = 'wasm';
    } catch (error) {
      if (choice === 'wasm') throw new UserError(`the WASM backend failed to initialise: ${(error as Error).message}`);
      notes.push(`wasm failed: ${(error as Error).message}`);
    }
  }
  if (!name) {
    await tf.setBackend('cpu');
    name = 'cpu';
  }
  await tf.ready();
  active = {info: {name, tfName: tf.getBackend(), notes, ...(blasInfo ? {blas: blasInfo} : {})}, tf};
  return active;
}

/** The active backend, for code that runs after initBackend (model, trainer). */
export function activeBackend(): BackendInfo | undefined {
  return active?.info;
}
