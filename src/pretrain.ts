/**
 * ptv2's built-in pretrained model: a small BERT (or RoBERTa) trained by masked language modelling
 * on the synthetic world's text (src/data/synthetic/corpus.ts), on CPU, with the same trainer and
 * AdamW as every run. The result is written as transformers writes a `BertForMaskedLM`: `bert.*`
 * encoder tensors, `cls.predictions.*` head tensors (the decoder is tied to the word embeddings,
 * so it is not stored) and `architectures: ["BertForMaskedLM"]`, so `loadCheckpoint` reads the
 * encoder and sets the head aside, and `BertForMaskedLM.from_pretrained` loads every tensor. A
 * RoBERTa is a `RobertaForMaskedLM` (`roberta.*`, `lm_head.*`) with its byte-level BPE
 * vocabulary; the masking and objective are the same (RoBERTa's dynamic masking is what both do).
 *
 * Plus a pooler (`bert.pooler.dense.*`), which MLM neither uses nor trains: it is stored as
 * initialised (BERT's N(0, 0.02) weights, zero bias, the random checkpoint's own draw). Without
 * it, a classifier built on this checkpoint — ptv2's with `model.use_pooler`, or transformers'
 * `BertForSequenceClassification` under a PEFT adapter ptv2 exported — would each draw a pooler of
 * its own, so a prompt trained in ptv2 could not be exported. With it, both read the same one.
 *
 * Masks are drawn afresh every epoch (RoBERTa's dynamic masking; BERT duplicated its data with
 * 10 static masks for the same effect). The held-out slice is masked once, so epochs compare.
 * Reference: Devlin et al. 2019; Liu et al. 2019 (RoBERTa) §4.1.
 */
import * as tf from '@tensorflow/tfjs';
import type {z} from 'zod';
import type {modelPretrainSchema} from './config/schema.js';
import {pretrainingCorpus, type CorpusItem} from './data/synthetic/corpus.js';
import {evaluationBatches, trainingBatches, type Feature} from './data/features.js';
import type {ByteLevelBpeVocab} from './model/bpe-vocab.js';
import {writeDirectoryAtomically} from './model/atomic-dir.js';
import {modelPrefix, normaliseConfig, randomCheckpoint, writeCheckpoint, type RandomCheckpointOptions} from './model/checkpoint.js';
import {EncoderWeights} from './model/encoder.js';
import {maskBatch, maskedLmArchitecture, MaskedLanguageModel, type MaskedBatch, type MaskingSpec, type MlmScore} from './model/mlm.js';
import type {NamedTensor} from './model/safetensors.js';
import {deriveSeed, mulberry32, shuffled} from './random.js';
import {buildByteLevelBpeTokenizerJson, buildWordPieceTokenizerJson, tokenizerFromJson, type PtTokenizer} from './tokenizer/index.js';
import {restoreState, train, yieldToEventLoop, type TrainEvent} from './train/trainer.js';

export interface PretrainSettings {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Tokens per input incl. [CLS]/[SEP]; longer items are cut longest-first. */
  maxLength: number;
  /** Share of each input's real tokens that is predicted. */
  maskRate: number;
  /** Corpus items kept out of training to measure the MLM loss and accuracy on. */
  heldOut: number;
  warmupRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  /** Hidden and attention dropout while pretraining (the written config keeps BERT's 0.1 for later runs). */
  dropout: number;
}

/** `model.init.pretrain` as the config schema gives it (defaults filled in). */
export type PretrainConfig = z.output<typeof modelPretrainSchema>;

/** What stays fixed: every ptv2 run's 10% linear warm-up, BERT's weight decay 0.01 and clipping at norm 1. */
const RECIPE = {warmupRatio: 0.1, weightDecay: 0.01, maxGradNorm: 1.0};
/** ~1,500 masked tokens: a standard error of about 1 point on the accuracy. */
const HELD_OUT_ITEMS = 500;

export function pretrainSettings(config: PretrainConfig): PretrainSettings {
  return {
    epochs: config.epochs,
    batchSize: config.batch_size,
    lr: config.lr,
    maxLength: config.max_length,
    maskRate: config.mask_rate,
    heldOut: HELD_OUT_ITEMS,
    dropout: config.dropout,
    ...RECIPE,
  };
}

export interface PretrainEpoch {
  epoch: number;
  trainLoss: number;
  /** Held-out MLM loss (mean cross-entropy over the masked tokens) and masked-token accuracy. */
  loss: number;
  accuracy: number;
  seconds: number;
}

export interface PretrainReport {
  epochs: PretrainEpoch[];
  /** Predicting every masked token from corpus frequencies alone: the most frequent token, and the unigram distribution's loss. */
  unigram: {accuracy: number; loss: number};
  trainItems: number;
  heldOutItems: number;
  heldOutTargets: number;
  steps: number;
  seconds: number;
}

