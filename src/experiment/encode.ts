/**
 * `ptv2 models encode`: a checkpoint's hidden states for lines of text or of token ids, with or
 * without a PEFT prompt adapter applied as PEFT applies it (src/peft.ts cites the rules):
 *
 * - PREFIX_TUNING: the [P, 2·L·h] table split per layer into keys and values
 *   ([L0.key, L0.value, L1.key, …] per position), prepended in every layer's attention with ones in
 *   the key mask. Real tokens' positions start at P, as transformers counts them from the
 *   `past_key_values` length (RoBERTa: padding_idx + 1 + P + running count). Outputs have one row
 *   per input token. DeBERTa-v2 has no `past_key_values`, so PEFT cannot apply one: refused.
 * - PROMPT_TUNING: the [P, h] table prepended to the word embeddings (`inputs_embeds`), ones in the
 *   mask, token type 0; positions count from the first prompt vector. PEFT's outputs then begin
 *   with the P prompt rows, and so do these (`prompt_rows` says how many), and the pooler reads
 *   the first prompt vector, as it does under PEFT.
 *
 * Every input line is checked before anything is computed; a bad one is an error naming the file,
 * line and field. The tokenizer is loaded only when some line has text.
 */
import fs from 'node:fs';
import type * as TF from '@tensorflow/tfjs';
import type {Tf} from '../compute/backend.js';
import {describeJson, parseJsonl} from '../data/jsonl.js';
import {readText} from '../data/text-file.js';
import {UserError} from '../errors.js';
import {loadCheckpoint, type EncoderConfig} from '../model/checkpoint.js';
import {createEncoder} from '../model/encoders.js';
import {EncoderWeights, type PrefixKV, type PromptHooks} from '../model/encoder.js';
import {readPeftPrompt, type PeftPrompt} from '../peft.js';
import {loadTokenizer} from '../tokenizer/index.js';

export interface EncodeRequest {
  model: string;
  input: string;
  adapter?: string;
  /** Receives each output line (one JSON object, no newline). */
  write: (line: string) => void;
}

export interface EncodeSummary {
  lines: number;
  /** Text lines cut to fit the model's positions (longest first, as the tokenizer's pairs are). */
  truncated: number;
  promptRows: number;
}

interface InputLine {
  line: number;
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
}

type Raw = {line: number; text?: string; textPair?: string; ids?: {inputIds: number[]; tokenTypeIds?: number[]; attentionMask?: number[]}};

export async function encodeFile(tf: Tf, request: EncodeRequest): Promise<EncodeSummary> {
  const checkpoint = loadCheckpoint(request.model);
  const config = checkpoint.config;
  const adapter = request.adapter === undefined ? undefined : readPeftPrompt(request.adapter);
  if (adapter) checkAdapter(adapter, config, request.adapter!);
  const prompt = adapter?.shape[0] ?? 0;
  // Positions the real tokens may use: a prefix shifts them by P; an input prompt takes P itself.
  const budget = config.maxPositions - config.positionOffset - prompt;
  if (budget < 3) throw new UserError(`the adapter's ${prompt} virtual tokens leave ${budget} of the model's positions`, {file: request.adapter});

  const raws = parseInput(request.input);
  const needsTokenizer = raws.some((r) => r.text !== undefined);
  const tokenizer = needsTokenizer ? loadTokenizer(request.model) : undefined;
  let truncated = 0;
  const lines: InputLine[] = raws.map((raw) => {
    if (raw.text !== undefined) {
      const encoded = tokenizer!.encode(raw.text, raw.textPair, budget);
      if (encoded.truncated) truncated++;
      return {line: raw.line, inputIds: encoded.inputIds, tokenTypeIds: encoded.tokenTypeIds, attentionMask: encoded.inputIds.map(() => 1)};
    }
    return checkIds(raw, config, budget, request.input);
  });

  const weights = new EncoderWeights(checkpoint);
  const encoder = createEncoder(weights, {trainable: false, seed: 0});
  const table = adapter ? tf.tensor2d(adapter.table, adapter.shape) : undefined;
  try {
    for (const input of lines) {
      const n = input.inputIds.length;
      const batch = {batch: 1, seqLen: n, inputIds: Int32Array.from(input.inputIds), tokenTypeIds: Int32Array.from(input.tokenTypeIds), attentionMask: Float32Array.from(input.attentionMask)};
      const [hidden, pooled] = tf.tidy(() => {
        const hooks = adapter ? adapterHooks(tf, adapter, table!, config.numHeads) : {};
        const states = encoder.forward(batch, hooks, false);
        const first = tf.slice(states, [0, 0], [1, config.hiddenSize]);
        return [states.dataSync() as Float32Array, encoder.hasPooler ? (encoder.pool(first).dataSync() as Float32Array) : undefined] as const;
      });
      const h = config.hiddenSize;
      const rows = Array.from({length: hidden.length / h}, (_, i) => Array.from(hidden.subarray(i * h, (i + 1) * h)));
      const out: Record<string, unknown> = {input_ids: input.inputIds, last_hidden_state: rows};
      if (pooled) out.pooler_output = Array.from(pooled);
      if (adapter?.config.peft_type === 'PROMPT_TUNING') out.prompt_rows = prompt;
      request.write(JSON.stringify(out));
    }
  } finally {
    table?.dispose();
    encoder.dispose();
    weights.dispose();
  }
  return {lines: lines.length, truncated, promptRows: adapter?.config.peft_type === 'PROMPT_TUNING' ? prompt : 0};
}

