/**
 * DeBERTa-v2/v3 checkpoints (`model_type: "deberta-v2"`): the config keys transformers'
 * `DebertaV2Config` and `modeling_deberta_v2` read (with the defaults they fall back to when a
 * key is absent), the tensors `DebertaV2Model` holds, and the config.json a random one gets.
 * checkpoint.ts keeps the keys every family shares; this file adds DeBERTa's own.
 */

import type {HiddenActivation, RandomCheckpointOptions, TensorSpec} from './checkpoint.js';

export type PositionAttention = 'c2p' | 'p2c';

export interface DebertaSettings {
  /** `relative_attention`: c2p/p2c terms over a relative embedding table. */
  relativeAttention: boolean;
  /** `position_buckets` (≤ 0: no log bucketing). */
  positionBuckets: number;
  /** `max_relative_positions`, already defaulted to max_position_embeddings when < 1, as HF does. */
  maxRelativePositions: number;
  /** Rows either side of the centre of the relative table: position_buckets if > 0, else max_relative_positions. */
  span: number;
  /** `pos_att_type`, lower-cased, in config order. */
  posAttType: PositionAttention[];
  /** `share_att_key`: positions are projected by query_proj/key_proj instead of pos_query_proj/pos_key_proj. */
  shareAttKey: boolean;
  /** `norm_rel_ebd` includes `layer_norm`: encoder.LayerNorm is applied to the relative table. */
  normRelEmbeddings: boolean;
  /** `position_biased_input`: absolute position embeddings are added to the input (DeBERTa-v3: false). */
  positionBiasedInput: boolean;
  /** The ContextPooler of the sequence-classification heads: dense(pooler_hidden_size) → pooler_hidden_act. */
  poolerHiddenSize: number;
  poolerHiddenAct: PoolerActivation;
  poolerDropout: number;
}

export type PoolerActivation = HiddenActivation | 'tanh';

const POOLER_ACTIVATIONS: readonly PoolerActivation[] = ['gelu', 'gelu_new', 'relu', 'tanh'];
const POSITION_ATTENTIONS: readonly PositionAttention[] = ['c2p', 'p2c'];

/** What normalising a config needs from checkpoint.ts: its error helper and the shared sizes. */
export interface ConfigContext {
  raw: Record<string, unknown>;
  fail(field: string, message: string): never;
  hiddenSize: number;
  numHeads: number;
  maxPositions: number;
}

function present(raw: Record<string, unknown>, key: string): boolean {
  return raw[key] !== undefined && raw[key] !== null;
}

/** DeBERTa's own keys → settings; what ptv2 does not implement is refused, naming the key. */
export function normaliseDebertaSettings({raw, fail, hiddenSize, numHeads, maxPositions}: ConfigContext): DebertaSettings {
  const bool = (key: string, fallback: boolean): boolean => {
    if (!present(raw, key)) return fallback;
    return typeof raw[key] === 'boolean' ? (raw[key] as boolean) : fail(key, `must be true or false, got ${JSON.stringify(raw[key])}`);
  };
  const int = (key: string, fallback: number): number => {
    if (!present(raw, key)) return fallback;
    const value = raw[key];
    return typeof value === 'number' && Number.isSafeInteger(value) ? value : fail(key, `must be an integer, got ${JSON.stringify(value)}`);
  };
  const unsupported = (key: string, why: string, fix: string): never => fail(key, `${why}; ptv2's DeBERTa encoder does not implement it (${fix})`);

  if (int('conv_kernel_size', 0) > 0) unsupported('conv_kernel_size', `${raw.conv_kernel_size} asks for the ConvLayer after the first layer (DeBERTa-v2-xlarge/xxlarge)`, 'DeBERTa-v3 checkpoints have none');
  if (present(raw, 'embedding_size') && raw.embedding_size !== hiddenSize) unsupported('embedding_size', `${JSON.stringify(raw.embedding_size)} differs from hidden_size ${hiddenSize} (an embed_proj layer)`, 'use a checkpoint whose embedding_size equals hidden_size');
  if (present(raw, 'attention_head_size') && raw.attention_head_size !== hiddenSize / numHeads) {
    unsupported('attention_head_size', `${JSON.stringify(raw.attention_head_size)} is not hidden_size / num_attention_heads = ${hiddenSize / numHeads}`, 'use a checkpoint without attention_head_size');
  }

  const posAttType = parsePosAttType(raw.pos_att_type, fail);
  const maxRelative = int('max_relative_positions', -1);
  const maxRelativePositions = maxRelative < 1 ? maxPositions : maxRelative;
  const positionBuckets = int('position_buckets', -1);
  const normRel = typeof raw.norm_rel_ebd === 'string' ? raw.norm_rel_ebd.toLowerCase().split('|').map((s) => s.trim()) : ['none'];
  const poolerHiddenSize = int('pooler_hidden_size', hiddenSize);
  if (poolerHiddenSize !== hiddenSize) unsupported('pooler_hidden_size', `${poolerHiddenSize} differs from hidden_size ${hiddenSize}`, 'the ContextPooler reads hidden states, so HF needs them equal too');
  const poolerHiddenAct = (raw.pooler_hidden_act ?? 'gelu') as PoolerActivation;
  if (!POOLER_ACTIVATIONS.includes(poolerHiddenAct)) fail('pooler_hidden_act', `unsupported activation ${JSON.stringify(raw.pooler_hidden_act)}; supported: ${POOLER_ACTIVATIONS.join(', ')}`);
  const poolerDropout = present(raw, 'pooler_dropout') ? raw.pooler_dropout : 0;
  if (typeof poolerDropout !== 'number' || poolerDropout < 0 || poolerDropout >= 1) fail('pooler_dropout', `must be a number in [0, 1), got ${JSON.stringify(poolerDropout)}`);

  return {
    relativeAttention: bool('relative_attention', false),
    positionBuckets,
    maxRelativePositions,
    span: positionBuckets > 0 ? positionBuckets : maxRelativePositions,
    posAttType,
    shareAttKey: bool('share_att_key', false),
    normRelEmbeddings: normRel.includes('layer_norm'),
    positionBiasedInput: bool('position_biased_input', true),
    poolerHiddenSize,
    poolerHiddenAct,
    poolerDropout: poolerDropout as number,
  };
}

