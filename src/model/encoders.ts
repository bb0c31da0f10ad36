/** The encoder implementation of each model type: a table, so adding an architecture adds a row. */
import type {ModelType} from './checkpoint.js';
import {DebertaEncoder} from './deberta.js';
import {Encoder, type EncoderWeights, type TextEncoder} from './encoder.js';

type EncoderOptions = ConstructorParameters<typeof Encoder>[1];

const ENCODERS = new Map<ModelType, (weights: EncoderWeights, opts: EncoderOptions) => TextEncoder>([
  ['bert', (weights, opts) => new Encoder(weights, opts)],
  ['roberta', (weights, opts) => new Encoder(weights, opts)],
  ['deberta-v2', (weights, opts) => new DebertaEncoder(weights, opts)],
]);

/** The frozen (shared tensors) or trainable encoder for the checkpoint's model type. */
export function createEncoder(weights: EncoderWeights, opts: EncoderOptions): TextEncoder {
  const build = ENCODERS.get(weights.config.modelType);
  if (!build) throw new Error(`no encoder for model type ${weights.config.modelType}`);
  return build(weights, opts);
}
