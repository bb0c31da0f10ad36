/**
 * The verbalizer head of the paper's Table 4: the input is written into a cloze template with one
 * mask token, and the score of each label is the logit the checkpoint's own masked-LM head gives
 * the label's word at the mask (PET-style, Schick & Schütze 2021). Only the label words' rows of
 * the decoder are computed, so no vocabulary-sized matmul runs.
 *
 * - The MLM head is the one stored with the checkpoint: BERT's (and legacy DeBERTa-v2's)
 *   `cls.predictions.{transform.dense, transform.LayerNorm, bias}` (activation: hidden_act),
 *   RoBERTa's `lm_head.{dense, layer_norm, bias}` (activation: GELU) or DeBERTa-v2's
 *   `lm_predictions.lm_head.{dense, LayerNorm, bias}` (hidden_act), the decoder tied to the word
 *   embeddings unless the file stores its own `decoder.weight`. Frozen by default (the encoder's
 *   own pretrained head is what makes the comparison with a new linear head interesting);
 *   `verbalizer.train_lm_head: true` trains dense, LayerNorm and bias (h² + 3h + V parameters).
 * - Templates use `{a}` and `{b}` for the example's two texts (or the named task's field names in
 *   TEMPLATE_FIELDS) and `[MASK]` for the mask. The P-tuning v2 reference implementation has no
 *   verbalizer (its SuperGLUE heads are linear), so the defaults below are ptv2's own, in the
 *   style of PET's patterns with yes/no/maybe words.
 */
import * as tf from '@tensorflow/tfjs';
import type {EncoderConfig} from './checkpoint.js';
import {ACTIVATIONS, embeddingLookup, layerNorm, linear, type Linear} from './layers.js';
import type {NamedTensor} from './safetensors.js';
import {UserError} from '../errors.js';

export const MASK_PLACEHOLDER = '[MASK]';

export interface VerbalizerDefault {
  template: string;
  words: Record<string, string>;
}

const YES_NO = {true: 'yes', false: 'no'};

/** ptv2's defaults for the named SuperGLUE classification tasks (COPA is multiple choice: no verbalizer). */
export const DEFAULT_VERBALIZERS: ReadonlyMap<string, VerbalizerDefault> = new Map<string, VerbalizerDefault>([
  ['rte', {template: '{premise} ? [MASK] , {hypothesis}', words: {entailment: 'yes', not_entailment: 'no'}}],
  ['cb', {template: '{premise} ? [MASK] , {hypothesis}', words: {entailment: 'yes', contradiction: 'no', neutral: 'maybe'}}],
  ['boolq', {template: '{passage} . question : {question} ? answer : [MASK] .', words: YES_NO}],
  ['wic', {template: '{sentence1} {sentence2} same meaning ? [MASK] .', words: YES_NO}],
  ['wsc', {template: '{text} question : does it refer to {span1} ? [MASK] .', words: YES_NO}],
  ['multirc', {template: '{paragraph} question and answer : {answer} ? [MASK] .', words: YES_NO}],
  ['record', {template: '{passage} {query} ? [MASK] .', words: YES_NO}],
]);

/** Which of the example's two texts each named task's field names stand for (see src/data/superglue.ts). */
export const TEMPLATE_FIELDS: ReadonlyMap<string, Record<string, 'a' | 'b'>> = new Map<string, Record<string, 'a' | 'b'>>([
  ['rte', {premise: 'a', hypothesis: 'b'}],
  ['cb', {premise: 'a', hypothesis: 'b'}],
  ['boolq', {question: 'a', passage: 'b'}],
  ['wic', {sentence1: 'a', sentence2: 'b'}],
  ['wsc', {text: 'a', span1: 'b'}],
  ['multirc', {paragraph: 'a', answer: 'b'}],
  ['record', {passage: 'a', query: 'b'}],
]);

/** A template split at its fields: literal text, `a`/`b` fields and the one mask, in order. */
export type TemplatePart = {text: string} | {field: 'a' | 'b'} | {mask: true};

