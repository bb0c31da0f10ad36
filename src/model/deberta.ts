/**
 * DeBERTa-v2/v3 encoder in tfjs, following HF transformers' `DebertaV2Model`
 * (`modeling_deberta_v2.py`): word (+ absolute position if `position_biased_input`, + token type
 * if `type_vocab_size` > 0) embeddings → LayerNorm → × attention mask → dropout, then L blocks of
 * disentangled self-attention → dense → dropout → residual LayerNorm → FFN → residual LayerNorm.
 * No pooler: classification heads read [CLS] through a ContextPooler of their own (heads.ts).
 *
 * Disentangled attention, per head, for query i and key j (d = head size):
 *   score(i, j) = [q_i·k_j + c2p(i, j) + p2c(i, j)] / √(d · (1 + number of pos_att_type terms))
 *   c2p(i, j) = q_i · Kr[row(i, j)],  p2c(i, j) = k_j · Qr[row'(j, i)]
 * where Kr, Qr are the relative embedding table (LayerNorm'd if `norm_rel_ebd: layer_norm`)
 * projected by key_proj/query_proj (`share_att_key`) or pos_key_proj/pos_query_proj, and the
 * rows come from the log-bucketed relative positions (relative-position.ts).
 *
 * Deep prompts as the P-tuning v2 reference places them (THUDM/P-tuning-v2 `model/debertaV2.py`):
 * prefix keys/values [B, H, P, d] are concatenated before the content keys/values; a prefix key
 * gets the content term q_i·k_p only, no c2p/p2c (the reference pads the relative scores with
 * zeros for the P prefix columns), and relative positions are those among the real tokens.
 *
 * Layout: attention runs head-major ([H, B, S, d]) so each relative term is one batched matmul
 * against the [H, R, d] projected table; the (i, j) → row lookup is a gather on flat indices
 * whose gradient is a host-side scatter-add (the WASM backend has no kernel for gather's gradient).
 */
import * as tf from '@tensorflow/tfjs';
import type {EncoderConfig} from './checkpoint.js';
import type {DebertaSettings} from './deberta-config.js';
import {prependOnes, prependZeros, type EncoderBatch, type EncoderWeights, type PromptHooks, type TextEncoder} from './encoder.js';
import {ACTIVATIONS, Dropout, embeddingLookup, layerNorm, layerStep, linear, makeLinear, residualLayerNorm, type Linear} from './layers.js';
import {relativeEmbeddingRows, relativePositions} from './relative-position.js';

interface DebertaLayer {
  /** query_proj, key_proj, value_proj fused along the output axis. */
  qkv: Linear;
  /** pos_key_proj / pos_query_proj (absent with share_att_key, or when the term is not used). */
  posKey?: Linear;
  posQuery?: Linear;
  attnOut: Linear;
  attnNorm: [tf.Tensor1D, tf.Tensor1D];
  intermediate: Linear;
  output: Linear;
  outNorm: [tf.Tensor1D, tf.Tensor1D];
}

/** Which relative-table rows a sequence length reads, and the flat gather indices of both terms. */
interface RelativeLookup {
  /** First row of the table used and how many rows from there. */
  first: number;
  rows: number;
  /** Per (i, j), row − first: c2p reads row(i, j), p2c reads row'(j, i), both [S, S]. */
  c2p: Int32Array;
  p2c: Int32Array;
}

/**
 * Elements of `x` (any shape) at flat positions `index`, reshaped to `shape`. The gradient is the
 * scatter-add of dy into x's positions, done on the host.
 */
