/**
 * One benchmark measurement in its own process (so peak RSS and the WASM heap belong to one
 * configuration): build a random checkpoint of the configuration's shape, train it with ptv2's
 * own loop (`train` from src/train/trainer.ts: forward + backward + clipping + AdamW) on one
 * repeated full-length batch, time each step, then time eval forwards. Prints one JSON line.
 *
 * Usage: node --import tsx bench/run-one.ts '{"config":"b","backend":"wasm","method":"pt2","warmup":2,"steps":5,"evals":3}'
 */
import {initBackend, type BackendChoice} from '../src/compute/backend.js';
import {normaliseConfig, randomCheckpoint} from '../src/model/checkpoint.js';
import {EncoderWeights, type EncoderBatch} from '../src/model/encoder.js';
import {checkStepFits} from '../src/compute/memory.js';
import {TaskModel} from '../src/model/model.js';
import {train} from '../src/train/trainer.js';
import {mulberry32} from '../src/random.js';
import {BENCH_CONFIGS, median, type BenchConfig, type BenchMethod} from './configs.js';

export interface RunRequest {
  config: string;
  backend: BackendChoice;
  method: BenchMethod;
  warmup: number;
  steps: number;
  evals: number;
}

export interface RunResult {
  config: string;
  backend: string;
  method: BenchMethod;
  stepMs: number;
  stepsMs: number[];
  /** Each timed eval pass (after the warm-up one). */
  evalsMs: number[];
  evalMs: number;
  loss: number;
  peakRssMb: number;
  /** WASM linear memory at the end (it never shrinks), when the backend is WASM. */
  wasmHeapMb?: number;
  trainableParams: number;
}

function fullBatch(c: BenchConfig, seed: number): {batch: EncoderBatch; labels: Int32Array} {
  const rng = mulberry32(seed);
  const n = c.batch * c.seq;
  const inputIds = new Int32Array(n);
  for (let i = 0; i < n; i++) inputIds[i] = 5 + Math.floor(rng() * (c.vocab - 5));
  const labels = Int32Array.from({length: c.batch}, (_, b) => b % 2);
  return {batch: {batch: c.batch, seqLen: c.seq, inputIds, tokenTypeIds: new Int32Array(n), attentionMask: new Float32Array(n).fill(1)}, labels};
}

async function measure(req: RunRequest): Promise<RunResult> {
  const c = BENCH_CONFIGS.get(req.config);
  if (!c) throw new Error(`unknown config ${req.config}`);
  const {info, tf} = await initBackend(req.backend);
  const {config, weights: raw} = randomCheckpoint({
    modelType: 'bert',
    layers: c.layers,
    hidden: c.hidden,
    heads: c.heads,
    intermediate: c.ffn,
    vocabSize: c.vocab,
    maxPositions: 512,
    seed: 1,
  });
  const encoderConfig = normaliseConfig(config);
  // The same up-front refusal `ptv2 run` gives, instead of an abort mid-step.
  checkStepFits(info.tfName, encoderConfig, {method: req.method, batch: c.batch, seqLen: c.seq, promptLength: c.prompt});
  const weights = new EncoderWeights({dir: '<memory>', config: encoderConfig, weights: raw, hasPooler: true, heads: new Map()});
  raw.clear();
  const model = new TaskModel(weights, {
    prompt: {
      method: req.method,
      length: c.prompt,
      reparameterize: false,
      reparamHidden: 512,
      dropout: 0.1,
      depthOrder: 'ascending',
      shiftPositions: true,
      initStd: 0.02,
      seed: 3,
    },
    numLabels: 2,
    dropout: 0.1,
    usePooler: true,
    seed: 5,
  });
  const {batch, labels} = fullBatch(c, 9);
  const total = req.warmup + req.steps;
  const stamps: number[] = [];
  let loss = NaN;
  let evalMs = NaN;
  let evalsMs: number[] = [];
  const started = performance.now();
  await train({
    variables: model.variables,
    epochs: 1,
    lr: req.method === 'ft' ? 2e-5 : 5e-3,
    weightDecay: 0.01,
    warmupRatio: 0,
    maxGradNorm: 1,
    logEvery: 1,
    stepsPerEpoch: total,
    batchesForEpoch: () => Array.from({length: total}, () => batch),
    lossOf: (b, training) => model.loss(b, labels, training),
    evaluate: () => {
      const times: number[] = [];
      const evalWarmup = req.warmup > 0 ? 1 : 0;
      for (let i = 0; i < req.evals + evalWarmup; i++) {
        const t0 = performance.now();
        tf.tidy(() => model.logits(batch, false).dataSync());
        times.push(performance.now() - t0);
      }
      evalsMs = times.slice(evalWarmup).map((t) => Math.round(t));
      evalMs = median(times.slice(evalWarmup));
      return {score: 0};
    },
    keyMetric: 'score',
    onEvent: (event) => {
      if (event.type === 'step') {
        stamps.push(performance.now());
        loss = event.loss;
      }
    },
  });
  const steps = stamps.map((t, i) => t - (i === 0 ? started : stamps[i - 1])).slice(req.warmup);
  const backend = tf.backend() as unknown as {wasm?: {HEAPU8: Uint8Array}};
  const result: RunResult = {
    config: c.key,
    backend: info.name,
    method: req.method,
    stepMs: median(steps),
    stepsMs: steps.map((s) => Math.round(s)),
    evalsMs,
    evalMs,
    loss,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    trainableParams: model.params.trainable,
  };
  if (backend.wasm) result.wasmHeapMb = backend.wasm.HEAPU8.length / 2 ** 20;
  model.dispose();
  weights.dispose();
  return result;
}

const arg = process.argv[2];
if (arg) {
  const result = await measure(JSON.parse(arg) as RunRequest);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