/** `{premise} ? [MASK] , {hypothesis}` → parts; a field the task does not know, or not exactly one mask, is an error. */
export function parseTemplate(template: string, task: string, where: {file?: string; field: string}): TemplatePart[] {
  const aliases: Record<string, 'a' | 'b'> = {a: 'a', b: 'b', ...TEMPLATE_FIELDS.get(task)};
  const parts: TemplatePart[] = [];
  let masks = 0;
  for (const piece of template.split(/(\{[^}]*\}|\[MASK\])/)) {
    if (piece === '') continue;
    if (piece === MASK_PLACEHOLDER) {
      masks++;
      parts.push({mask: true});
    } else if (piece.startsWith('{') && piece.endsWith('}')) {
      const field = aliases[piece.slice(1, -1)];
      if (!field) throw new UserError(`unknown field ${piece} in the template; known: ${Object.keys(aliases).map((k) => `{${k}}`).join(', ')}`, where);
      parts.push({field});
    } else if (piece.trim() !== '') {
      parts.push({text: piece.trim()});
    }
  }
  if (masks !== 1) throw new UserError(`the template needs exactly one ${MASK_PLACEHOLDER}, it has ${masks}`, where);
  return parts;
}

/** What encoding needs of a tokenizer (a PtTokenizer has it). */
export interface TemplateTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  encode(textA: string, textB: string | undefined, maxLength: number): {inputIds: number[]};
}

/** Sub-token ids of a text without the specials the tokenizer adds around it. */
function pieceIds(tokenizer: TemplateTokenizer, text: string): number[] {
  const ids = tokenizer.encode(text, undefined, Number.MAX_SAFE_INTEGER).inputIds;
  return ids.filter((id, i) => !((i === 0 && id === tokenizer.clsId) || (i === ids.length - 1 && id === tokenizer.sepId)));
}

/**
 * [CLS] template [SEP] as one segment. Each part is tokenised alone; when the whole is longer
 * than maxLength, the longer of the two example texts loses tokens from its end first (the
 * template's own words and the mask are never cut).
 */
export function encodeTemplate(parts: readonly TemplatePart[], texts: {a: string; b?: string}, tokenizer: TemplateTokenizer, maxLength: number): {inputIds: number[]; tokenTypeIds: number[]; truncated: boolean} {
  const pieces = parts.map((part) => ('mask' in part ? {ids: [tokenizer.maskId], field: false} : 'field' in part ? {ids: pieceIds(tokenizer, texts[part.field] ?? ''), field: true} : {ids: pieceIds(tokenizer, part.text), field: false}));
  const total = () => 2 + pieces.reduce((n, p) => n + p.ids.length, 0);
  const fixed = 2 + pieces.filter((p) => !p.field).reduce((n, p) => n + p.ids.length, 0);
  if (fixed > maxLength) throw new UserError(`the template alone takes ${fixed} tokens, more than max_length ${maxLength}`, {field: 'verbalizer.template'});
  let truncated = false;
  while (total() > maxLength) {
    const longest = pieces.filter((p) => p.field).reduce((a, b) => (b.ids.length > a.ids.length ? b : a));
    longest.ids = longest.ids.slice(0, longest.ids.length - (total() - maxLength));
    truncated = true;
  }
  const inputIds = [tokenizer.clsId, ...pieces.flatMap((p) => p.ids), tokenizer.sepId];
  return {inputIds, tokenTypeIds: inputIds.map(() => 0), truncated};
}

/**
 * Label words → token ids, one per label in the task's label order. A label without a word, or a
 * word that is not exactly one token of the vocabulary, is an error naming it.
 */
