/**
 * The compute workers' start and the process's exit (worker-jobs.ts), in real child processes:
 * a process that exits while a worker is still starting waits until the worker is up, so Node
 * never ends a worker in the middle of loading a native addon (which aborts the process with
 * a fatal error instead of its exit status); and the blas backend's helper thread is started by
 * the blas backend alone, never by a kernel that other backends share (AdamW on WASM or CPU).
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {requireBlas} from '../helpers/blas.js';
import {ROOT} from '../helpers/cli.js';

function runModule(dir: string, source: string, env: Record<string, string> = {}) {
  const main = path.join(dir, 'main.mts');
  fs.writeFileSync(main, source);
  const r = spawnSync(process.execPath, ['--import', 'tsx', main], {cwd: ROOT, encoding: 'utf8', env: {...process.env, ...env}, timeout: 120_000});
  return {code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr};
}

test('a process exiting while a worker starts waits until the worker is up, then exits with its own status', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-worker-exit-'));
  const marker = path.join(dir, 'up');
  // The worker takes 700 ms to start (as a loaded machine may take to import its modules), then
  // leaves a marker and serves jobs. The main thread exits at once with status 7.
  fs.writeFileSync(path.join(dir, 'slow-worker.mts'), `
import fs from 'node:fs';
import {serveJobs} from ${JSON.stringify(path.join(ROOT, 'src/compute/worker-jobs.ts'))};
export function serve(data: {control: SharedArrayBuffer; port: import('node:worker_threads').MessagePort}): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 700);
  fs.writeFileSync(${JSON.stringify(marker)}, 'up');
  serveJobs(new Int32Array(data.control), data.port, () => {}, () => {});
}
`);
  const started = Date.now();
  const r = runModule(dir, `
import {pathToFileURL} from 'node:url';
import {startWorker} from ${JSON.stringify(path.join(ROOT, 'src/compute/worker-jobs.ts'))};
startWorker(pathToFileURL(${JSON.stringify(path.join(dir, 'slow-worker.mts'))}).href, 'serve', {control: new SharedArrayBuffer(64)});
process.exit(7);
`);
  assert.equal(r.code, 7, r.stderr);
  assert.doesNotMatch(r.stderr, /FATAL/);
  assert.ok(fs.existsSync(marker), 'the worker was up before the process ended');
  assert.ok(Date.now() - started < 60_000);
});

test('AdamW on WASM and CPU does not start the blas helper thread; the blas backend does', {timeout: 120_000}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-helper-start-'));
  const source = (backend: string) => `
import * as tf from ${JSON.stringify(import.meta.resolve('@tensorflow/tfjs'))};
import {initBackend} from ${JSON.stringify(path.join(ROOT, 'src/compute/backend.ts'))};
import {helperWanted, runningHelper} from ${JSON.stringify(path.join(ROOT, 'src/compute/helper-thread.ts'))};
import {AdamW} from ${JSON.stringify(path.join(ROOT, 'src/train/optimizer.ts'))};
await initBackend(${JSON.stringify(backend)});
const p = tf.variable(tf.randomNormal([512, 512]), true, 'w.weight');
const opt = new AdamW([p], {weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8});
for (let i = 0; i < 2; i++) opt.apply([tf.onesLike(p)], 0.01);
process.stdout.write(JSON.stringify({backend: tf.getBackend(), wanted: helperWanted(), running: runningHelper() !== null}));
`;
  for (const backend of ['wasm', 'cpu']) {
    const r = runModule(dir, source(backend), {PTV2_THREADS: '2'});
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {backend, wanted: true, running: false});
  }
  if (requireBlas().blas) {
    const r = runModule(dir, source('blas'), {PTV2_THREADS: '2'});
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {backend: 'blas', wanted: true, running: true});
  }
});
