/**
 * Will a training step fit the WASM backend's heap? WASM linear memory is capped at 4 GiB and
 * never shrinks, and a step that outgrows it aborts the process mid-run. So ptv2 estimates the
 * heap a job needs before any run starts and refuses, naming the backend, when it would not fit.
 *
 * The estimate follows what the WASM path keeps (bench/README.md, "Memory"):
 * - frozen linear weights 4× (W, the checkpoint's Wᵀ, XNNPACK's packed copy of each); trainable
 *   ones (ft) 7× (variable, packed copy, transposes, two Adam moments, gradient, clipped gradient);
 *   embedding tables 1× (ft: 5×);
 * - activations kept for backward per token and layer ≈ 12·h + 4·ffn + 3·heads·(seq + P) floats;
 * - 10% slack. Calibrated on BERT-base shape, pt2, batch 8, seq 128, P 16: estimate 3.0 GB,
 *   measured heap 2.95 GB.
 */
import {UserError} from '../errors.js';

export const WASM_HEAP_LIMIT = 4 * 1024 ** 3;
/** Refuse above this share of the cap: allocation patterns fragment the heap before it is full. */
export const WASM_HEAP_USABLE = 0.9;

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

export function estimateWasmHeapBytes(cfg: EncoderSizes, step: StepShape): number {
  const h = cfg.hiddenSize;
  const ffn = cfg.intermediateSize;
  const linearParams = cfg.numLayers * (4 * h * h + 2 * h * ffn) + h * h;
  const embeddingParams = (cfg.vocabSize + cfg.maxPositions + cfg.typeVocabSize) * h;
  const trainsEncoder = step.method === 'ft';
  const weightFloats = linearParams * (trainsEncoder ? 7 : 4) + embeddingParams * (trainsEncoder ? 5 : 1);
  const prompt = step.method === 'ft' ? 0 : step.promptLength;
  const perTokenLayer = 12 * h + 4 * ffn + 3 * cfg.numHeads * (step.seqLen + prompt);
  const activationFloats = step.batch * step.seqLen * cfg.numLayers * perTokenLayer;
  return 4 * (weightFloats + activationFloats) * 1.1;
}

/** Throws a UserError when a step of this shape would not fit the WASM heap. */
export function checkWasmFits(cfg: EncoderSizes, step: StepShape, where: {file?: string} = {}): void {
  const need = estimateWasmHeapBytes(cfg, step);
  if (need <= WASM_HEAP_LIMIT * WASM_HEAP_USABLE) return;
  const gb = (n: number) => (n / 1024 ** 3).toFixed(1);
  throw new UserError(
    `a ${step.method} step (batch ${step.batch}, ${step.seqLen} tokens, ${cfg.numLayers} layers × ${cfg.hiddenSize}) needs about ${gb(need)} GiB of WASM heap; the wasm backend is capped at ${gb(WASM_HEAP_LIMIT)} GiB and would abort mid-run`,
    {...where, field: 'train.batch_size'},
    [
      'lower train.batch_size or model.max_length',
      'or install @tensorflow/tfjs-node and use --backend tensorflow (no heap cap)',
    ],
  );
}
