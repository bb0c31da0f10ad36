/**
 * P-tuning's prompt encoder (Liu et al. 2021, "GPT Understands, Too"; github.com/THUDM/P-tuning,
 * `PromptEncoder`): the input prompt is not a free table but the output of a small network over
 * P trainable embeddings, trained with them.
 *
 * - `lstm`: Embedding(P, h) → 2-layer bidirectional LSTM (h/2 per direction, so its output is h
 *   wide) → Linear(h, h) → ReLU → Linear(h, h), as P-tuning's `lstm_head` + `mlp_head`.
 * - `mlp`: Embedding(P, h) → Linear(h, h) → ReLU → Linear(h, h) (the same MLP head, no LSTM).
 *
 * The LSTM follows torch.nn.LSTM: gates i, f, g, o in that order along the 4·hd axis, two biases
 * per direction (b_ih and b_hh, kept both so the parameter count is PyTorch's), every weight
 * U(−1/√hd, 1/√hd). The prompt does not depend on the batch, so the recurrence runs once per step
 * over P positions with a batch of one; P is small, so a loop of tfjs ops is cheap.
 *
 * Trainable parameters (h = hidden size, hd = h/2):
 *   embedding P·h
 *   + lstm: Σ over 2 layers × 2 directions of 4hd·in + 4hd·hd + 2·4hd (in = h for both layers)
 *   + mlp: 2·(h·h + h)
 */
import * as tf from '@tensorflow/tfjs';
import {linear, type Linear} from './layers.js';
import {mulberry32, normalArray, type Rng} from '../random.js';

export const PROMPT_ENCODERS = ['lstm', 'mlp'] as const;
export type PromptEncoderKind = (typeof PROMPT_ENCODERS)[number];

let nextId = 0;

function variable(name: string, shape: number[], values: Float32Array): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape), true, `${name}#${nextId++}`));
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  return Float32Array.from({length: n}, () => (rng() * 2 - 1) * bound);
}

/** PyTorch's Linear init, U(−1/√in, 1/√in), weight kept as [in, out]. */
function trainableLinear(name: string, inDim: number, outDim: number, rng: Rng): Linear {
  const bound = 1 / Math.sqrt(inDim);
  return {
    w: variable(`${name}.weight`, [inDim, outDim], uniform(rng, inDim * outDim, bound)) as tf.Variable<tf.Rank.R2>,
    b: variable(`${name}.bias`, [outDim], uniform(rng, outDim, bound)) as tf.Variable<tf.Rank.R1>,
  };
}

/** One direction of one LSTM layer: W_ih [in, 4hd], W_hh [hd, 4hd], b_ih and b_hh [4hd]. */
interface LstmDirection {
  wIh: tf.Variable;
  wHh: tf.Variable;
  bIh: tf.Variable;
  bHh: tf.Variable;
}

/** The formula in the header, for tests and documentation. */
export function promptEncoderParamCount(kind: PromptEncoderKind, length: number, hidden: number): number {
  const mlp = 2 * (hidden * hidden + hidden);
  const embedding = length * hidden;
  if (kind === 'mlp') return embedding + mlp;
  const hd = hidden / 2;
  const perDirection = 4 * hd * hidden + 4 * hd * hd + 2 * 4 * hd;
  return embedding + 2 * 2 * perDirection + mlp;
}

export class PromptEncoder {
  readonly variables: tf.Variable[];
  private readonly embedding: tf.Variable;
  private readonly lstm: LstmDirection[][] = [];
  private readonly mlp: [Linear, Linear];

  constructor(
    readonly kind: PromptEncoderKind,
    readonly length: number,
    private readonly hidden: number,
    seed: number,
    initStd: number,
    initialEmbedding?: Float32Array,
  ) {
    if (kind === 'lstm' && hidden % 2 !== 0) throw new Error(`an LSTM prompt encoder splits the hidden size in two directions; ${hidden} is odd`);
    const rng = mulberry32(seed);
    const embeddingValues = initialEmbedding ?? normalArray(rng, length * hidden, initStd);
    if (embeddingValues.length !== length * hidden) throw new Error(`an initial prompt table of ${embeddingValues.length} values cannot fill [${length}, ${hidden}]`);
    this.embedding = variable('prompt.embedding', [length, hidden], embeddingValues);
    const lstmVariables: tf.Variable[] = [];
    if (kind === 'lstm') {
      const hd = hidden / 2;
      const bound = 1 / Math.sqrt(hd);
      for (let layer = 0; layer < 2; layer++) {
        const directions: LstmDirection[] = [];
        for (const suffix of ['', '_reverse']) {
          const name = (part: string) => `prompt.lstm_head.${part}_l${layer}${suffix}`;
          const direction = {
            wIh: variable(name('weight_ih'), [hidden, 4 * hd], uniform(rng, hidden * 4 * hd, bound)),
            wHh: variable(name('weight_hh'), [hd, 4 * hd], uniform(rng, hd * 4 * hd, bound)),
            bIh: variable(name('bias_ih'), [4 * hd], uniform(rng, 4 * hd, bound)),
            bHh: variable(name('bias_hh'), [4 * hd], uniform(rng, 4 * hd, bound)),
          };
          directions.push(direction);
          lstmVariables.push(direction.wIh, direction.wHh, direction.bIh, direction.bHh);
        }
        this.lstm.push(directions);
      }
    }
    this.mlp = [trainableLinear('prompt.mlp_head.0', hidden, hidden, rng), trainableLinear('prompt.mlp_head.2', hidden, hidden, rng)];
    this.variables = [this.embedding, ...lstmVariables, ...this.mlp.flatMap((l) => [l.w, l.b] as tf.Variable[])];
  }

  /** The prompt [P, h] the encoder produces now; call inside tf.tidy. */
  table(): tf.Tensor2D {
    let x = this.embedding as tf.Tensor2D;
    for (const [forward, backward] of this.lstm) {
      // Each layer reads the previous one's [P, h] output: forward and reversed states side by side.
      x = tf.concat([this.runDirection(forward, x, false), this.runDirection(backward, x, true)], 1);
    }
    return linear(this.mlp[1], tf.relu(linear(this.mlp[0], x)));
  }

  /** One direction over the P positions: x [P, in] → hidden states [P, hd] in position order. */
  private runDirection(d: LstmDirection, x: tf.Tensor2D, reverse: boolean): tf.Tensor2D {
    const hd = this.hidden / 2;
    const bias = tf.add(d.bIh, d.bHh);
    // Input contributions of every position at once: [P, 4hd].
    const inputGates = tf.add(tf.matMul(x, d.wIh as tf.Tensor2D), bias);
    let h: tf.Tensor2D = tf.zeros([1, hd]);
    let c: tf.Tensor2D = tf.zeros([1, hd]);
    const states: tf.Tensor2D[] = new Array<tf.Tensor2D>(this.length);
    for (let step = 0; step < this.length; step++) {
      const t = reverse ? this.length - 1 - step : step;
      const gates = tf.add(tf.slice(inputGates, [t, 0], [1, 4 * hd]), tf.matMul(h, d.wHh as tf.Tensor2D));
      const [i, f, g, o] = tf.split(gates, 4, 1) as tf.Tensor2D[];
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      states[t] = h;
    }
    return tf.concat(states, 0);
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}
