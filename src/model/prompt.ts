/**
 * Every prompt method behind one interface. A prompt owns its variables and, per batch, yields
 * the hooks the encoder understands (see encoder.ts):
 *
 * | method   | where                     | parameters                                                   |
 * |----------|---------------------------|--------------------------------------------------------------|
 * | ft       | none (encoder trainable)  | —                                                            |
 * | pt       | input embeddings only     | P × h (Lester et al. prompt tuning)                          |
 * | ptv1     | input embeddings only     | Embedding(P,h) → bi-LSTM → MLP, or → MLP (P-tuning; prompt-encoder.ts) |
 * | prefix   | keys/values, every layer  | Embedding(P,h) → Linear(h,r) → tanh → Linear(r, 2·L·h)       |
 * | pt2      | keys/values, k layers     | P × 2·k·h table, or the reparameterisation above (optional)  |
 *
 * The deep-prompt table is laid out per position as [L0.key, L0.value, L1.key, …] (each h wide),
 * the layout of the P-tuning v2 reference implementation and PEFT's `prompt_embeddings`.
 */
import * as tf from '@tensorflow/tfjs';
import type {EncoderConfig} from './checkpoint.js';
import type {PrefixKV, PromptHooks} from './encoder.js';
import {Dropout, linear, type Linear} from './layers.js';
import {PromptEncoder, type PromptEncoderKind} from './prompt-encoder.js';
import {mulberry32, normalArray, type Rng} from '../random.js';

export const METHOD_TABLE = new Map<string, {label: string; trainsEncoder: boolean; deep: boolean; description: string}>([
  ['ft', {label: 'FT', trainsEncoder: true, deep: false, description: 'fine-tuning: every weight trainable'}],
  ['pt', {label: 'PT', trainsEncoder: false, deep: false, description: 'prompt tuning: P vectors at the input layer only'}],
  ['ptv1', {label: 'P-tuning', trainsEncoder: false, deep: false, description: 'P-tuning: an input-layer prompt produced by a bi-LSTM (or MLP) prompt encoder'}],
  ['prefix', {label: 'Prefix', trainsEncoder: false, deep: true, description: 'prefix tuning: deep prompt with MLP reparameterisation'}],
  ['pt2', {label: 'PT-2', trainsEncoder: false, deep: true, description: 'P-tuning v2: deep prompt at every (or k) layers'}],
  // The same deep prompt as pt2; the orchestrator trains it on every task first, then per task.
  ['mpt2', {label: 'MPT-2', trainsEncoder: false, deep: true, description: 'multi-task P-tuning v2: one deep prompt trained on all tasks, then fine-tuned per task'}],
]);

export interface PromptOptions {
  method: string;
  length: number;
  reparameterize: boolean;
  reparamHidden: number;
  dropout: number;
  /** Number of layers with a prompt; undefined = all. */
  depth?: number;
  depthOrder: 'ascending' | 'descending';
  shiftPositions: boolean;
  initStd: number;
  seed: number;
  /** Start from this row-major table ([P, h] input prompt, [P, 2·k·h] deep prompt) instead of random values. */
  initialTable?: Float32Array;
  /** ptv1: the network that produces the input prompt (default lstm). */
  encoder?: PromptEncoderKind;
}

/** The initial values of a prompt table: the given ones (checked against the shape), else N(0, initStd). */
function initialValues(shape: [number, number], opts: PromptOptions, rng: Rng): Float32Array {
  const size = shape[0] * shape[1];
  if (!opts.initialTable) return normalArray(rng, size, opts.initStd);
  if (opts.initialTable.length !== size) throw new Error(`an initial prompt table of ${opts.initialTable.length} values cannot fill [${shape.join(', ')}]`);
  return opts.initialTable;
}