/** The encoder hooks PEFT's adapter amounts to (see the header). */
function adapterHooks(tf: Tf, adapter: PeftPrompt, table: TF.Tensor2D, heads: number): PromptHooks {
  const [P, width] = adapter.shape;
  if (adapter.config.peft_type === 'PROMPT_TUNING') return {inputPrompt: table};
  const layers = adapter.config.num_layers!;
  const headDim = width / (2 * layers * heads);
  // [1, P, 2L, heads, headDim] → [2L, 1, heads, P, headDim], as PEFT's get_prompt permutes it.
  const parts = tf.unstack(tf.transpose(tf.reshape(table, [1, P, 2 * layers, heads, headDim]), [2, 0, 3, 1, 4]), 0) as TF.Tensor4D[];
  const layerPrefix: PrefixKV[] = Array.from({length: layers}, (_, l) => ({key: parts[2 * l], value: parts[2 * l + 1]}));
  return {layerPrefix, positionStart: P};
}

function checkAdapter(adapter: PeftPrompt, config: EncoderConfig, dir: string): void {
  const file = `${dir}/adapter_config.json`;
  const {config: peft} = adapter;
  const mismatch = (field: string, got: unknown, want: unknown) => {
    throw new UserError(`${JSON.stringify(got)} does not match the model's ${want}`, {file, field}, ['pass the checkpoint the adapter was trained on (its base_model_name_or_path)']);
  };
  if (peft.token_dim !== config.hiddenSize) mismatch('token_dim', peft.token_dim, `hidden_size ${config.hiddenSize}`);
  if (peft.peft_type === 'PREFIX_TUNING') {
    if (config.deberta) throw new UserError('a PREFIX_TUNING adapter cannot apply to DeBERTa-v2: DebertaV2Model takes no past_key_values, so PEFT cannot run it either', {file, field: 'peft_type'});
    if (peft.num_layers !== config.numLayers) mismatch('num_layers', peft.num_layers, `num_hidden_layers ${config.numLayers}`);
    if (peft.num_attention_heads !== config.numHeads) mismatch('num_attention_heads', peft.num_attention_heads, `num_attention_heads ${config.numHeads}`);
  }
}

function parseInput(file: string): Raw[] {
  if (!fs.existsSync(file)) throw new UserError('input file not found', {file});
  const lines = parseJsonl(readText(file), file);
  if (lines.length === 0) throw new UserError('no input lines', {file}, ['write one {"text": …} or {"input_ids": […]} object per line']);
  return lines.map(({value, line}) => {
    const fail = (field: string, message: string): never => {
      throw new UserError(message, {file, line, field});
    };
    const string = (key: string) => (value[key] === undefined ? undefined : typeof value[key] === 'string' ? (value[key] as string) : fail(key, `expected a string, got ${describeJson(value[key])}`));
    const ints = (key: string) => {
      const v = value[key];
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x))) return fail(key, `expected a list of integers, got ${describeJson(v)}`);
      return v as number[];
    };
    const text = string('text');
    const inputIds = ints('input_ids');
    if ((text === undefined) === (inputIds === undefined)) fail(text === undefined ? 'text' : 'input_ids', 'expected exactly one of "text" (with "text_pair" optional) or "input_ids"');
    if (text !== undefined) {
      for (const key of ['token_type_ids', 'attention_mask']) if (value[key] !== undefined) fail(key, 'goes with "input_ids", not with "text"');
      return {line, text, textPair: string('text_pair')};
    }
    if (value.text_pair !== undefined) fail('text_pair', 'goes with "text", not with "input_ids"');
    return {line, ids: {inputIds: inputIds!, tokenTypeIds: ints('token_type_ids'), attentionMask: ints('attention_mask')}};
  });
}

function checkIds(raw: Raw, config: EncoderConfig, budget: number, file: string): InputLine {
  const {line} = raw;
  const {inputIds, tokenTypeIds, attentionMask} = raw.ids!;
  const fail = (field: string, message: string): never => {
    throw new UserError(message, {file, line, field});
  };
  if (inputIds.length === 0) fail('input_ids', 'is empty');
  if (inputIds.length > budget) fail('input_ids', `${inputIds.length} tokens do not fit the model's ${budget} positions`);
  const badId = inputIds.findIndex((id) => id < 0 || id >= config.vocabSize);
  if (badId >= 0) fail('input_ids', `id ${inputIds[badId]} at position ${badId} is outside the vocabulary (0–${config.vocabSize - 1})`);
  for (const [key, values, limit] of [['token_type_ids', tokenTypeIds, Math.max(config.typeVocabSize, 1)], ['attention_mask', attentionMask, 2]] as const) {
    if (values === undefined) continue;
    if (values.length !== inputIds.length) fail(key, `has ${values.length} values for ${inputIds.length} input_ids`);
    const bad = values.findIndex((v) => v < 0 || v >= limit);
    if (bad >= 0) fail(key, `value ${values[bad]} at position ${bad} is not in 0–${limit - 1}`);
  }
  return {line, inputIds, tokenTypeIds: tokenTypeIds ?? inputIds.map(() => 0), attentionMask: attentionMask ?? inputIds.map(() => 1)};
}
