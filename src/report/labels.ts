/**
 * How sweep keys and values read on axes, column headers and legends, for `ptv2 report` and the
 * dashboard alike: words, never a raw config key or `null` (`prompt.depth = null` is "all layers").
 * CSV and JSON keep the raw keys and values; these labels are for people.
 */

export type DepthOrder = 'ascending' | 'descending';

const KEY_LABELS = new Map<string, string>([
  ['prompt.length', 'prompt length'],
  ['prompt.reparameterize', 'reparameterisation'],
  ['prompt.dropout', 'prompt dropout'],
  ['train.lr', 'learning rate'],
  ['train.batch_size', 'batch size'],
  ['train.epochs', 'epochs'],
  ['seed', 'seed'],
  ['head', 'head'],
]);

/** `prompt.length` → "prompt length"; `prompt.depth` → "layers with a prompt (ascending)" (the order when known). */
export function sweepKeyLabel(key: string, opts: {depthOrder?: DepthOrder} = {}): string {
  if (key === 'prompt.depth') return opts.depthOrder ? `layers with a prompt (${opts.depthOrder})` : 'layers with a prompt';
  return KEY_LABELS.get(key) ?? key;
}

/** A stored value (JSON text) as it reads under its key: `null` depth → "all layers", reparameterisation → "MLP" / "none". */
export function sweepValueLabel(key: string, json: string): string {
  const value = JSON.parse(json) as unknown;
  if (value === null) return key === 'prompt.depth' ? 'all layers' : 'default';
  if (key === 'prompt.reparameterize' && typeof value === 'boolean') return value ? 'MLP' : 'none';
  return String(value);
}

/** The prompt depth order the runs of a depth sweep trained with (read from their stored params), when they agree. */
export function depthOrderOf(runs: readonly {sweepKey: string | null; params: Record<string, unknown>}[]): DepthOrder | undefined {
  const orders = new Set(runs.filter((r) => r.sweepKey === 'prompt.depth').map((r) => (r.params.prompt as {depth_order?: string} | undefined)?.depth_order));
  const [only] = orders;
  return orders.size === 1 && (only === 'ascending' || only === 'descending') ? only : undefined;
}
