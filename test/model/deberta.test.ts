/**
 * DeBERTa-v2: relative-position buckets against hand-computed tables, the encoder against an
 * independent Float64 implementation of HF's DebertaV2Model written here (1 layer, 2 heads, with
 * and without a P-tuning v2 prefix), padding invariance, and every method and head training.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {normaliseConfig, randomCheckpoint, type Checkpoint} from '../../src/model/checkpoint.js';
import {DebertaEncoder} from '../../src/model/deberta.js';
import {EncoderWeights, type EncoderBatch} from '../../src/model/encoder.js';
import {TaskModel, type HeadKind} from '../../src/model/model.js';
import {logBucketPosition, relativeEmbeddingRows, relativePositions} from '../../src/model/relative-position.js';
import {AdamW} from '../../src/train/optimizer.js';
import {mulberry32} from '../../src/random.js';
import {randomBatch, useBackend} from '../helpers/tiny.js';

// ---------------------------------------------------------------------------------------------
// Relative positions

/**
 * make_log_bucket_position(x, 8, 16) by hand: mid = 4, |x| ≤ 4 stays x; else
 * sign(x)·(ceil(ln(|x|/4) / ln(15/4) · 3) + 4), e.g. x = 5: ln 1.25 / ln 3.75 · 3 = 0.506 → 1 → 5;
 * x = 7: 1.270 → 2 → 6; x = 10: 2.080 → 3 → 7; x = 15: exactly 3 → 7; x = 16: 3.147 → 4 → 8;
 * x = 100: ln 25 / ln 3.75 · 3 = 7.306 → 8 → 12.
 */
const BUCKETS_8_16: [number, number][] = [
  [0, 0], [1, 1], [3, 3], [4, 4], [5, 5], [6, 5], [7, 6], [8, 6], [9, 6], [10, 7], [14, 7], [15, 7], [16, 8], [100, 12],
];
/** Buckets 256 / 512 (DeBERTa-v3): 128 stays; 129 → ceil(ln(129/128) / ln(511/128) · 127) + 128 = ceil(0.714) + 128; 511 → 255; 512 → ceil(127.18) + 128. */
const BUCKETS_256_512: [number, number][] = [[127, 127], [128, 128], [129, 129], [200, 169], [511, 255], [512, 256]];

test('log buckets match hand-computed values, odd in the relative position', () => {
  for (const [x, bucket] of BUCKETS_8_16) {
    assert.equal(logBucketPosition(x, 8, 16), bucket, `x = ${x}`);
    if (x > 0) assert.equal(logBucketPosition(-x, 8, 16), -bucket, `x = ${-x}`);
  }
  for (const [x, bucket] of BUCKETS_256_512) assert.equal(logBucketPosition(x, 256, 512), bucket, `x = ${x}`);
});

test('the relative position table and the rows it reads, by hand for 6 tokens, buckets 4, max 8, span 4', () => {
  // mid 2: |i − j| ≤ 2 exact; 3: ceil(ln 1.5 / ln 3.5 · 1) + 2 = ceil(0.324) + 2 = 3;
  // 4: ceil(ln 2 / ln 3.5) + 2 = ceil(0.553) + 2 = 3; 5: ceil(ln 2.5 / ln 3.5) + 2 = ceil(0.731) + 2 = 3.
  const table = relativePositions(6, 6, 4, 8);
  const expected = [
    [0, -1, -2, -3, -3, -3],
    [1, 0, -1, -2, -3, -3],
    [2, 1, 0, -1, -2, -3],
    [3, 2, 1, 0, -1, -2],
    [3, 3, 2, 1, 0, -1],
    [3, 3, 3, 2, 1, 0],
  ];
  assert.deepEqual([...table], expected.flat());
  // Rows clamp(relative + span, 0, 2·span − 1) with span 4.
  assert.deepEqual([...relativeEmbeddingRows(table, 4)], expected.flat().map((r) => Math.min(Math.max(r + 4, 0), 7)));
  // Without buckets it is plain i − j, clamped only by the span: 6 tokens at span 2 reach both ends.
  const plain = relativePositions(6, 6, -1, 2);
  assert.equal(plain[5 * 6], 5);
  assert.deepEqual([...relativeEmbeddingRows(plain, 2)].slice(0, 6), [2, 1, 0, 0, 0, 0]);
  assert.deepEqual([...relativeEmbeddingRows(plain, 2)].slice(30, 36), [3, 3, 3, 3, 3, 2]);
});

// ---------------------------------------------------------------------------------------------
// An independent Float64 DebertaV2Model, written from modeling_deberta_v2.py

