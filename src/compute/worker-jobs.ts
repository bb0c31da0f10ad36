/**
 * The protocol of ptv2's compute worker threads (parallel-matmul.ts on WASM, helper-thread.ts on
 * blas): one job at a time, synchronous for the main thread. Control words in an Int32Array over
 * a SharedArrayBuffer: the main thread writes a job's inputs, bumps SEQ and notifies; the worker
 * wakes, first reads any messages queued on its port (data it must know before the job), runs the
 * job and stores its number in DONE; the main thread waits on DONE (Atomics.wait). STATE says
 * whether the worker is up or failed. Words from FIRST_FREE_WORD on are the caller's.
 *
 * A process that exits while one of these workers is still starting waits (up to
 * EXIT_WAIT_MS, in its 'exit' event) until the worker is up or has failed. Node ends workers at
 * exit, and one ended while it loads a native addon (koffi, which the blas helper binds
 * cblas_sgemm with) aborts the whole process with `FATAL ERROR: ... napi_throw` instead of the
 * exit status the command chose: a short `ptv2 run` stopped by a signal exited with a crash.
 */
import {MessageChannel, receiveMessageOnPort, Worker, type MessagePort} from 'node:worker_threads';

const SEQ = 0;
const DONE = 1;
const STATE = 2;
export const FIRST_FREE_WORD = 3;
const STATE_READY = 1;
const STATE_FAILED = -1;
const JOB_TIMEOUT_MS = 120_000;
/** Longest an exiting process waits for workers still starting (a start takes well under 2 s). */
const EXIT_WAIT_MS = 15_000;

/** Control words of the workers started in this thread, for the wait at exit. */
const started: Int32Array[] = [];

/** At exit: blocks until no worker is still starting, or EXIT_WAIT_MS have passed. */
function waitForStartingWorkers(): void {
  const until = Date.now() + EXIT_WAIT_MS;
  for (const control of started) {
    for (let left = until - Date.now(); Atomics.load(control, STATE) === 0 && left > 0; left = until - Date.now()) {
      Atomics.wait(control, STATE, 0, left);
    }
  }
}

/**
 * Starts a worker that imports `moduleUrl` (through tsx when the main thread runs TypeScript) and
 * calls its export `entry` with the worker data: the caller's fields, and `port`, the worker's
 * end of a channel whose other end is returned (neither keeps the process alive).
 */
export function startWorker(moduleUrl: string, entry: string, data: {control: SharedArrayBuffer} & Record<string, unknown>): MessagePort {
  const {port1, port2} = new MessageChannel();
  const tsx = /\.[cm]?ts$/.test(moduleUrl) ? import.meta.resolve('tsx/esm/api') : undefined;
  const bootstrap = `
const {workerData} = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await (await import(workerData.moduleUrl))[${JSON.stringify(entry)}](workerData);
})().catch((error) => {
  const control = new Int32Array(workerData.control);
  Atomics.store(control, ${STATE}, ${STATE_FAILED});
  Atomics.notify(control, ${STATE});
  throw error;
});`;
  const control = new Int32Array(data.control);
  const worker = new Worker(bootstrap, {eval: true, workerData: {...data, port: port2, moduleUrl, tsx}, transferList: [port2]});
  worker.unref();
  port1.unref();
  const failed = () => Atomics.compareExchange(control, STATE, 0, STATE_FAILED);
  worker.on('error', failed);
  worker.on('exit', failed);
  if (started.push(control) === 1) process.once('exit', waitForStartingWorkers);
  return port1;
}

export function workerReady(control: Int32Array): boolean {
  return Atomics.load(control, STATE) === STATE_READY;
}

/** Main thread: hands job number `seq` (one more than the last) to the worker. */
export function postJob(control: Int32Array, seq: number): void {
  Atomics.store(control, SEQ, seq);
  Atomics.notify(control, SEQ);
}

/** Main thread: blocks until job `seq` is done; throws naming `worker` if it stops responding. */
export function awaitJob(control: Int32Array, seq: number, worker: string): void {
  while (Atomics.load(control, DONE) !== seq) {
    if (Atomics.wait(control, DONE, seq - 1, JOB_TIMEOUT_MS) === 'timed-out' || Atomics.load(control, STATE) === STATE_FAILED) {
      throw new Error(`the ${worker} stopped responding`);
    }
  }
}

/** Main thread: blocks until control[word] reaches `target`; throws naming `worker` if it stops responding. */
export function awaitCount(control: Int32Array, word: number, target: number, worker: string): void {
  const until = Date.now() + JOB_TIMEOUT_MS;
  for (let now = Atomics.load(control, word); now < target; now = Atomics.load(control, word)) {
    if (Atomics.load(control, STATE) === STATE_FAILED || Date.now() > until) throw new Error(`the ${worker} stopped responding`);
    Atomics.wait(control, word, now, 1000);
  }
}

/** Worker: says it is up, then runs jobs forever, reading queued port messages before each. */
export function serveJobs(control: Int32Array, port: MessagePort, onMessage: (message: unknown) => void, run: () => void): void {
  Atomics.store(control, STATE, STATE_READY);
  Atomics.notify(control, STATE);
  for (let seq = 0; ; ) {
    Atomics.wait(control, SEQ, seq);
    seq = Atomics.load(control, SEQ);
    for (let message = receiveMessageOnPort(port); message; message = receiveMessageOnPort(port)) onMessage(message.message);
    run();
    Atomics.store(control, DONE, seq);
    Atomics.notify(control, DONE);
  }
}