export interface Prompt {
  readonly method: string;
  /** P (0 for ft). */
  readonly length: number;
  readonly variables: tf.Variable[];
  /** Hooks for one batch; call inside tf.tidy. */
  hooks(batch: number, training: boolean): PromptHooks;
  /** Position of the first real token in the encoder output (P for input prompts, else 0). */
  readonly outputOffset: number;
  /**
   * The table the encoder reads, materialised for export and saving: [P, 2·L·h] for deep prompts
   * (zeros for layers without a prompt), [P, h] for input prompts (ptv1: its prompt encoder's output).
   */
  table?(): tf.Tensor2D;
  dispose(): void;
}

function variable(name: string, shape: number[], values: Float32Array): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape), true, `${name}#${nextVariableId++}`));
}
let nextVariableId = 0;

/** PyTorch's default Linear init: U(-1/√in, 1/√in) for weight and bias. */
function trainableLinear(name: string, inDim: number, outDim: number, rng: Rng): Linear {
  const bound = 1 / Math.sqrt(inDim);
  const uniform = (n: number) => Float32Array.from({length: n}, () => (rng() * 2 - 1) * bound);
  return {
    w: variable(`${name}.weight`, [inDim, outDim], uniform(inDim * outDim)) as tf.Variable<tf.Rank.R2>,
    b: variable(`${name}.bias`, [outDim], uniform(outDim)) as tf.Variable<tf.Rank.R1>,
  };
}

/** Which layers get a deep prompt. */
export function promptedLayers(numLayers: number, depth: number | undefined, order: 'ascending' | 'descending'): number[] {
  const k = Math.min(depth ?? numLayers, numLayers);
  const all = Array.from({length: numLayers}, (_, i) => i);
  return order === 'ascending' ? all.slice(0, k) : all.slice(numLayers - k);
}

class NoPrompt implements Prompt {
  readonly method = 'ft';
  readonly length = 0;
  readonly variables: tf.Variable[] = [];
  readonly outputOffset = 0;
  hooks(): PromptHooks {
    return {};
  }
  dispose(): void {}
}

/** `pt`: a free [P, h] table; `ptv1`: the [P, h] output of a prompt encoder over its own embeddings. */
class InputPrompt implements Prompt {
  readonly variables: tf.Variable[];
  readonly outputOffset: number;
  private readonly embeddings?: tf.Variable;
  private readonly encoder?: PromptEncoder;
  private readonly dropout: Dropout;

  constructor(
    readonly method: 'pt' | 'ptv1',
    readonly length: number,
    hidden: number,
    private readonly opts: PromptOptions,
  ) {
    if (method === 'ptv1') {
      // The embeddings the encoder reads start from the given table (init words, a transfer) when there is one.
      this.encoder = new PromptEncoder(opts.encoder ?? 'lstm', length, hidden, opts.seed, opts.initStd, opts.initialTable);
      this.variables = this.encoder.variables;
    } else {
      const rng = mulberry32(opts.seed);
      this.embeddings = variable('prompt.embeddings', [length, hidden], initialValues([length, hidden], opts, rng));
      this.variables = [this.embeddings];
    }
    this.outputOffset = length;
    this.dropout = new Dropout(opts.seed ^ 0x5bd1e995);
  }

  private promptTable(): tf.Tensor2D {
    return this.encoder ? this.encoder.table() : (this.embeddings as tf.Tensor2D);
  }

  hooks(_batch: number, training: boolean): PromptHooks {
    return {inputPrompt: this.dropout.apply(this.promptTable(), this.opts.dropout, training)};
  }