export function labelWordIds(labels: readonly string[], words: Record<string, string>, tokenizer: TemplateTokenizer & {readonly unkId: number}, where: {file?: string; field: string}): Int32Array {
  return Int32Array.from(labels, (label) => {
    const word = words[label];
    if (word === undefined) throw new UserError(`no word for label "${label}"; give one per label (${labels.join(', ')})`, where);
    const ids = pieceIds(tokenizer, word);
    if (ids.length !== 1 || ids[0] === tokenizer.unkId) {
      throw new UserError(`label word "${word}" (label "${label}") is ${ids.length === 1 ? 'not in' : `${ids.length} tokens of`} the checkpoint's vocabulary; a label word must be exactly one token`, where, ['pick a word the vocabulary holds as one token']);
    }
    return ids[0];
  });
}

/** A checkpoint's MLM head tensors, as stored ([out, in] weights). */
export interface StoredMlmHead {
  names: {dense: string; norm: string; bias: string; decoder: string};
  dense: {weight: NamedTensor; bias: NamedTensor};
  norm: {weight: NamedTensor; bias: NamedTensor};
  bias: NamedTensor;
  /** An untied decoder [V, h]; absent: tied to the word embeddings. */
  decoder?: NamedTensor;
  /** RoBERTa's head uses GELU whatever hidden_act says. */
  activation: string;
}

const MLM_LAYOUTS = [
  {dense: 'cls.predictions.transform.dense', norm: 'cls.predictions.transform.LayerNorm', bias: 'cls.predictions.bias', decoder: 'cls.predictions.decoder.weight', fixedActivation: undefined},
  {dense: 'lm_head.dense', norm: 'lm_head.layer_norm', bias: 'lm_head.bias', decoder: 'lm_head.decoder.weight', fixedActivation: 'gelu'},
  // DebertaV2ForMaskedLM without `legacy` (the layout of Microsoft's original DeBERTa-v2/v3 heads).
  {dense: 'lm_predictions.lm_head.dense', norm: 'lm_predictions.lm_head.LayerNorm', bias: 'lm_predictions.lm_head.bias', decoder: 'lm_predictions.lm_head.decoder.weight', fixedActivation: undefined},
] as const;

/** The checkpoint's MLM head; a checkpoint without one is an error naming the tensors it lacks. */
export function readMlmHead(heads: ReadonlyMap<string, NamedTensor>, config: EncoderConfig, dir: string): StoredMlmHead {
  const wanted = (layout: (typeof MLM_LAYOUTS)[number]) => [`${layout.dense}.weight`, `${layout.dense}.bias`, `${layout.norm}.weight`, `${layout.norm}.bias`, layout.bias];
  const layout = MLM_LAYOUTS.find((l) => wanted(l).every((name) => heads.has(name)));
  if (!layout) {
    const preferred = config.modelType === 'roberta' ? MLM_LAYOUTS[1] : MLM_LAYOUTS[0];
    const missing = wanted(preferred).filter((name) => !heads.has(name));
    throw new UserError(`the verbalizer head scores label words with the checkpoint's masked-LM head, and ${dir} has none: missing ${missing.join(', ')}`, {file: dir, field: 'head'}, [
      'use a *ForMaskedLM checkpoint (e.g. bert-large-cased, roberta-large as published), or head: linear',
    ]);
  }
  const get = (name: string) => heads.get(name)!;
  return {
    names: {dense: layout.dense, norm: layout.norm, bias: layout.bias, decoder: layout.decoder},
    dense: {weight: get(`${layout.dense}.weight`), bias: get(`${layout.dense}.bias`)},
    norm: {weight: get(`${layout.norm}.weight`), bias: get(`${layout.norm}.bias`)},
    bias: get(layout.bias),
    ...(heads.has(layout.decoder) ? {decoder: get(layout.decoder)} : {}),
    activation: layout.fixedActivation ?? config.hiddenAct,
  };
}

/** Trainable parameters of the MLM head when train_lm_head is set: dense h² + h, LayerNorm 2h, bias V. */
export function mlmHeadParamCount(hidden: number, vocab: number): number {
  return hidden * hidden + 3 * hidden + vocab;
}

let nextId = 0;