/** One input per corpus item: [CLS] A [SEP] (B [SEP]). */
function corpusFeatures(items: readonly CorpusItem[], tokenizer: PtTokenizer, maxLength: number): Feature[] {
  return items.map((item, example) => {
    const {inputIds, tokenTypeIds} = tokenizer.encode(item.textA, item.textB, maxLength);
    return {inputIds, tokenTypeIds, label: -1, example};
  });
}

/** [CLS], [SEP], [PAD] and [MASK] are never predicted nor drawn as random replacements; neither are a vocabulary's `[unusedN]` fillers. */
export function maskingSpec(tokenizer: PtTokenizer, vocab: readonly string[], rate: number): MaskingSpec {
  const specialIds = new Set([tokenizer.clsId, tokenizer.sepId, tokenizer.padId, tokenizer.maskId]);
  const ordinary = vocab.flatMap((token, id) => (specialIds.has(id) || id === tokenizer.unkId || /^\[unused\d+\]$/.test(token) ? [] : [id]));
  return {maskId: tokenizer.maskId, specialIds, randomIds: Int32Array.from(ordinary), rate};
}

/**
 * The unigram baseline on the held-out targets: always the training tokens' most frequent token
 * (accuracy), and the cross-entropy of their add-one-smoothed frequencies (loss).
 */
export function unigramBaseline(trainIds: Iterable<number>, targets: Int32Array, vocabSize: number): {accuracy: number; loss: number} {
  const counts = new Float64Array(vocabSize);
  let total = 0;
  for (const id of trainIds) {
    counts[id] += 1;
    total += 1;
  }
  let top = 0;
  for (let id = 1; id < vocabSize; id++) if (counts[id] > counts[top]) top = id;
  let correct = 0;
  let loss = 0;
  for (const target of targets) {
    if (target === top) correct += 1;
    loss -= Math.log((counts[target] + 1) / (total + vocabSize));
  }
  return {accuracy: correct / Math.max(1, targets.length), loss: loss / Math.max(1, targets.length)};
}

function addScores(scores: MlmScore[]): MlmScore {
  return scores.reduce((a, s) => ({lossSum: a.lossSum + s.lossSum, correct: a.correct + s.correct, count: a.count + s.count}), {lossSum: 0, correct: 0, count: 0});
}

/**
 * Trains `weights`' encoder with an MLM head on `corpus` and returns every tensor under
 * BertForMaskedLM's names, with the per-epoch held-out loss and accuracy. `weights` is not changed.
 */
export async function pretrainMlm(
  weights: EncoderWeights,
  tokenizer: PtTokenizer,
  vocab: readonly string[],
  corpus: readonly CorpusItem[],
  settings: PretrainSettings,
  seed: number,
  onEvent: (event: TrainEvent) => void = () => {},
  signal?: AbortSignal,
): Promise<{tensors: Map<string, NamedTensor>; report: PretrainReport}> {
  const started = Date.now();
  const spec = maskingSpec(tokenizer, vocab, settings.maskRate);
  const items = shuffled(corpus, mulberry32(deriveSeed(seed, 'pretrain/split')));
  const heldOutCount = Math.min(settings.heldOut, Math.floor(items.length / 2));
  const trainFeatures = corpusFeatures(items.slice(heldOutCount), tokenizer, settings.maxLength);
  const heldOutRng = mulberry32(deriveSeed(seed, 'pretrain/held-out-masks'));
  const heldOut: MaskedBatch[] = evaluationBatches(corpusFeatures(items.slice(0, heldOutCount), tokenizer, settings.maxLength), settings.batchSize, tokenizer.padId)
    .map((batch) => maskBatch(batch, spec, heldOutRng));
  const heldOutTargets = Int32Array.from(heldOut.flatMap((batch) => [...batch.targets]));
  const unigram = unigramBaseline(
    trainFeatures.flatMap((f) => f.inputIds.filter((id) => !spec.specialIds.has(id))),
    heldOutTargets,
    weights.config.vocabSize,
  );

  const model = new MaskedLanguageModel(weights, {seed: deriveSeed(seed, 'pretrain/model'), dropout: settings.dropout});
  const epochs: PretrainEpoch[] = [];
  let pending: Pick<PretrainEpoch, 'trainLoss' | 'seconds'> = {trainLoss: NaN, seconds: 0};
  try {
    const result = await train<MaskedBatch>({
      variables: model.variables,
      epochs: settings.epochs,
      lr: settings.lr,
      weightDecay: settings.weightDecay,
      warmupRatio: settings.warmupRatio,
      maxGradNorm: settings.maxGradNorm,
      logEvery: 50,
      stepsPerEpoch: Math.ceil(trainFeatures.length / settings.batchSize),
      batchesForEpoch: (epoch) => {
        // Fresh masks every epoch, from a stream of their own.
        const rng = mulberry32(deriveSeed(seed, `pretrain/epoch-${epoch}`));
        return trainingBatches(trainFeatures, settings.batchSize, tokenizer.padId, rng).map((batch) => maskBatch(batch, spec, rng));
      },
      lossOf: (batch, training) => model.loss(batch, training),
      evaluate: async () => {
        const scores: MlmScore[] = [];
        for (const batch of heldOut) {
          scores.push(model.score(batch));
          await yieldToEventLoop(signal);
        }
        const total = addScores(scores);
        return {loss: total.lossSum / Math.max(1, total.count), accuracy: total.correct / Math.max(1, total.count)};
      },
      keyMetric: 'accuracy',
      signal,
      onEvent: (event) => {
        if (event.type === 'epoch') pending = {trainLoss: event.trainLoss, seconds: event.seconds};
        if (event.type === 'eval') epochs.push({epoch: event.epoch, ...pending, loss: event.metrics.loss, accuracy: event.metrics.accuracy});
        onEvent(event);
      },
    });
    restoreState(model.variables, result.bestState);
    tf.dispose(result.bestState);
    const report: PretrainReport = {
      epochs,
      unigram,
      trainItems: trainFeatures.length,
      heldOutItems: heldOutCount,
      heldOutTargets: heldOutTargets.length,
      steps: result.steps,
      seconds: (Date.now() - started) / 1000,
    };
    return {tensors: model.tensors(), report};
  } finally {
    model.dispose();
  }
}

