/**
 * Will a training step fit? ptv2 estimates the memory a job needs before any run starts and
 * refuses, naming the backend and what to change, when it would not fit — instead of aborting
 * (WASM) or swapping the machine to a halt (`blas`) mid-run. Takes plain sizes, no model types.
 *
 * Per backend (`estimateStepBytes`):
 * - `wasm`: the WASM heap, capped at 4 GiB and never shrinking. Frozen linear weights 4× (W, the
 *   checkpoint's Wᵀ, XNNPACK's packed copy of each); trainable ones (ft) 7× (variable, packed
 *   copy, transposes, two Adam moments, gradient, clipped gradient); embedding tables 1× (ft: 5×);
 *   activations kept for backward ≈ 12·h + 4·ffn + 3·heads·(seq + P) floats per token and layer;
 *   10% slack. Calibrated on BERT-base shape, pt2, batch 8, seq 128, P 16: estimate 3.0 GB,
 *   measured heap 2.95 GB.
 * - `blas` (and the pure-JS `cpu` backend: the same JS arrays): the process's resident memory
 *   against the machine's RAM. Weights 1× for frozen ones (the checkpoint's [out, in] tensor is
 *   multiplied in place); ft holds per parameter the checkpoint copy, the variable, two Adam
 *   moments (updated in place from the first step) and the gradient: 5×. The same activations
 *   as WASM (the output pool, buffer-pool.ts, keeps their arrays between steps), 5% for JS
 *   garbage not yet collected, plus the Node/tfjs/OpenBLAS baseline. Measured peak RSS (npm run
 *   bench on blas, one process per point, median of two rounds, MiB):
 *     BERT-base shape, batch 8, seq 128: pt2 (P 16) 1886, estimate 2032; ft 3564, estimate 3755
 *     BERT-large shape, batch 4, seq 128: pt2 (P 16) 3325, estimate 3372; ft 8246, estimate 8699
 *   These are after the residual LayerNorm kernel (one [tokens, h] tensor fewer per residual)
 *   and GELU's kept slope (one [tokens, ffn] more per layer): the peaks fell 2–10% from the
 *   previous points (2085, 3719, 3614, 8433), the estimate is unchanged and stays above them.
 *   The refusal leaves 15% of RAM for the system and other processes.
 * - other backends (tfjs-node): not estimated.
 */
import os from 'node:os';
import {UserError} from '../errors.js';
import {findBlas} from './blas.js';

export const WASM_HEAP_LIMIT = 4 * 1024 ** 3;
/** Refuse above this share of the cap: allocation patterns fragment the heap before it is full. */
export const WASM_HEAP_USABLE = 0.9;
/** Refuse above this share of the machine's RAM on the JS-memory backends. */
export const RAM_USABLE = 0.85;
/** Node, tfjs, koffi and the BLAS library's buffers before any tensor (measured: ~280 MB). */
const JS_BASELINE_BYTES = 280 * 1024 ** 2;

/** The encoder sizes the estimate needs (an EncoderConfig has them; compute knows no model types). */
export interface EncoderSizes {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize: number;
}

export interface StepShape {
  method: string;
  batch: number;
  seqLen: number;
  promptLength: number;
}

/** Backends whose memory ptv2 estimates, by tfjs backend name. */
export type MemoryBackend = 'wasm' | 'blas' | 'cpu';

function parameterFloats(cfg: EncoderSizes): {linear: number; embedding: number} {
  const h = cfg.hiddenSize;
  return {
    linear: cfg.numLayers * (4 * h * h + 2 * h * cfg.intermediateSize) + h * h,
    embedding: (cfg.vocabSize + cfg.maxPositions + cfg.typeVocabSize) * h,
  };
}