type Raw = Map<string, {shape: number[]; data: Float32Array}>;

/** erf by its Maclaurin series (|x| < 3) or continued fraction; far below float32 precision. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (a + f);
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
}
const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

function affine(raw: Raw, name: string, x: number[]): number[] {
  const w = raw.get(`${name}.weight`)!;
  const b = raw.get(`${name}.bias`)!.data;
  const [out, inp] = w.shape;
  return Array.from({length: out}, (_, o) => {
    let s = b[o];
    for (let i = 0; i < inp; i++) s += w.data[o * inp + i] * x[i];
    return s;
  });
}

function norm(raw: Raw, name: string, x: number[], eps: number): number[] {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
  const g = raw.get(`${name}.weight`)!.data;
  const b = raw.get(`${name}.bias`)!.data;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
}

function row(raw: Raw, name: string, r: number): number[] {
  const t = raw.get(name)!;
  return [...t.data.subarray(r * t.shape[1], (r + 1) * t.shape[1])];
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

/** make_log_bucket_position in Float64, as written in transformers. */
function bucket(rel: number, size: number, max: number): number {
  if (size <= 0 || max <= 0) return rel;
  const mid = Math.floor(size / 2);
  const abs = rel < mid && rel > -mid ? mid - 1 : Math.abs(rel);
  if (abs <= mid) return rel;
  return Math.sign(rel) * (Math.ceil((Math.log(abs / mid) / Math.log((max - 1) / mid)) * (mid - 1)) + mid);
}

interface RefPrefix {
  /** Per layer, [head][p][d]. */
  key: number[][][][];
  value: number[][][][];
}

/**
 * One unpadded example through DebertaV2Model (eval mode): hidden states [S][h]. With a prefix,
 * as the P-tuning v2 reference: prefix keys/values before the content ones, their relative score 0.
 */
function referenceForward(raw: Raw, config: Record<string, unknown>, ids: number[], types: number[], prefix?: RefPrefix, positionStart = 0): number[][] {
  const h = config.hidden_size as number;
  const heads = config.num_attention_heads as number;
  const d = h / heads;
  const eps = config.layer_norm_eps as number;
  const g = (name: string) => `deberta.${name}`;
  const posAtt = (config.pos_att_type as string[]) ?? [];
  const maxRel = (config.max_relative_positions as number) < 1 ? (config.max_position_embeddings as number) : (config.max_relative_positions as number);
  const buckets = (config.position_buckets as number) ?? -1;
  const span = buckets > 0 ? buckets : maxRel;
  const share = config.share_att_key === true;
  const S = ids.length;

  let x = ids.map((id, s) => {
    let e = row(raw, g('embeddings.word_embeddings.weight'), id);
    if (config.position_biased_input) e = e.map((v, i) => v + row(raw, g('embeddings.position_embeddings.weight'), positionStart + s)[i]);
    if ((config.type_vocab_size as number) > 0) e = e.map((v, i) => v + row(raw, g('embeddings.token_type_embeddings.weight'), types[s])[i]);
    return norm(raw, g('embeddings.LayerNorm'), e, eps);
  });
  let relTable: number[][] = [];
  if (config.relative_attention) {
    relTable = Array.from({length: 2 * span}, (_, r) => row(raw, g('encoder.rel_embeddings.weight'), r));
    if (config.norm_rel_ebd === 'layer_norm') relTable = relTable.map((r) => norm(raw, g('encoder.LayerNorm'), r, eps));
  }
  const clampRow = (r: number) => Math.min(Math.max(r, 0), 2 * span - 1);
  const scale = Math.sqrt(d * (1 + posAtt.filter((t) => t === 'c2p' || t === 'p2c').length));

  for (let l = 0; l < (config.num_hidden_layers as number); l++) {
    const self = g(`encoder.layer.${l}.attention.self`);
    const q = x.map((v) => affine(raw, `${self}.query_proj`, v));
    const k = x.map((v) => affine(raw, `${self}.key_proj`, v));
    const v = x.map((t) => affine(raw, `${self}.value_proj`, t));
    const posK = posAtt.includes('c2p') ? relTable.map((r) => affine(raw, share ? `${self}.key_proj` : `${self}.pos_key_proj`, r)) : [];
    const posQ = posAtt.includes('p2c') ? relTable.map((r) => affine(raw, share ? `${self}.query_proj` : `${self}.pos_query_proj`, r)) : [];
    const headOf = (vec: number[], hd: number) => vec.slice(hd * d, (hd + 1) * d);
    const context = Array.from({length: S}, () => new Array<number>(h).fill(0));
    for (let hd = 0; hd < heads; hd++) {
      const pk = prefix?.key[l][hd] ?? [];
      const pv = prefix?.value[l][hd] ?? [];
      for (let i = 0; i < S; i++) {
        const qi = headOf(q[i], hd);
        const scores = pk.map((kp) => dot(qi, kp) / scale);
        for (let j = 0; j < S; j++) {
          const kj = headOf(k[j], hd);
          let s = dot(qi, kj);
          if (config.relative_attention && posAtt.includes('c2p')) s += dot(qi, headOf(posK[clampRow(bucket(i - j, buckets, maxRel) + span)], hd));
          // p2c as HF computes it: p2c_att[j, c] = k_j · posQ[clamp(−r_pos[j, c] + span)], r_pos[j, c] = bucket(j − c), transposed to (i, j).
          if (config.relative_attention && posAtt.includes('p2c')) s += dot(kj, headOf(posQ[clampRow(-bucket(j - i, buckets, maxRel) + span)], hd));
          scores.push(s / scale);
        }
        const top = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - top));
        const z = e.reduce((a, b) => a + b, 0);
        const vs = [...pv, ...v.map((t) => headOf(t, hd))];
        for (let t = 0; t < d; t++) context[i][hd * d + t] = e.reduce((acc, w, m) => acc + (w / z) * vs[m][t], 0);
      }
    }
    const p = g(`encoder.layer.${l}`);
    const attended = context.map((c, i) => norm(raw, `${p}.attention.output.LayerNorm`, affine(raw, `${p}.attention.output.dense`, c).map((t, m) => t + x[i][m]), eps));
    x = attended.map((a) => {
      const inner = affine(raw, `${p}.intermediate.dense`, a).map(gelu);
      return norm(raw, `${p}.output.LayerNorm`, affine(raw, `${p}.output.dense`, inner).map((t, m) => t + a[m]), eps);
    });
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints for the comparisons