/** Label scores from the states at the mask: act(dense) → LayerNorm → · decoder rows of the label words + their biases. */
export class VerbalizerHead {
  readonly variables: tf.Variable[] = [];
  /** The head's tensors whether trained or not, for the total parameter count. */
  readonly size: number;
  private readonly dense: Linear;
  private readonly norm: [tf.Tensor1D, tf.Tensor1D];
  private readonly bias: tf.Tensor1D;
  private readonly decoder?: tf.Tensor2D;
  private readonly owned: tf.Tensor[] = [];

  constructor(
    stored: StoredMlmHead,
    private readonly config: EncoderConfig,
    readonly wordIds: Int32Array,
    trainable: boolean,
  ) {
    const id = nextId++;
    const keep = <T extends tf.Tensor>(name: string, t: T): T => {
      if (!trainable) {
        this.owned.push(t);
        return t;
      }
      const v = tf.variable(t, true, `${name}#verbalizer${id}`);
      t.dispose();
      this.variables.push(v);
      return v as unknown as T;
    };
    const h = config.hiddenSize;
    const tensor = (t: NamedTensor) => tf.tensor(t.data as Float32Array, t.shape);
    // Weights as [in, out] for linear(); stored as [out, in].
    this.dense = {
      w: keep(`${stored.names.dense}.weight`, tf.tidy(() => tf.transpose(tensor(stored.dense.weight) as tf.Tensor2D))),
      b: keep(`${stored.names.dense}.bias`, tensor(stored.dense.bias) as tf.Tensor1D),
    };
    this.norm = [keep(`${stored.names.norm}.weight`, tensor(stored.norm.weight) as tf.Tensor1D), keep(`${stored.names.norm}.bias`, tensor(stored.norm.bias) as tf.Tensor1D)];
    this.bias = keep(stored.names.bias, tensor(stored.bias) as tf.Tensor1D);
    // An untied decoder stays frozen: only its label rows are ever read.
    if (stored.decoder) this.owned.push((this.decoder = tensor(stored.decoder) as tf.Tensor2D));
    this.activation = stored.activation;
    this.size = h * h + 3 * h + config.vocabSize;
  }

  private readonly activation: string;

  /** maskStates [rows, h] → label logits [rows, labels]; `wordEmbeddings` [V, h] is the tied decoder. Call inside tf.tidy. */
  logits(maskStates: tf.Tensor2D, wordEmbeddings: tf.Tensor2D): tf.Tensor2D {
    const act = ACTIVATIONS.get(this.activation) ?? ACTIVATIONS.get('gelu')!;
    const transformed = layerNorm(act(linear(this.dense, maskStates)), this.norm[0], this.norm[1], this.config.layerNormEps);
    // The label words' decoder rows [labels, h] and biases [labels].
    const rows = embeddingLookup(this.decoder ?? wordEmbeddings, this.wordIds);
    // The biases by a host-built one-hot product, whose gradient every backend has (gather's lacks a WASM kernel).
    const pick = new Float32Array(this.wordIds.length * this.config.vocabSize);
    this.wordIds.forEach((word, i) => (pick[i * this.config.vocabSize + word] = 1));
    const biases = tf.reshape(tf.matMul(tf.tensor2d(pick, [this.wordIds.length, this.config.vocabSize]), tf.reshape(this.bias, [-1, 1]) as tf.Tensor2D), [-1]);
    return tf.add(tf.matMul(transformed, rows, false, true), biases);
  }

  dispose(): void {
    tf.dispose(this.variables);
    tf.dispose(this.owned);
  }
}

/** Flat row (b·T + offset + s) of each example's first mask token; an input without one is an error. */
export function maskRows(inputIds: Int32Array, batch: number, seqLen: number, maskId: number, offset: number): Int32Array {
  const rows = new Int32Array(batch);
  const total = seqLen + offset;
  for (let b = 0; b < batch; b++) {
    let s = 0;
    while (s < seqLen && inputIds[b * seqLen + s] !== maskId) s++;
    if (s === seqLen) throw new Error(`example ${b} of the batch has no mask token for the verbalizer`);
    rows[b] = b * total + offset + s;
  }
  return rows;
}
