/**
 * Masked-language-model pretraining pieces for BERT and RoBERTa: the masking of a batch, the MLM
 * head and a trainable encoder with that head on top, whose tensors come back out under the names
 * transformers' `BertForMaskedLM` / `RobertaForMaskedLM` use.
 *
 * - Masking follows Devlin et al. 2019 (§3.1, App. A.1) and google-research/bert
 *   `create_pretraining_data.py`: 15% of each sequence's real tokens are predicted, never
 *   [CLS]/[SEP]/[PAD]; of those 80% become [MASK], 10% a random token, 10% stay. BERT draws the
 *   80/10/10 choice per position; here each batch gets those shares exactly (rounded), the same
 *   expectation with counts a test can check by hand.
 * - The head is HF `BertLMPredictionHead`: dense → activation (`hidden_act`) → LayerNorm, then a
 *   decoder tied to the word embeddings plus an output bias (`cls.predictions.bias`). RoBERTa's
 *   `RobertaLMHead` computes the same (dense → gelu → layer_norm → tied decoder + bias) under
 *   `lm_head.dense`, `lm_head.layer_norm`, `lm_head.bias`.
 * - The loss is the cross-entropy over the predicted positions only (HF's labels of -100 elsewhere).
 *
 * Only the predicted positions' hidden states reach the head, so the vocabulary-sized matmul runs
 * on ~15% of the tokens. They are picked by a gather whose gradient is a host-side scatter, for the
 * reason layers.ts gives (the WASM backend has no UnsortedSegmentSum).
 */
import * as tf from '@tensorflow/tfjs';
import type {EncoderConfig} from './checkpoint.js';
import {Encoder, type EncoderBatch, type EncoderWeights} from './encoder.js';
import {crossEntropy} from './heads.js';
import {ACTIVATIONS, layerNorm, linear, type Linear} from './layers.js';
import type {NamedTensor} from './safetensors.js';
import {deriveSeed, mulberry32, normalArray, type Rng} from '../random.js';

export interface MaskingSpec {
  maskId: number;
  /** Tokens never predicted: [CLS], [SEP], [PAD] (and [MASK] itself). */
  specialIds: ReadonlySet<number>;
  /** Tokens a "random token" replacement is drawn from: the vocabulary's ordinary tokens. */
  randomIds: Int32Array;
  /** Share of each sequence's real tokens that is predicted (BERT: 0.15). */
  rate: number;
}

/** BERT's shares of the predicted tokens: replaced by [MASK], by a random token; the rest stay. */
export const MASK_SHARE = 0.8;
export const RANDOM_SHARE = 0.1;

export interface MaskedBatch extends EncoderBatch {
  /** Flat indices (b·seqLen + s) of the predicted positions, ascending. */
  positions: Int32Array;
  /** The original token at each predicted position. */
  targets: Int32Array;
}

/** `k` distinct items of `items`, by a partial Fisher–Yates shuffle. */
function sampleDistinct(items: number[], k: number, rng: Rng): number[] {
  const pool = items.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k);
}

/**
 * Chooses the positions to predict and corrupts the input ids (a copy): per sequence
 * max(1, round(rate · n)) of its n candidate tokens, then over the whole batch round(80%) of the
 * chosen become [MASK], round(10%) a random token, the rest keep their token.
 */
export function maskBatch(batch: EncoderBatch, spec: MaskingSpec, rng: Rng): MaskedBatch {
  const {batch: rows, seqLen, inputIds, attentionMask} = batch;
  const chosen: number[] = [];
  for (let b = 0; b < rows; b++) {
    const candidates: number[] = [];
    for (let s = 0; s < seqLen; s++) {
      const i = b * seqLen + s;
      if (attentionMask[i] > 0 && !spec.specialIds.has(inputIds[i])) candidates.push(i);
    }
    if (candidates.length === 0) continue;
    const k = Math.max(1, Math.round(candidates.length * spec.rate));
    chosen.push(...sampleDistinct(candidates, k, rng).sort((x, y) => x - y));
  }
  const masked = Math.round(chosen.length * MASK_SHARE);
  const randomised = Math.round(chosen.length * RANDOM_SHARE);
  const order = sampleDistinct(chosen.map((_, i) => i), chosen.length, rng);
  const corrupted = inputIds.slice();
  order.forEach((c, rank) => {
    const i = chosen[c];
    if (rank < masked) corrupted[i] = spec.maskId;
    else if (rank < masked + randomised) corrupted[i] = spec.randomIds[Math.floor(rng() * spec.randomIds.length)];
  });
  return {
    ...batch,
    inputIds: corrupted,
    positions: Int32Array.from(chosen),
    targets: Int32Array.from(chosen, (i) => inputIds[i]),
  };
}