  table(): tf.Tensor2D {
    return tf.tidy(() => tf.clone(this.promptTable()));
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

class DeepPrompt implements Prompt {
  readonly variables: tf.Variable[] = [];
  readonly outputOffset = 0;
  private readonly layers: number[];
  private readonly width: number;
  private readonly raw?: tf.Variable;
  private readonly mlp?: {embedding: tf.Variable; down: Linear; up: Linear};
  private readonly dropout: Dropout;

  constructor(
    readonly method: string,
    readonly length: number,
    private readonly config: EncoderConfig,
    private readonly opts: PromptOptions,
  ) {
    const h = config.hiddenSize;
    const rng = mulberry32(opts.seed);
    this.layers = promptedLayers(config.numLayers, opts.depth, opts.depthOrder);
    this.width = 2 * this.layers.length * h;
    if (opts.reparameterize) {
      if (opts.initialTable) throw new Error('a reparameterised prompt has no table to start from; set reparameterize: false');
      this.mlp = {
        embedding: variable('prompt.embedding', [length, h], normalArray(rng, length * h, opts.initStd)),
        down: trainableLinear('prompt.mlp.0', h, opts.reparamHidden, rng),
        up: trainableLinear('prompt.mlp.2', opts.reparamHidden, this.width, rng),
      };
      this.variables.push(this.mlp.embedding, ...[this.mlp.down, this.mlp.up].flatMap((l) => [l.w, l.b] as tf.Variable[]));
    } else {
      this.raw = variable('prompt.embeddings', [length, this.width], initialValues([length, this.width], opts, rng));
      this.variables.push(this.raw);
    }
    this.dropout = new Dropout(opts.seed ^ 0x5bd1e995);
  }

  /** [P, 2·k·h]: the raw table, or the MLP applied to the prompt embeddings. */
  private promptedTable(): tf.Tensor2D {
    if (this.raw) return this.raw as tf.Tensor2D;
    const {embedding, down, up} = this.mlp!;
    return linear(up, tf.tanh(linear(down, embedding as tf.Tensor2D)));
  }

  hooks(batch: number, training: boolean): PromptHooks {
    const {numLayers, numHeads, hiddenSize} = this.config;
    const headDim = hiddenSize / numHeads;
    const P = this.length;
    const k = this.layers.length;
    const table = this.promptedTable();
    // Dropout per example, as the reference applies it after expanding to the batch.
    const perExample = this.dropout.apply(
      tf.broadcastTo(tf.expandDims(table, 0), [batch, P, this.width]),
      this.opts.dropout,
      training,
    );
    // [batch, P, 2k, heads, headDim] → [2k, batch, heads, P, headDim]
    const arranged = tf.transpose(tf.reshape(perExample, [batch, P, 2 * k, numHeads, headDim]), [2, 0, 3, 1, 4]);
    const parts = tf.unstack(arranged, 0) as tf.Tensor4D[];
    const layerPrefix: (PrefixKV | null)[] = Array.from({length: numLayers}, () => null);
    this.layers.forEach((layer, i) => {
      layerPrefix[layer] = {key: parts[2 * i], value: parts[2 * i + 1]};
    });
    return {layerPrefix, positionStart: this.opts.shiftPositions ? P : 0};
  }

  table(): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.config.hiddenSize;
      const prompted = this.promptedTable();
      const blocks: tf.Tensor2D[] = [];
      let next = 0;
      for (let layer = 0; layer < this.config.numLayers; layer++) {
        if (this.layers[next] === layer) {
          blocks.push(tf.slice(prompted, [0, next * 2 * h], [this.length, 2 * h]));
          next++;
        } else {
          blocks.push(tf.zeros([this.length, 2 * h]));
        }
      }
      return tf.concat(blocks, 1);
    });
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

export function createPrompt(config: EncoderConfig, opts: PromptOptions): Prompt {
  switch (opts.method) {
    case 'ft':
      return new NoPrompt();
    case 'pt':
    case 'ptv1':
      return new InputPrompt(opts.method, opts.length, config.hiddenSize, opts);
    case 'prefix':
      return new DeepPrompt('prefix', opts.length, config, {...opts, reparameterize: true, depth: undefined});
    case 'pt2':
    case 'mpt2':
      return new DeepPrompt(opts.method, opts.length, config, opts);
    default:
      throw new Error(`unknown method "${opts.method}"; known: ${[...METHOD_TABLE.keys()].join(', ')}`);
  }
}