const HIDDEN = 8;
const HEADS = 2;

const CONFIGS: {name: string; overrides: Record<string, unknown>}[] = [
  // DeBERTa-v3's settings: shared keys, both terms, log buckets, LayerNorm on the relative table.
  {name: 'v3-style (shared keys, buckets 8 / 16, norm_rel_ebd)', overrides: {position_buckets: 8, max_relative_positions: 16}},
  // DeBERTa-v2-style: separate position projections, absolute positions and token types, no buckets, a span short enough to clamp.
  {name: 'v2-style (pos_key/query_proj, span 3 clamped, absolute positions, token types)', overrides: {position_buckets: -1, max_relative_positions: 3, share_att_key: false, position_biased_input: true, type_vocab_size: 2, norm_rel_ebd: 'none'}},
  // One term only: the scale is √(2d); only pos_key_proj exists.
  {name: 'c2p only (scale √(2d))', overrides: {position_buckets: 4, max_relative_positions: 8, share_att_key: false, pos_att_type: ['c2p']}},
];

/** A 1-layer, 2-head random DeBERTa with every tensor (LayerNorm and biases too) drawn at random. */
function debertaCheckpoint(overrides: Record<string, unknown>, layers = 1): {config: Record<string, unknown>; weights: Raw; checkpoint: Checkpoint} {
  const {config, weights} = randomCheckpoint({modelType: 'deberta-v2', layers, hidden: HIDDEN, heads: HEADS, intermediate: 16, maxPositions: 32, vocabSize: 30, seed: 9, initializerRange: 0.4, configOverrides: overrides});
  const rng = mulberry32(21);
  for (const [name, t] of weights) {
    if (name.endsWith('LayerNorm.weight')) t.data.forEach((_, i) => (t.data[i] = 0.7 + 0.6 * rng()));
    else if (name.endsWith('.bias')) t.data.forEach((_, i) => (t.data[i] = 0.4 * (rng() - 0.5)));
  }
  const checkpoint = {dir: '<memory>', config: normaliseConfig(config), weights, heads: new Map(), hasPooler: false} as Checkpoint;
  return {config, weights, checkpoint};
}

const LENGTHS = [7, 4, 6];

function exampleOf(batch: EncoderBatch, b: number): {ids: number[]; types: number[]} {
  const len = batch.attentionMask.subarray(b * batch.seqLen, (b + 1) * batch.seqLen).reduce((n, m) => n + m, 0);
  const slice = (a: Int32Array) => [...a.subarray(b * batch.seqLen, b * batch.seqLen + len)];
  return {ids: slice(batch.inputIds), types: slice(batch.tokenTypeIds)};
}

