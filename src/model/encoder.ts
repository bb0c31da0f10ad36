/**
 * BERT / RoBERTa encoder in tfjs, following HF `modeling_bert` / `modeling_roberta` semantics:
 * word + position + token-type embeddings → LayerNorm → dropout, then L blocks of
 * self-attention (additive padding mask) → dense → dropout → residual LayerNorm → GELU FFN →
 * dense → dropout → residual LayerNorm, and the tanh pooler over the first token.
 *
 * Prompts enter in two places, so every method shares this one implementation:
 * - `inputPrompt` [P, h]: vectors prepended to the word embeddings (Lester et al. / P-tuning).
 * - `layerPrefix[i]` {key, value} [B, H, P, d]: keys/values prepended in layer i's attention
 *   (prefix tuning, P-tuning v2); the key mask is extended with ones for them.
 *
 * Activations are kept 2-D ([batch·seq, hidden]) between blocks; see layers.ts for why.
 */
import * as tf from '@tensorflow/tfjs';
import {modelPrefix, type Checkpoint, type EncoderConfig} from './checkpoint.js';
import type {NamedTensor} from './safetensors.js';
import {ACTIVATIONS, Dropout, embeddingLookup, layerNorm, layerStep, linear, makeLinear, residualLayerNorm, selfAttention, type Linear} from './layers.js';

export interface PrefixKV {
  /** [batch, heads, P, headDim] */
  key: tf.Tensor4D;
  value: tf.Tensor4D;
}

export interface PromptHooks {
  /** [P, hidden]: prepended to the word embeddings of every example. */
  inputPrompt?: tf.Tensor2D;
  /** Per layer (length numLayers): prefix keys/values, or null for a layer without a prompt. */
  layerPrefix?: (PrefixKV | null)[];
  /** Real tokens' positions start here (HF shifts them by the prefix length). */
  positionStart?: number;
}

/**
 * What a task model needs of an encoder; `Encoder` (BERT/RoBERTa) and `DebertaEncoder`
 * (deberta.ts) implement it, and encoders.ts picks one by model type.
 */