/**
 * A random BERT or RoBERTa (as `randomCheckpoint`) pretrained on `corpus`: config.json contents and
 * tensors of a BertForMaskedLM / RobertaForMaskedLM, ready for writeCheckpoint.
 */
export async function pretrainedCheckpoint(
  options: RandomCheckpointOptions,
  tokenizer: PtTokenizer,
  vocab: readonly string[],
  corpus: readonly CorpusItem[],
  settings: PretrainSettings,
  onEvent?: (event: TrainEvent) => void,
  signal?: AbortSignal,
): Promise<{config: Record<string, unknown>; weights: Map<string, NamedTensor>; report: PretrainReport}> {
  const modelType = options.modelType ?? 'bert';
  const architecture = maskedLmArchitecture(modelType);
  if (!architecture) throw new Error(`MLM pretraining writes BertForMaskedLM or RobertaForMaskedLM: the model type must be bert or roberta, not ${modelType}`);
  const random = randomCheckpoint(options);
  // MLM does not reach the pooler, so it stays out of training (weight decay would shrink it) and is stored as drawn.
  const isPooler = (name: string) => name.startsWith(`${modelPrefix(modelType)}.pooler.`);
  const encoderOnly = new Map([...random.weights].filter(([name]) => !isPooler(name)));
  const pooler = [...random.weights].filter(([name]) => isPooler(name));
  // The settings' dropout replaces the config's attention dropout too, while pretraining only.
  const config = {...normaliseConfig(random.config), attentionDropout: settings.dropout};
  const weights = new EncoderWeights({dir: '<random>', config, weights: encoderOnly, hasPooler: false, heads: new Map()});
  try {
    const seed = options.seed ?? 0;
    const {tensors, report} = await pretrainMlm(weights, tokenizer, vocab, corpus, settings, seed, onEvent, signal);
    return {config: {...random.config, architectures: [architecture]}, weights: new Map([...tensors, ...pooler]), report};
  } finally {
    weights.dispose();
  }
}

/** The tokenizer a created checkpoint's vocabulary gives when loaded: WordPiece (lower-cased) or byte-level BPE. */
export function vocabTokenizer(vocab: string[] | ByteLevelBpeVocab): PtTokenizer {
  if (Array.isArray(vocab)) return tokenizerFromJson(buildWordPieceTokenizerJson(vocab, {lowercase: true, stripAccents: null}));
  const ids = Object.fromEntries(vocab.tokens.map((token, id) => [token, id]));
  return tokenizerFromJson(buildByteLevelBpeTokenizerJson(ids, vocab.merges.map((pair) => pair.join(' '))));
}

/**
 * Pretrains a random BERT (RoBERTa with `options.modelType: roberta`) of `options`' sizes on the
 * synthetic world's corpus and writes it to `dir` as a BertForMaskedLM with `vocab` (the world's
 * WordPiece vocabulary; RoBERTa: its byte-level BPE). The directory appears only once complete:
 * it is written beside `dir` and renamed, so an interrupted pretraining never leaves a checkpoint
 * that looks finished; with `replace`, an existing `dir` is swapped out only then. `signal` stops it
 * between two steps.
 */
export async function writePretrainedCheckpoint(
  dir: string,
  options: RandomCheckpointOptions,
  vocab: string[] | ByteLevelBpeVocab,
  config: PretrainConfig,
  onEvent?: (event: TrainEvent) => void,
  opts: {signal?: AbortSignal; replace?: boolean} = {},
): Promise<PretrainReport> {
  const tokenizer = vocabTokenizer(vocab);
  const corpus = pretrainingCorpus({extraScale: config.corpus_scale});
  const tokens = Array.isArray(vocab) ? vocab : vocab.tokens;
  const result = await pretrainedCheckpoint(options, tokenizer, tokens, corpus, pretrainSettings(config), onEvent, opts.signal);
  await writeDirectoryAtomically(dir, (tmp) => writeCheckpoint(tmp, result.config, result.weights, vocab), {replace: opts.replace});
  return result.report;
}