/** max |ptv2 − reference| over the real tokens of every example. */
function maxDifference(out: Float32Array, batch: EncoderBatch, reference: (b: number) => number[][]): number {
  let worst = 0;
  for (let b = 0; b < batch.batch; b++) {
    reference(b).forEach((vec, s) => vec.forEach((v, i) => (worst = Math.max(worst, Math.abs(out[(b * batch.seqLen + s) * HIDDEN + i] - v)))));
  }
  return worst;
}

const TOLERANCE = 2e-5;

for (const backend of ['cpu', 'wasm'] as const) {
  for (const c of CONFIGS) {
    test(`${backend}: DeBERTa ${c.name} matches the Float64 reference on a padded batch`, async () => {
      await useBackend(backend);
      const {config, weights, checkpoint} = debertaCheckpoint(c.overrides);
      const encoderWeights = new EncoderWeights(checkpoint);
      const encoder = new DebertaEncoder(encoderWeights, {trainable: false, seed: 1, hiddenDropout: 0});
      const batch = randomBatch(LENGTHS, {vocab: 30, pairTypes: true});
      const out = tf.tidy(() => encoder.forward(batch, {}, false).dataSync() as Float32Array);
      const worst = maxDifference(out, batch, (b) => {
        const {ids, types} = exampleOf(batch, b);
        return referenceForward(weights, config, ids, types);
      });
      assert.ok(worst < TOLERANCE, `max difference ${worst}`);
      encoderWeights.dispose();
    });
  }

  test(`${backend}: a deep prompt enters as the P-tuning v2 reference places it (prefix keys first, no relative term, shifted positions)`, async () => {
    await useBackend(backend);
    const P = 2;
    const d = HIDDEN / HEADS;
    for (const c of CONFIGS.slice(0, 2)) {
      const {config, weights, checkpoint} = debertaCheckpoint(c.overrides);
      const encoderWeights = new EncoderWeights(checkpoint);
      const encoder = new DebertaEncoder(encoderWeights, {trainable: false, seed: 1, hiddenDropout: 0});
      const batch = randomBatch(LENGTHS, {vocab: 30, pairTypes: true});
      const rng = mulberry32(5);
      const draw = () => Array.from({length: HEADS}, () => Array.from({length: P}, () => Array.from({length: d}, () => rng() - 0.5)));
      const prefix = {key: [draw()], value: [draw()]};
      const asBatch = (t: number[][][]) => tf.tensor4d(Array.from({length: batch.batch}, () => t).flat(3), [batch.batch, HEADS, P, d]);
      const out = tf.tidy(() => encoder.forward(batch, {layerPrefix: [{key: asBatch(prefix.key[0]), value: asBatch(prefix.value[0])}], positionStart: P}, false).dataSync() as Float32Array);
      const worst = maxDifference(out, batch, (b) => {
        const {ids, types} = exampleOf(batch, b);
        return referenceForward(weights, config, ids, types, prefix, P);
      });
      assert.ok(worst < TOLERANCE, `${c.name}: max difference ${worst}`);
      encoderWeights.dispose();
    }
  });
}