export interface TextEncoder {
  readonly config: EncoderConfig;
  readonly trainable: boolean;
  readonly hasPooler: boolean;
  readonly variables: tf.Variable[];
  readonly sources: Map<tf.Variable, {name: string; linear?: 'weight' | 'bias'}>;
  forward(input: EncoderBatch, hooks: PromptHooks, training: boolean): tf.Tensor2D;
  pool(first: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** A padded batch as flat row-major arrays. */
export interface EncoderBatch {
  batch: number;
  seqLen: number;
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Float32Array;
}

interface LayerParams {
  qkv: Linear;
  attnOut: Linear;
  attnNorm: [tf.Tensor1D, tf.Tensor1D];
  intermediate: Linear;
  output: Linear;
  outNorm: [tf.Tensor1D, tf.Tensor1D];
}

/**
 * The checkpoint's weights as tfjs tensors, created once per checkpoint and shared (frozen) by
 * every model built on it. Frozen linears are derived here once (fused QKV, transposed copies).
 */
export class EncoderWeights {
  readonly config: EncoderConfig;
  readonly prefix: string;
  readonly hasPooler: boolean;
  /** A head's stored `pooler.dense.*` (DebertaV2ForSequenceClassification's ContextPooler), to start a new one from. */
  readonly contextPooler?: {weight: NamedTensor; bias: NamedTensor};
  private readonly tensors = new Map<string, tf.Tensor>();
  private readonly frozenLinears = new Map<string, Linear>();

  constructor(checkpoint: Checkpoint) {
    this.config = checkpoint.config;
    this.prefix = modelPrefix(checkpoint.config.modelType);
    for (const [name, t] of checkpoint.weights) this.tensors.set(name, tf.keep(tf.tensor(t.data, t.shape)));
    this.hasPooler = this.tensors.has(`${this.prefix}.pooler.dense.weight`);
    // In-memory checkpoints built by hand may come without a heads map.
    const [weight, bias] = [checkpoint.heads?.get('pooler.dense.weight'), checkpoint.heads?.get('pooler.dense.bias')];
    if (checkpoint.config.deberta && weight && bias) this.contextPooler = {weight, bias};
  }

  get(name: string): tf.Tensor {
    const t = this.tensors.get(`${this.prefix}.${name}`);
    if (!t) throw new Error(`encoder weight ${this.prefix}.${name} is missing`);
    return t;
  }

  /** Weight [out, in] and bias of a linear; `parts` are fused along the output axis. */
  linearParts(parts: string[]): [tf.Tensor2D, tf.Tensor1D] {
    if (parts.length === 1) return [this.get(`${parts[0]}.weight`) as tf.Tensor2D, this.get(`${parts[0]}.bias`) as tf.Tensor1D];
    return tf.tidy(() => [
      tf.concat(parts.map((p) => this.get(`${p}.weight`) as tf.Tensor2D), 0),
      tf.concat(parts.map((p) => this.get(`${p}.bias`) as tf.Tensor1D), 0),
    ]);
  }

  /** A frozen linear, built once and cached. */
  frozenLinear(key: string, parts: string[]): Linear {
    let lin = this.frozenLinears.get(key);
    if (!lin) {
      const [w, b] = this.linearParts(parts);
      lin = makeLinear(tf.keep(w), tf.keep(b), false, key);
      this.frozenLinears.set(key, lin);
    }
    return lin;
  }

  totalParams(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.size;
    return n;
  }

  dispose(): void {
    for (const lin of this.frozenLinears.values()) tf.dispose([lin.w, lin.b, lin.wT!]);
    for (const t of this.tensors.values()) t.dispose();
    this.frozenLinears.clear();
    this.tensors.clear();
  }
}

export class Encoder implements TextEncoder {
  readonly config: EncoderConfig;
  readonly trainable: boolean;
  readonly hasPooler: boolean;
  /** Variables owned by this encoder (empty when frozen). */
  readonly variables: tf.Variable[] = [];
  /**
   * Trainable encoder: where each variable came from — the checkpoint tensor's name, or a linear
   * layer's key (possibly a fused QKV) and whether it is the weight ([in, out] here) or the bias.
   */
  readonly sources = new Map<tf.Variable, {name: string; linear?: 'weight' | 'bias'}>();
  private readonly word: tf.Tensor2D;
  private readonly position: tf.Tensor2D;
  private readonly tokenType: tf.Tensor2D;
  private readonly embNorm: [tf.Tensor1D, tf.Tensor1D];
  private readonly layers: LayerParams[];
  private readonly pooler?: Linear;
  private readonly dropout: Dropout;
  private readonly hiddenDropout: number;
  private readonly attentionDropout: number;

  /**
   * Frozen: shares the tensors of `weights`. Trainable (full fine-tuning): copies every weight
   * into a variable owned (and disposed) by this encoder.
   */
  constructor(weights: EncoderWeights, opts: {trainable: boolean; seed: number; hiddenDropout?: number}) {
    const cfg = weights.config;
    this.config = cfg;
    this.trainable = opts.trainable;
    this.hasPooler = weights.hasPooler;
    this.dropout = new Dropout(opts.seed);
    this.hiddenDropout = opts.hiddenDropout ?? cfg.hiddenDropout;
    this.attentionDropout = cfg.attentionDropout;

    const param = <T extends tf.Tensor>(name: string): T => {
      const t = weights.get(name) as T;
      if (!this.trainable) return t;
      const v = tf.variable(t, true, `${name}#${Encoder.nextId++}`);
      this.variables.push(v);
      this.sources.set(v, {name});
      return v as unknown as T;
    };
    const lin = (key: string, parts: string[]): Linear => {
      if (!this.trainable) return weights.frozenLinear(key, parts);
      const [w, b] = weights.linearParts(parts);
      const l = makeLinear(w, b, true, key, `#${Encoder.nextId++}`);
      if (parts.length > 1) tf.dispose([w, b]);
      this.variables.push(l.w as tf.Variable, l.b as tf.Variable);
      this.sources.set(l.w as tf.Variable, {name: key, linear: 'weight'});
      this.sources.set(l.b as tf.Variable, {name: key, linear: 'bias'});
      return l;
    };

    this.word = param('embeddings.word_embeddings.weight');
    this.position = param('embeddings.position_embeddings.weight');
    this.tokenType = param('embeddings.token_type_embeddings.weight');
    this.embNorm = [param('embeddings.LayerNorm.weight'), param('embeddings.LayerNorm.bias')];
    this.layers = [];
    for (let i = 0; i < cfg.numLayers; i++) {
      const p = `encoder.layer.${i}`;
      this.layers.push({
        qkv: lin(`${p}.qkv`, [`${p}.attention.self.query`, `${p}.attention.self.key`, `${p}.attention.self.value`]),
        attnOut: lin(`${p}.attention.output.dense`, [`${p}.attention.output.dense`]),
        attnNorm: [param(`${p}.attention.output.LayerNorm.weight`), param(`${p}.attention.output.LayerNorm.bias`)],
        intermediate: lin(`${p}.intermediate.dense`, [`${p}.intermediate.dense`]),
        output: lin(`${p}.output.dense`, [`${p}.output.dense`]),
        outNorm: [param(`${p}.output.LayerNorm.weight`), param(`${p}.output.LayerNorm.bias`)],
      });
    }
    if (weights.hasPooler) this.pooler = lin('pooler.dense', ['pooler.dense']);
  }

  private static nextId = 0;

  /**
   * Position ids as HF computes them. BERT: start, start+1, … . RoBERTa: padding_idx + 1 + start
   * + running count of real tokens, and padding_idx for padding.
   */
  positionIds(mask: Float32Array, batch: number, seqLen: number, start: number): Int32Array {
    const ids = new Int32Array(batch * seqLen);
    const offset = this.config.positionOffset;
    for (let b = 0; b < batch; b++) {
      let count = 0;
      for (let s = 0; s < seqLen; s++) {
        const i = b * seqLen + s;
        if (offset === 0) ids[i] = start + s;
        else ids[i] = mask[i] > 0 ? offset + start + count++ : this.config.padTokenId;
      }
    }
    const max = this.config.maxPositions;
    for (const id of ids) {
      if (id >= max) {
        throw new RangeError(`position id ${id} exceeds max_position_embeddings ${max}; shorten max_length or the prompt`);
      }
    }
    return ids;
  }

  /**
   * Sequence output [batch·T, hidden], T = seqLen (+ P when an input prompt is used; the prompt
   * positions come first).
   */
  forward(input: EncoderBatch, hooks: PromptHooks, training: boolean): tf.Tensor2D {
    const cfg = this.config;
    const h = cfg.hiddenSize;
    const heads = cfg.numHeads;
    const act = ACTIVATIONS.get(cfg.hiddenAct)!;
    const {batch} = input;

    // Embeddings, with the input prompt (if any) spliced in before the tokens.
    const promptLen = hooks.inputPrompt ? hooks.inputPrompt.shape[0] : 0;
    const seqLen = input.seqLen + promptLen;
    let tokenMask = input.attentionMask;
    let typeIds = input.tokenTypeIds;
    let words = embeddingLookup(this.word, input.inputIds);
    if (hooks.inputPrompt) {
      const prompt = hooks.inputPrompt;
      const perExample = tf.reshape(words, [batch, input.seqLen, h]);
      const promptBatch = tf.broadcastTo(tf.expandDims(prompt, 0), [batch, promptLen, h]);
      words = tf.reshape(tf.concat([promptBatch, perExample], 1), [batch * seqLen, h]) as tf.Tensor2D;
      tokenMask = prependOnes(tokenMask, batch, input.seqLen, promptLen);
      typeIds = prependZeros(typeIds, batch, input.seqLen, promptLen);
    }
    const posIds = this.positionIds(tokenMask, batch, seqLen, hooks.positionStart ?? 0);
    let x: tf.Tensor2D = tf.add(tf.add(words, embeddingLookup(this.position, posIds)), embeddingLookup(this.tokenType, typeIds));
    x = layerNorm(x, this.embNorm[0], this.embNorm[1], cfg.layerNormEps);
    x = this.dropout.apply(x, this.hiddenDropout, training);

    // Additive key masks [batch, keys]: one for layers with a prefix (ones prepended), one for those without.
    const additiveMask = (prefixLen: number): tf.Tensor2D => {
      const m = prefixLen > 0 ? prependOnes(tokenMask, batch, seqLen, prefixLen) : tokenMask;
      const add = new Float32Array(m.length);
      for (let i = 0; i < m.length; i++) add[i] = m[i] > 0 ? 0 : -1e9;
      return tf.tensor2d(add, [batch, seqLen + prefixLen]);
    };
    const masks = new Map<number, tf.Tensor2D>();
    const maskFor = (prefixLen: number): tf.Tensor2D => {
      let m = masks.get(prefixLen);
      if (!m) masks.set(prefixLen, (m = additiveMask(prefixLen)));
      return m;
    };

    for (let l = 0; l < this.layers.length; l++) {
      const layer = this.layers[l];
      const prefix = hooks.layerPrefix?.[l] ?? null;

      const mask = maskFor(prefix ? prefix.key.shape[2] : 0);
      x = layerStep(x, (x) => {
        // Self-attention over [prefix; tokens] keys, on the fused QKV projection (see layers.ts).
        const attentionRate = training ? this.attentionDropout : 0;
        const context = selfAttention(linear(layer.qkv, x), mask, prefix, {
          heads,
          rate: attentionRate,
          seed: attentionRate > 0 ? this.dropout.nextSeed() : 0,
        });
        const attended = residualLayerNorm(linear(layer.attnOut, context), x, layer.attnNorm[0], layer.attnNorm[1], cfg.layerNormEps, this.dropout, this.hiddenDropout, training);

        // Feed-forward.
        const inner = act(linear(layer.intermediate, attended));
        return residualLayerNorm(linear(layer.output, inner), attended, layer.outNorm[0], layer.outNorm[1], cfg.layerNormEps, this.dropout, this.hiddenDropout, training);
      });
    }
    return x;
  }

  /** HF pooler: tanh(dense(first token)). `first`: [batch, hidden]. */
  pool(first: tf.Tensor2D): tf.Tensor2D {
    if (!this.pooler) throw new Error('this checkpoint has no pooler weights');
    return tf.tanh(linear(this.pooler, first));
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

export function prependOnes(mask: Float32Array, batch: number, seqLen: number, n: number): Float32Array {
  const out = new Float32Array(batch * (seqLen + n));
  for (let b = 0; b < batch; b++) {
    out.fill(1, b * (seqLen + n), b * (seqLen + n) + n);
    out.set(mask.subarray(b * seqLen, (b + 1) * seqLen), b * (seqLen + n) + n);
  }
  return out;
}

export function prependZeros(ids: Int32Array, batch: number, seqLen: number, n: number): Int32Array {
  const out = new Int32Array(batch * (seqLen + n));
  for (let b = 0; b < batch; b++) out.set(ids.subarray(b * seqLen, (b + 1) * seqLen), b * (seqLen + n) + n);
  return out;
}