/** Floats kept for the backward pass: per token and layer ≈ 12·h + 4·ffn + 3·heads·(seq + P). */
function activationFloats(cfg: EncoderSizes, step: StepShape): number {
  const prompt = step.method === 'ft' ? 0 : step.promptLength;
  const perTokenLayer = 12 * cfg.hiddenSize + 4 * cfg.intermediateSize + 3 * cfg.numHeads * (step.seqLen + prompt);
  return step.batch * step.seqLen * cfg.numLayers * perTokenLayer;
}

export function estimateWasmHeapBytes(cfg: EncoderSizes, step: StepShape): number {
  const {linear, embedding} = parameterFloats(cfg);
  const trainsEncoder = step.method === 'ft';
  const weightFloats = linear * (trainsEncoder ? 7 : 4) + embedding * (trainsEncoder ? 5 : 1);
  return 4 * (weightFloats + activationFloats(cfg, step)) * 1.1;
}

/** Peak resident memory of a step on `blas` (or `cpu`): see the header for the measured points. */
export function estimateJsMemoryBytes(cfg: EncoderSizes, step: StepShape): number {
  const {linear, embedding} = parameterFloats(cfg);
  const weightFloats = (linear + embedding) * (step.method === 'ft' ? 5 : 1);
  return JS_BASELINE_BYTES + 4 * (weightFloats + activationFloats(cfg, step)) * 1.05;
}

export function estimateStepBytes(backend: MemoryBackend, cfg: EncoderSizes, step: StepShape): number {
  return backend === 'wasm' ? estimateWasmHeapBytes(cfg, step) : estimateJsMemoryBytes(cfg, step);
}

const gib = (n: number) => (n / 1024 ** 3).toFixed(1);

/**
 * Throws a UserError when a step of this shape would not fit the backend (`tfBackend`: tfjs's
 * backend name; backends not listed in MemoryBackend are not checked). `totalMemory` is the
 * machine's RAM (os.totalmem()).
 */
export function checkStepFits(tfBackend: string, cfg: EncoderSizes, step: StepShape, where: {file?: string} = {}, totalMemory = os.totalmem()): void {
  const what = `a ${step.method} step (batch ${step.batch}, ${step.seqLen} tokens, ${cfg.numLayers} layers × ${cfg.hiddenSize})`;
  if (tfBackend === 'wasm') {
    const need = estimateWasmHeapBytes(cfg, step);
    if (need <= WASM_HEAP_LIMIT * WASM_HEAP_USABLE) return;
    throw new UserError(
      `${what} needs about ${gib(need)} GiB of WASM heap; the wasm backend is capped at ${gib(WASM_HEAP_LIMIT)} GiB and would abort mid-run`,
      {...where, field: 'train.batch_size'},
      ['lower train.batch_size or model.max_length', 'or use the blas backend (install libopenblas0-pthread; no heap cap), or @tensorflow/tfjs-node with --backend tensorflow'],
    );
  }
  if (tfBackend !== 'blas' && tfBackend !== 'cpu') return;
  const need = estimateJsMemoryBytes(cfg, step);
  if (need <= totalMemory * RAM_USABLE) return;
  throw new UserError(
    `${what} needs about ${gib(need)} GiB of memory on the ${tfBackend} backend; this machine has ${gib(totalMemory)} GiB`,
    {...where, field: 'train.batch_size'},
    ['lower train.batch_size or model.max_length', 'or use a deep-prompt method (pt2) instead of ft: it keeps no gradients or Adam moments for the encoder'],
  );
}

/** Throws a UserError when a step of this shape would not fit the WASM heap. */
export function checkWasmFits(cfg: EncoderSizes, step: StepShape, where: {file?: string} = {}): void {
  checkStepFits('wasm', cfg, step, where);
}

/**
 * The tfjs backend a choice will run on, as far as it can be told before the backend starts:
 * `auto` is blas when a BLAS library loads (else WASM); `tensorflow` has no ceiling ptv2 checks.
 */
export function likelyTfBackend(choice: string): string {
  if (choice !== 'auto') return choice;
  return findBlas().blas ? 'blas' : 'wasm';
}