/** Rows `positions` of x [T, h] → [M, h]; the gradient is scattered back on the host (see header). */
export function selectRows(x: tf.Tensor2D, positions: Int32Array): tf.Tensor2D {
  const [rows, width] = x.shape;
  const index = tf.tensor1d(positions, 'int32');
  const select = tf.customGrad(((input: tf.Tensor2D) => ({
    value: tf.gather(input, index),
    gradFunc: (dy: tf.Tensor2D) => {
      const upstream = dy.dataSync();
      const grad = new Float32Array(rows * width);
      positions.forEach((row, i) => grad.set(upstream.subarray(i * width, (i + 1) * width), row * width));
      return tf.tensor2d(grad, [rows, width]);
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return select(x) as tf.Tensor2D;
}

/** transformers' names of the head's tensors, by model type (the tied decoder is not stored). */
const HEAD_NAMES = new Map([
  ['bert', {prefix: 'cls.predictions.', dense: 'transform.dense', norm: 'transform.LayerNorm', bias: 'bias', architecture: 'BertForMaskedLM'}],
  ['roberta', {prefix: 'lm_head.', dense: 'dense', norm: 'layer_norm', bias: 'bias', architecture: 'RobertaForMaskedLM'}],
]);

/** The transformers class an MLM of this model type is saved as; undefined where ptv2 cannot pretrain one. */
export function maskedLmArchitecture(modelType: string): string | undefined {
  return HEAD_NAMES.get(modelType)?.architecture;
}

function headNames(config: EncoderConfig) {
  const names = HEAD_NAMES.get(config.modelType);
  if (!names) throw new Error(`MLM pretraining is for ${[...HEAD_NAMES.keys()].join(' and ')}; got a ${config.modelType} encoder`);
  return names;
}

let nextId = 0;

/** BERT's MLM head; the decoder matrix is the encoder's word embedding table, passed to `logits`. */
export class MlmHead {
  readonly variables: tf.Variable[];
  private readonly dense: Linear;
  private readonly norm: [tf.Variable, tf.Variable];
  private readonly bias: tf.Variable;

  /** Initialised as HF's `_init_weights`: dense ~ N(0, initializer_range), LayerNorm 1/0, biases 0. */
  constructor(private readonly config: EncoderConfig, seed: number) {
    const h = config.hiddenSize;
    const range = typeof config.raw.initializer_range === 'number' ? config.raw.initializer_range : 0.02;
    const id = nextId++;
    const names = headNames(config);
    // tidy frees each initial value; the variable keeps its own reference to the data.
    const variable = (part: string, initial: () => tf.Tensor) => tf.tidy(() => tf.variable(initial(), true, `${names.prefix}${part}#${id}`));
    this.dense = {
      w: variable(`${names.dense}.weight`, () => tf.tensor2d(normalArray(mulberry32(seed), h * h, range), [h, h])) as tf.Variable<tf.Rank.R2>,
      b: variable(`${names.dense}.bias`, () => tf.zeros([h])) as tf.Variable<tf.Rank.R1>,
    };
    this.norm = [variable(`${names.norm}.weight`, () => tf.ones([h])), variable(`${names.norm}.bias`, () => tf.zeros([h]))];
    this.bias = variable(names.bias, () => tf.zeros([config.vocabSize]));
    this.variables = [this.dense.w as tf.Variable, this.dense.b as tf.Variable, ...this.norm, this.bias];
  }

  /** hidden [M, h] → logits [M, vocab]; `wordEmbeddings` [vocab, h] is the tied decoder. Call inside tf.tidy. */
  logits(hidden: tf.Tensor2D, wordEmbeddings: tf.Tensor2D): tf.Tensor2D {
    const act = ACTIVATIONS.get(this.config.hiddenAct)!;
    const transformed = layerNorm(act(linear(this.dense, hidden)), this.norm[0] as tf.Tensor1D, this.norm[1] as tf.Tensor1D, this.config.layerNormEps);
    return linear({w: tf.transpose(wordEmbeddings), b: this.bias as tf.Tensor1D}, transformed);
  }

  /** The head's tensors under BertForMaskedLM's or RobertaForMaskedLM's names (Linear weights as [out, in]). */
  tensors(): Map<string, NamedTensor> {
    const names = headNames(this.config);
    const named = (name: string, t: tf.Tensor): [string, NamedTensor] => [`${names.prefix}${name}`, {shape: t.shape, data: Float32Array.from(t.dataSync())}];
    const weight = tf.transpose(this.dense.w);
    const entries = new Map([
      named(`${names.dense}.weight`, weight),
      named(`${names.dense}.bias`, this.dense.b),
      named(`${names.norm}.weight`, this.norm[0]),
      named(`${names.norm}.bias`, this.norm[1]),
      named(names.bias, this.bias),
    ]);
    weight.dispose();
    return entries;
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** Sum of the masked positions' cross-entropy, how many of them the argmax gets right, and their count. */
export interface MlmScore {
  lossSum: number;
  correct: number;
  count: number;
}

/**
 * A trainable encoder with the MLM head: what BertForMaskedLM is. The encoder copies the
 * checkpoint's weights into variables (as `ft` does); `tensors()` reads them back out.
 */
export class MaskedLanguageModel {
  readonly encoder: Encoder;
  readonly head: MlmHead;
  readonly variables: tf.Variable[];
  private readonly wordEmbeddings: tf.Variable;

  constructor(weights: EncoderWeights, opts: {seed: number; dropout?: number}) {
    headNames(weights.config);
    this.encoder = new Encoder(weights, {trainable: true, seed: opts.seed, hiddenDropout: opts.dropout});
    this.head = new MlmHead(weights.config, deriveSeed(opts.seed, 'mlm-head'));
    const word = this.encoder.variables.find((v) => this.encoder.sources.get(v)?.name === 'embeddings.word_embeddings.weight');
    if (!word) throw new Error('the encoder has no word embedding variable');
    this.wordEmbeddings = word;
    this.variables = [...this.encoder.variables, ...this.head.variables];
  }

  /** Logits [M, vocab] at the batch's predicted positions; call inside tf.tidy. */
  logits(batch: MaskedBatch, training: boolean): tf.Tensor2D {
    const sequence = this.encoder.forward(batch, {}, training);
    return this.head.logits(selectRows(sequence, batch.positions), this.wordEmbeddings as tf.Tensor2D);
  }

  /** Mean cross-entropy over the predicted positions; call inside tf.tidy. */
  loss(batch: MaskedBatch, training: boolean): tf.Scalar {
    return crossEntropy(this.logits(batch, training), batch.targets);
  }

  /** Evaluation of one batch (no dropout). */
  score(batch: MaskedBatch): MlmScore {
    if (batch.positions.length === 0) return {lossSum: 0, correct: 0, count: 0};
    return tf.tidy(() => {
      const logits = this.logits(batch, false);
      const loss = crossEntropy(logits, batch.targets).dataSync()[0];
      const predicted = tf.argMax(logits, 1).dataSync();
      const correct = batch.targets.reduce((n, target, i) => n + (predicted[i] === target ? 1 : 0), 0);
      return {lossSum: loss * batch.targets.length, correct, count: batch.targets.length};
    });
  }

  /** Every tensor as transformers' *ForMaskedLM saves it: `bert.*` / `roberta.*` encoder tensors, then the head's. */
  tensors(): Map<string, NamedTensor> {
    return new Map([...encoderTensors(this.encoder), ...this.head.tensors()]);
  }

  dispose(): void {
    this.encoder.dispose();
    this.head.dispose();
  }
}

/** The fused query/key/value linear of a layer is stored by HF as three. */
const FUSED_QKV = /^(encoder\.layer\.\d+)\.qkv$/;

/**
 * A trainable encoder's variables under HF tensor names with the model prefix: linears back to
 * [out, in], each layer's fused QKV split into query, key and value.
 */
export function encoderTensors(encoder: Encoder): Map<string, NamedTensor> {
  if (!encoder.trainable) throw new Error('only a trainable encoder owns its weights');
  const prefix = encoder.config.modelType;
  const out = new Map<string, NamedTensor>();
  const put = (name: string, t: tf.Tensor) => {
    out.set(`${prefix}.${name}`, {shape: t.shape, data: Float32Array.from(t.dataSync())});
  };
  for (const v of encoder.variables) {
    const {name, linear: part} = encoder.sources.get(v)!;
    if (!part) {
      put(name, v);
      continue;
    }
    tf.tidy(() => {
      // Weights are kept as [in, out]; HF stores [out, in]. The bias splits the same way along out.
      const stored = part === 'weight' ? tf.transpose(v) : v;
      const fused = FUSED_QKV.exec(name);
      if (!fused) {
        put(`${name}.${part}`, stored);
        return;
      }
      const [query, key, value] = tf.split(stored, 3, 0);
      const self = `${fused[1]}.attention.self`;
      put(`${self}.query.${part}`, query);
      put(`${self}.key.${part}`, key);
      put(`${self}.value.${part}`, value);
    });
  }
  return out;
}