function gatherFlat(x: tf.Tensor, index: Int32Array, shape: number[]): tf.Tensor {
  const size = x.size;
  const indexTensor = tf.tensor1d(index, 'int32');
  const gather = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.reshape(tf.gather(tf.reshape(input, [size]), indexTensor), shape),
    gradFunc: (dy: tf.Tensor) => {
      const upstream = dy.dataSync();
      const grad = new Float32Array(size);
      for (let n = 0; n < index.length; n++) grad[index[n]] += upstream[n];
      return tf.tensor(grad, input.shape);
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return gather(x) as tf.Tensor;
}

export class DebertaEncoder implements TextEncoder {
  readonly config: EncoderConfig;
  readonly trainable: boolean;
  readonly hasPooler = false;
  readonly variables: tf.Variable[] = [];
  readonly sources = new Map<tf.Variable, {name: string; linear?: 'weight' | 'bias'}>();
  private readonly settings: DebertaSettings;
  private readonly word: tf.Tensor2D;
  private readonly position?: tf.Tensor2D;
  private readonly tokenType?: tf.Tensor2D;
  private readonly embNorm: [tf.Tensor1D, tf.Tensor1D];
  private readonly relEmbeddings?: tf.Tensor2D;
  private readonly relNorm?: [tf.Tensor1D, tf.Tensor1D];
  private readonly layers: DebertaLayer[] = [];
  private readonly dropout: Dropout;
  private readonly hiddenDropout: number;
  private readonly lookups = new Map<number, RelativeLookup>();

  constructor(weights: EncoderWeights, opts: {trainable: boolean; seed: number; hiddenDropout?: number}) {
    const cfg = weights.config;
    if (!cfg.deberta) throw new Error(`DebertaEncoder needs a deberta-v2 config, got ${cfg.modelType}`);
    this.config = cfg;
    this.settings = cfg.deberta;
    this.trainable = opts.trainable;
    this.dropout = new Dropout(opts.seed);
    this.hiddenDropout = opts.hiddenDropout ?? cfg.hiddenDropout;

    const param = <T extends tf.Tensor>(name: string): T => {
      const t = weights.get(name) as T;
      if (!this.trainable) return t;
      const v = tf.variable(t, true, `${name}#${DebertaEncoder.nextId++}`);
      this.variables.push(v);
      this.sources.set(v, {name});
      return v as unknown as T;
    };
    const lin = (key: string, parts: string[]): Linear => {
      if (!this.trainable) return weights.frozenLinear(key, parts);
      const [w, b] = weights.linearParts(parts);
      const l = makeLinear(w, b, true, key, `#${DebertaEncoder.nextId++}`);
      if (parts.length > 1) tf.dispose([w, b]);
      this.variables.push(l.w as tf.Variable, l.b as tf.Variable);
      this.sources.set(l.w as tf.Variable, {name: key, linear: 'weight'});
      this.sources.set(l.b as tf.Variable, {name: key, linear: 'bias'});
      return l;
    };
    const single = (name: string) => lin(name, [name]);

    const s = this.settings;
    this.word = param('embeddings.word_embeddings.weight');
    if (s.positionBiasedInput) this.position = param('embeddings.position_embeddings.weight');
    if (cfg.typeVocabSize > 0) this.tokenType = param('embeddings.token_type_embeddings.weight');
    this.embNorm = [param('embeddings.LayerNorm.weight'), param('embeddings.LayerNorm.bias')];
    if (s.relativeAttention) {
      this.relEmbeddings = param('encoder.rel_embeddings.weight');
      if (s.normRelEmbeddings) this.relNorm = [param('encoder.LayerNorm.weight'), param('encoder.LayerNorm.bias')];
    }
    const separate = s.relativeAttention && !s.shareAttKey;
    for (let i = 0; i < cfg.numLayers; i++) {
      const p = `encoder.layer.${i}`;
      const self = `${p}.attention.self`;
      this.layers.push({
        qkv: lin(`${p}.qkv`, [`${self}.query_proj`, `${self}.key_proj`, `${self}.value_proj`]),
        posKey: separate && s.posAttType.includes('c2p') ? single(`${self}.pos_key_proj`) : undefined,
        posQuery: separate && s.posAttType.includes('p2c') ? single(`${self}.pos_query_proj`) : undefined,
        attnOut: single(`${p}.attention.output.dense`),
        attnNorm: [param(`${p}.attention.output.LayerNorm.weight`), param(`${p}.attention.output.LayerNorm.bias`)],
        intermediate: single(`${p}.intermediate.dense`),
        output: single(`${p}.output.dense`),
        outNorm: [param(`${p}.output.LayerNorm.weight`), param(`${p}.output.LayerNorm.bias`)],
      });
    }
  }

  private static nextId = 0;

  /** Absolute position ids (used only with position_biased_input): start, start + 1, … as DebertaV2Embeddings. */
  positionIds(batch: number, seqLen: number, start: number): Int32Array {
    const ids = new Int32Array(batch * seqLen);
    for (let b = 0; b < batch; b++) for (let s = 0; s < seqLen; s++) ids[b * seqLen + s] = start + s;
    const last = start + seqLen - 1;
    if (last >= this.config.maxPositions) {
      throw new RangeError(`position id ${last} exceeds max_position_embeddings ${this.config.maxPositions}; shorten max_length or the prompt`);
    }
    return ids;
  }

  /** Sequence output [batch·T, hidden]; T = seqLen (+ P with an input prompt, which comes first). */
  forward(input: EncoderBatch, hooks: PromptHooks, training: boolean): tf.Tensor2D {
    const cfg = this.config;
    const h = cfg.hiddenSize;
    const {batch} = input;

    // Embeddings, with the input prompt (if any) spliced in before the tokens.
    const promptLen = hooks.inputPrompt ? hooks.inputPrompt.shape[0] : 0;
    const seqLen = input.seqLen + promptLen;
    let tokenMask = input.attentionMask;
    let typeIds = input.tokenTypeIds;
    let x: tf.Tensor2D = embeddingLookup(this.word, input.inputIds);
    if (hooks.inputPrompt) {
      const perExample = tf.reshape(x, [batch, input.seqLen, h]);
      const promptBatch = tf.broadcastTo(tf.expandDims(hooks.inputPrompt, 0), [batch, promptLen, h]);
      x = tf.reshape(tf.concat([promptBatch, perExample], 1), [batch * seqLen, h]) as tf.Tensor2D;
      tokenMask = prependOnes(tokenMask, batch, input.seqLen, promptLen);
      typeIds = prependZeros(typeIds, batch, input.seqLen, promptLen);
    }
    if (this.position) x = tf.add(x, embeddingLookup(this.position, this.positionIds(batch, seqLen, hooks.positionStart ?? 0)));
    if (this.tokenType) x = tf.add(x, embeddingLookup(this.tokenType, typeIds));
    x = layerNorm(x, this.embNorm[0], this.embNorm[1], cfg.layerNormEps);
    // DebertaV2Embeddings multiplies by the attention mask, so padding rows start at zero.
    x = tf.mul(x, tf.tensor2d(tokenMask, [batch * seqLen, 1]));
    x = this.dropout.apply(x, this.hiddenDropout, training);

    const masks = new Map<number, tf.Tensor4D>();
    const maskFor = (prefixLen: number): tf.Tensor4D => {
      let m = masks.get(prefixLen);
      if (!m) masks.set(prefixLen, (m = additiveKeyMask(tokenMask, batch, seqLen, prefixLen)));
      return m;
    };
    const lookup = this.settings.relativeAttention ? this.relativeLookup(seqLen) : undefined;
    const flat = lookup ? flatIndices(lookup, cfg.numHeads * batch, seqLen) : undefined;
    const act = ACTIVATIONS.get(cfg.hiddenAct)!;

    for (let l = 0; l < this.layers.length; l++) {
      const layer = this.layers[l];
      const prefix = hooks.layerPrefix?.[l] ?? null;
      const mask = maskFor(prefix ? prefix.key.shape[2] : 0);
      x = layerStep(x, (x) => {
        const context = this.attention(layer, x, batch, seqLen, prefix, mask, lookup, flat, training);
        const attended = residualLayerNorm(linear(layer.attnOut, context), x, layer.attnNorm[0], layer.attnNorm[1], cfg.layerNormEps, this.dropout, this.hiddenDropout, training);
        const inner = act(linear(layer.intermediate, attended));
        return residualLayerNorm(linear(layer.output, inner), attended, layer.outNorm[0], layer.outNorm[1], cfg.layerNormEps, this.dropout, this.hiddenDropout, training);
      });
    }
    return x;
  }

  /** Disentangled self-attention of one layer → context [B·S, h]. */
  private attention(
    layer: DebertaLayer,
    x: tf.Tensor2D,
    batch: number,
    seqLen: number,
    prefix: {key: tf.Tensor4D; value: tf.Tensor4D} | null,
    mask: tf.Tensor4D,
    lookup: RelativeLookup | undefined,
    flat: {c2p: Int32Array; p2c: Int32Array} | undefined,
    training: boolean,
  ): tf.Tensor2D {
    const {numHeads: heads, hiddenSize: h} = this.config;
    const d = h / heads;
    const s = this.settings;
    const hb = heads * batch;
    // [B·S, h] → [H, B, S, d]
    const toHeads = (t: tf.Tensor2D): tf.Tensor4D => tf.transpose(tf.reshape(t, [batch, seqLen, heads, d]), [2, 0, 1, 3]);
    const [q2, k2, v2] = tf.split(linear(layer.qkv, x), 3, 1) as tf.Tensor2D[];
    const q = toHeads(q2);
    const k = toHeads(k2);
    const v = toHeads(v2);
    const prefixLen = prefix ? prefix.key.shape[2] : 0;
    // Prefix keys/values [B, H, P, d] → [H, B, P, d], before the content ones.
    const keys = prefix ? tf.concat([tf.transpose(prefix.key, [1, 0, 2, 3]), k], 2) : k;
    const values = prefix ? tf.concat([tf.transpose(prefix.value, [1, 0, 2, 3]), v], 2) : v;
    const keyLen = prefixLen + seqLen;

    // scores: [H·B, S, P + S]
    let scores: tf.Tensor3D = tf.matMul(tf.reshape(q, [hb, seqLen, d]), tf.reshape(keys, [hb, keyLen, d]), false, true);
    if (lookup && flat) {
      const relative = this.relativeScores(layer, q, k, batch, seqLen, lookup, flat, training);
      scores = tf.add(scores, prefixLen > 0 ? tf.concat([tf.zeros([hb, seqLen, prefixLen]), relative], 2) : relative);
    }
    const scaleFactor = 1 + s.posAttType.length;
    const scaled = tf.add(tf.mul(tf.reshape(scores, [heads, batch, seqLen, keyLen]), 1 / Math.sqrt(d * scaleFactor)), mask);
    let probs = tf.softmax(scaled);
    probs = this.dropout.apply(probs, training ? this.config.attentionDropout : 0, training);
    const context = tf.matMul(tf.reshape(probs, [hb, seqLen, keyLen]), tf.reshape(values, [hb, keyLen, d]));
    // [H, B, S, d] → [B, S, H, d] → [B·S, h]
    return tf.reshape(tf.transpose(tf.reshape(context, [heads, batch, seqLen, d]), [1, 2, 0, 3]), [batch * seqLen, h]) as tf.Tensor2D;
  }

  /** c2p + p2c over the content keys: [H·B, S, S], not yet scaled. */
  private relativeScores(
    layer: DebertaLayer,
    q: tf.Tensor4D,
    k: tf.Tensor4D,
    batch: number,
    seqLen: number,
    lookup: RelativeLookup,
    flat: {c2p: Int32Array; p2c: Int32Array},
    training: boolean,
  ): tf.Tensor3D {
    const {numHeads: heads, hiddenSize: h, layerNormEps} = this.config;
    const d = h / heads;
    const s = this.settings;
    // Only the rows this length reads; LayerNorm is per row, so slicing first changes nothing.
    let table = tf.slice(this.relEmbeddings!, [lookup.first, 0], [lookup.rows, h]) as tf.Tensor2D;
    if (this.relNorm) table = layerNorm(table, this.relNorm[0], this.relNorm[1], layerNormEps);
    table = this.dropout.apply(table, this.hiddenDropout, training);
    // [R, h] → [H, R, d]
    const perHead = (t: tf.Tensor2D): tf.Tensor3D => tf.transpose(tf.reshape(t, [lookup.rows, heads, d]), [1, 0, 2]);
    let shared: tf.Tensor2D[] | undefined;
    const project = (separate: Linear | undefined, part: 0 | 1): tf.Tensor3D => {
      if (separate) return perHead(linear(separate, table));
      shared ??= tf.split(linear(layer.qkv, table), 3, 1) as tf.Tensor2D[];
      return perHead(shared[part]);
    };
    const rowsOf = (content: tf.Tensor4D) => tf.reshape(content, [heads, batch * seqLen, d]);
    const shape = [heads * batch, seqLen, seqLen];
    const terms: tf.Tensor3D[] = [];
    if (s.posAttType.includes('c2p')) {
      // q_i · Kr[row]: [H, B·S, R], then each (i, j) picks its row.
      const full = tf.matMul(rowsOf(q), project(layer.posKey, 1), false, true);
      terms.push(gatherFlat(full, flat.c2p, shape) as tf.Tensor3D);
    }
    if (s.posAttType.includes('p2c')) {
      // k_j · Qr[row]: [H, B·S, R] indexed by key; the gather also transposes to (query, key).
      const full = tf.matMul(rowsOf(k), project(layer.posQuery, 0), false, true);
      terms.push(gatherFlat(full, flat.p2c, shape) as tf.Tensor3D);
    }
    return terms.length === 1 ? terms[0] : tf.add(terms[0], terms[1]);
  }

  /** The rows of the relative table a sequence of this length reads (cached per length). */
  private relativeLookup(seqLen: number): RelativeLookup {
    let lookup = this.lookups.get(seqLen);
    if (lookup) return lookup;
    const {positionBuckets, maxRelativePositions, span} = this.settings;
    const relative = relativePositions(seqLen, seqLen, positionBuckets, maxRelativePositions);
    const c2pRows = relativeEmbeddingRows(relative, span);
    // HF's p2c: row clamp(−relative(j, i) + span) for key j and query i, stored at (j, i).
    const negated = relative.map((r) => -r);
    const p2cRows = relativeEmbeddingRows(negated, span);
    let first = Infinity;
    let last = -Infinity;
    for (const rows of [c2pRows, p2cRows]) {
      for (const r of rows) {
        first = Math.min(first, r);
        last = Math.max(last, r);
      }
    }
    lookup = {first, rows: last - first + 1, c2p: c2pRows.map((r) => r - first), p2c: p2cRows.map((r) => r - first)};
    this.lookups.set(seqLen, lookup);
    return lookup;
  }

  pool(): tf.Tensor2D {
    throw new Error('DeBERTa has no pooler in the encoder; heads read [CLS] through their ContextPooler');
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/**
 * Flat gather indices into the [H·B·S, R] products for every (hb, i, j): c2p reads the query row
 * (hb, i) at column row(i, j); p2c reads the key row (hb, j) at column row'(j, i).
 */
function flatIndices(lookup: RelativeLookup, hb: number, seqLen: number): {c2p: Int32Array; p2c: Int32Array} {
  const perBlock = seqLen * seqLen;
  const c2p = new Int32Array(hb * perBlock);
  const p2c = new Int32Array(hb * perBlock);
  const R = lookup.rows;
  for (let n = 0; n < hb; n++) {
    for (let i = 0; i < seqLen; i++) {
      for (let j = 0; j < seqLen; j++) {
        const out = n * perBlock + i * seqLen + j;
        c2p[out] = (n * seqLen + i) * R + lookup.c2p[i * seqLen + j];
        p2c[out] = (n * seqLen + j) * R + lookup.p2c[j * seqLen + i];
      }
    }
  }
  return {c2p, p2c};
}

/** [1, B, 1, P + S]: 0 for the prefix and real tokens, a large negative number for padding keys. */
function additiveKeyMask(mask: Float32Array, batch: number, seqLen: number, prefixLen: number): tf.Tensor4D {
  const keys = prefixLen + seqLen;
  const add = new Float32Array(batch * keys);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < seqLen; s++) add[b * keys + prefixLen + s] = mask[b * seqLen + s] > 0 ? 0 : -1e9;
  }
  return tf.tensor4d(add, [1, batch, 1, keys]);
}
