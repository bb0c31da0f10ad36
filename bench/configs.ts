/**
 * The model shapes the training benchmark measures, and the analytic matmul FLOP count of one
 * step, so that GFLOP/s compares backends (and PyTorch) on the same work.
 *
 * Shapes: (a) the tiny model of PERF-NOTES.md, (b) its config b, (c) BERT-base, (d) BERT-large.
 */

export interface BenchConfig {
  key: string;
  label: string;
  layers: number;
  hidden: number;
  heads: number;
  ffn: number;
  vocab: number;
  seq: number;
  batch: number;
  /** Deep-prompt length P. */
  prompt: number;
  /** The pure-JS CPU backend takes minutes per step on these. */
  skipCpu: boolean;
  /** Optional: only run when named in --configs. */
  optional: boolean;
}

export const BENCH_CONFIGS = new Map<string, BenchConfig>(
  (
    [
      {key: 'a', label: 'a: 2×128, seq 64, batch 16', layers: 2, hidden: 128, heads: 2, ffn: 512, vocab: 1000, seq: 64, batch: 16, prompt: 8, skipCpu: false, optional: false},
      {key: 'b', label: 'b: 4×256, seq 128, batch 16', layers: 4, hidden: 256, heads: 4, ffn: 1024, vocab: 8000, seq: 128, batch: 16, prompt: 16, skipCpu: false, optional: false},
      {key: 'c', label: 'c: BERT-base 12×768, seq 128, batch 8', layers: 12, hidden: 768, heads: 12, ffn: 3072, vocab: 30522, seq: 128, batch: 8, prompt: 16, skipCpu: true, optional: false},
      {key: 'd', label: 'd: BERT-large 24×1024, seq 128, batch 4', layers: 24, hidden: 1024, heads: 16, ffn: 4096, vocab: 30522, seq: 128, batch: 4, prompt: 16, skipCpu: true, optional: true},
    ] satisfies BenchConfig[]
  ).map((c) => [c.key, c]),
);

export const METHODS = ['pt2', 'ft'] as const;
export type BenchMethod = (typeof METHODS)[number];

/**
 * Matmul FLOPs (2·m·n·k each) of one forward pass, and of one training step (forward + backward).
 *
 * Backward: every matmul on the gradient path costs its forward FLOPs once per input that needs a
 * gradient. Frozen linears need dX only; trainable ones dX and dW. In `pt2` the first layer's
 * QKV projection reads the frozen embeddings, so it is off the gradient path; its attention
 * needs dK/dV (the prefix) and dP but not dQ. The pooler and head are counted; the embedding
 * lookups are not matmuls.
 */
export function matmulFlops(c: BenchConfig, method: BenchMethod): {forward: number; step: number} {
  const tokens = c.batch * c.seq;
  const keys = c.seq + (method === 'pt2' ? c.prompt : 0);
  const qkv = 2 * tokens * c.hidden * 3 * c.hidden;
  const rest = 2 * tokens * (c.hidden * c.hidden + 2 * c.hidden * c.ffn);
  // scores = q·kᵀ and context = probs·v, each 2·B·S·keys·h over all heads.
  const attention = 2 * (2 * c.batch * c.seq * keys * c.hidden);
  const top = 2 * c.batch * c.hidden * c.hidden + 2 * c.batch * c.hidden * 2;
  const forward = c.layers * (qkv + rest + attention) + top;

  let backward: number;
  if (method === 'ft') {
    backward = 2 * forward;
  } else {
    // Attention backward: dP and dV (context), dQ and dK (scores): 2× the forward attention.
    const layer = qkv + rest + 2 * attention;
    // Layer 0: no dX for the QKV projection; dQ of the first scores matmul is not needed.
    const first = rest + 2 * attention - attention / 2;
    backward = first + (c.layers - 1) * layer + top;
  }
  return {forward, step: forward + backward};
}

export function parseConfigKeys(list: string): BenchConfig[] {
  return list.split(',').map((key) => {
    const config = BENCH_CONFIGS.get(key.trim());
    if (!config) throw new Error(`unknown bench config "${key}"; known: ${[...BENCH_CONFIGS.keys()].join(', ')}`);
    return config;
  });
}

export function median(values: number[]): number {
  const sorted = values.slice().sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