/** `pos_att_type`: a list, or the older `"p2c|c2p"` string DebertaV2Config still accepts. */
function parsePosAttType(value: unknown, fail: ConfigContext['fail']): PositionAttention[] {
  if (value === undefined || value === null) return [];
  const items = typeof value === 'string' ? value.toLowerCase().split('|').map((s) => s.trim()) : value;
  if (!Array.isArray(items) || items.some((item) => typeof item !== 'string')) return fail('pos_att_type', `must be a list such as ["p2c", "c2p"], got ${JSON.stringify(value)}`);
  const lowered = (items as string[]).map((item) => item.toLowerCase());
  const unknown = lowered.find((item) => !POSITION_ATTENTIONS.includes(item as PositionAttention));
  if (unknown !== undefined) return fail('pos_att_type', `unsupported term ${JSON.stringify(unknown)}; DeBERTa-v2 computes ${POSITION_ATTENTIONS.join(' and ')}`);
  return [...new Set(lowered)] as PositionAttention[];
}

/** Builds tensor specs under the model prefix (see checkpoint.ts). */
export interface SpecBuilder {
  add(name: string, shape: number[], optional?: boolean): void;
  linear(name: string, outSize: number, inSize: number): void;
  layerNorm(name: string): void;
  specs: TensorSpec[];
}

/** The tensors of `DebertaV2Model`, named as it writes them (before the `deberta.` prefix). */
export function debertaTensorSpecs(
  b: SpecBuilder,
  sizes: {vocabSize: number; hiddenSize: number; intermediateSize: number; numLayers: number; maxPositions: number; typeVocabSize: number},
  settings: DebertaSettings,
): void {
  const {hiddenSize: h, intermediateSize: inter} = sizes;
  b.add('embeddings.word_embeddings.weight', [sizes.vocabSize, h]);
  if (settings.positionBiasedInput) b.add('embeddings.position_embeddings.weight', [sizes.maxPositions, h]);
  if (sizes.typeVocabSize > 0) b.add('embeddings.token_type_embeddings.weight', [sizes.typeVocabSize, h]);
  b.layerNorm('embeddings.LayerNorm');
  const separatePositionProjections = settings.relativeAttention && !settings.shareAttKey;
  for (let i = 0; i < sizes.numLayers; i++) {
    const layer = `encoder.layer.${i}`;
    for (const proj of ['query_proj', 'key_proj', 'value_proj']) b.linear(`${layer}.attention.self.${proj}`, h, h);
    if (separatePositionProjections && settings.posAttType.includes('c2p')) b.linear(`${layer}.attention.self.pos_key_proj`, h, h);
    if (separatePositionProjections && settings.posAttType.includes('p2c')) b.linear(`${layer}.attention.self.pos_query_proj`, h, h);
    b.linear(`${layer}.attention.output.dense`, h, h);
    b.layerNorm(`${layer}.attention.output.LayerNorm`);
    b.linear(`${layer}.intermediate.dense`, inter, h);
    b.linear(`${layer}.output.dense`, h, inter);
    b.layerNorm(`${layer}.output.LayerNorm`);
  }
  if (settings.relativeAttention) b.add('encoder.rel_embeddings.weight', [2 * settings.span, h]);
  if (settings.relativeAttention && settings.normRelEmbeddings) b.layerNorm('encoder.LayerNorm');
}

/**
 * Tensors transformers itself skips when loading a DebertaV2Model (`_keys_to_ignore_on_load_unexpected`):
 * absolute position embeddings in a checkpoint that does not add them to its input.
 */
export function debertaIgnoredTensors(settings: DebertaSettings): string[] {
  return settings.positionBiasedInput ? [] : ['embeddings.position_embeddings.weight'];
}

/**
 * The DeBERTa-v3 keys of a random checkpoint's config.json (DeBERTa-v3-base's settings: relative
 * attention over 256 log buckets, shared keys, LayerNorm on the relative table, no absolute
 * positions, no token types), with `options.configOverrides` applied.
 */
export function debertaRandomConfig(options: RandomCheckpointOptions): Record<string, unknown> {
  return {
    architectures: ['DebertaV2Model'],
    layer_norm_eps: 1e-7,
    max_relative_positions: -1,
    norm_rel_ebd: 'layer_norm',
    pooler_dropout: 0,
    pooler_hidden_act: 'gelu',
    pooler_hidden_size: options.hidden,
    pos_att_type: ['p2c', 'c2p'],
    position_biased_input: false,
    position_buckets: 256,
    relative_attention: true,
    share_att_key: true,
    type_vocab_size: 0,
  };
}