test('the classification head reads [CLS] through a trainable ContextPooler: gelu(dense(cls)) → classifier', async () => {
  await useBackend('cpu');
  const {config, weights, checkpoint} = debertaCheckpoint(CONFIGS[0].overrides);
  const encoderWeights = new EncoderWeights(checkpoint);
  const model = new TaskModel(encoderWeights, {prompt: {...PROMPT, method: 'ft'}, numLabels: 3, dropout: 0, usePooler: true, seed: 4});
  const batch = randomBatch(LENGTHS, {vocab: 30});
  const logits = tf.tidy(() => model.logits(batch, false).arraySync());
  const [poolW, poolB, clsW, clsB] = model.head.variables.map((v) => v.arraySync() as number[][] | number[]);
  assert.deepEqual(model.head.variables.map((v) => v.name.split('#')[0]), ['pooler.dense.weight', 'pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
  const apply = (w: number[][], b: number[], x: number[]) => b.map((bias, o) => bias + x.reduce((s, xi, i) => s + xi * w[i][o], 0));
  for (let b = 0; b < batch.batch; b++) {
    const {ids, types} = exampleOf(batch, b);
    const cls = referenceForward(weights, config, ids, types)[0];
    const pooled = apply(poolW as number[][], poolB as number[], cls).map(gelu);
    const expected = apply(clsW as number[][], clsB as number[], pooled);
    expected.forEach((v, i) => assert.ok(Math.abs(logits[b][i] - v) < TOLERANCE, `example ${b} label ${i}: ${logits[b][i]} vs ${v}`));
  }
  model.dispose();
  encoderWeights.dispose();
});

// ---------------------------------------------------------------------------------------------
// Padding invariance and training

const PROMPT = {method: 'pt2', length: 3, reparameterize: false, reparamHidden: 8, dropout: 0, depthOrder: 'ascending' as const, shiftPositions: true, initStd: 0.5, seed: 1};

test('padding invariance: every example gives the same logits alone as in a padded batch, for each method', async () => {
  await useBackend('wasm');
  const {checkpoint} = debertaCheckpoint({...CONFIGS[1].overrides, position_buckets: 4, max_relative_positions: 6}, 2);
  const encoderWeights = new EncoderWeights(checkpoint);
  const batch = randomBatch([9, 3, 6], {vocab: 30});
  for (const method of ['ft', 'pt', 'prefix', 'pt2']) {
    const model = new TaskModel(encoderWeights, {prompt: {...PROMPT, method}, numLabels: 3, dropout: 0, usePooler: true, seed: 4});
    const together = tf.tidy(() => model.logits(batch, false).arraySync());
    for (let b = 0; b < batch.batch; b++) {
      const {ids, types} = exampleOf(batch, b);
      const alone: EncoderBatch = {batch: 1, seqLen: ids.length, inputIds: Int32Array.from(ids), tokenTypeIds: Int32Array.from(types), attentionMask: new Float32Array(ids.length).fill(1)};
      const single = tf.tidy(() => model.logits(alone, false).arraySync()[0]);
      single.forEach((v, i) => assert.ok(Math.abs(v - together[b][i]) < 1e-5, `${method} example ${b}: ${v} vs ${together[b][i]}`));
    }
    model.dispose();
  }
  encoderWeights.dispose();
});

/** A few AdamW steps on one fixed batch; returns the first and last loss. */
function trainSteps(model: TaskModel, loss: () => tf.Scalar, steps: number, lr: number): [number, number] {
  const optimizer = new AdamW(model.variables, {weightDecay: 0});
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const {value, grads} = tf.variableGrads(loss, model.variables);
    losses.push(value.dataSync()[0]);
    optimizer.apply(model.variables.map((v) => grads[v.name]), lr);
    tf.dispose([value, ...Object.values(grads)]);
  }
  optimizer.dispose();
  return [losses[0], losses.at(-1)!];
}

const TRAINING_CASES: {method: string; head: HeadKind; lr: number}[] = [
  {method: 'ft', head: 'classification', lr: 3e-3},
  {method: 'pt', head: 'classification', lr: 3e-2},
  {method: 'prefix', head: 'classification', lr: 3e-3},
  {method: 'pt2', head: 'classification', lr: 3e-2},
  {method: 'mpt2', head: 'classification', lr: 3e-2},
  {method: 'pt2', head: 'choice', lr: 3e-2},
  {method: 'pt2', head: 'token', lr: 3e-2},
  {method: 'pt2', head: 'span', lr: 3e-2},
];

for (const c of TRAINING_CASES) {
  test(`${c.method} with the ${c.head} head trains on DeBERTa: the loss falls, memory stays flat`, async () => {
    await useBackend('wasm');
    const {checkpoint} = debertaCheckpoint(CONFIGS[0].overrides, 2);
    const encoderWeights = new EncoderWeights(checkpoint);
    const model = new TaskModel(encoderWeights, {prompt: {...PROMPT, method: c.method, dropout: 0.1}, head: c.head, numLabels: 3, dropout: 0.1, usePooler: true, seed: 4});
    const batch = {...randomBatch([8, 5, 7, 6], {vocab: 30}), spanStarts: new Int32Array([1, 2, 3, 1]), spanEnds: new Int32Array([2, 3, 4, 3]), candidates: new Float32Array(4 * 8).fill(1)};
    const labels = c.head === 'token' ? Int32Array.from({length: 4 * 8}, (_, i) => (batch.attentionMask[i] > 0 ? i % 3 : -1)) : new Int32Array([0, 1, 2, 1]);
    const choices = c.head === 'choice' ? 2 : 1;
    const choiceLabels = new Int32Array([1, 0]);
    const loss = () => model.loss(batch, c.head === 'choice' ? choiceLabels : labels, true, choices);
    trainSteps(model, loss, 2, c.lr);
    const tensorsBefore = tf.memory().numTensors;
    const [first, last] = trainSteps(model, loss, 12, c.lr);
    assert.ok(last < first, `loss ${first} → ${last}`);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors left over after 12 steps');
    model.dispose();
    encoderWeights.dispose();
  });
}
