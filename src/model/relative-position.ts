/**
 * DeBERTa-v2's relative positions, as HF transformers' `modeling_deberta_v2` computes them
 * (`make_log_bucket_position`, `build_relative_position`, the clamps of
 * `disentangled_attention_bias`). Pure functions over integers; no tensors.
 *
 * The relative position of query i to key j is i − j. With `position_buckets` > 0 it is
 * log-bucketed: distances below half the bucket count stay exact, longer ones share buckets on a
 * log scale up to `max_relative_positions`. The attention then reads row
 * clamp(bucket + span, 0, 2·span − 1) of the relative embedding table, span being the bucket
 * count (or `max_relative_positions` without buckets).
 */

const f32 = Math.fround;

/**
 * `make_log_bucket_position` for one relative position. transformers computes the logarithms in
 * float32 (the default dtype), so every step is rounded to float32 here too: the ceiling of a
 * value computed in float64 can land on the other side of an integer.
 */
export function logBucketPosition(relative: number, bucketSize: number, maxPosition: number): number {
  const mid = Math.floor(bucketSize / 2);
  const abs = relative < mid && relative > -mid ? mid - 1 : Math.abs(relative);
  if (abs <= mid) return relative;
  const ratio = f32(Math.log(f32(abs / mid)));
  const base = f32(Math.log(f32((maxPosition - 1) / mid)));
  const logPos = Math.ceil(f32(f32(ratio / base) * (mid - 1))) + mid;
  return Math.sign(relative) * logPos;
}

/** `build_relative_position` (without its batch axis): [querySize, keySize] of bucketed i − j, row-major. */
export function relativePositions(querySize: number, keySize: number, bucketSize: number, maxPosition: number): Int32Array {
  const table = new Int32Array(querySize * keySize);
  const bucketed = bucketSize > 0 && maxPosition > 0;
  for (let i = 0; i < querySize; i++) {
    for (let j = 0; j < keySize; j++) table[i * keySize + j] = bucketed ? logBucketPosition(i - j, bucketSize, maxPosition) : i - j;
  }
  return table;
}

/**
 * Row of the relative embedding table each (query, key) pair reads in the content→position term:
 * clamp(relative + span, 0, 2·span − 1). HF's position→content term reads
 * clamp(−relative(j, i) + span, …) for key j and query i, which is the same row because the
 * bucketing is odd (bucket(−x) = −bucket(x)); relative-position.test.ts checks this.
 */
export function relativeEmbeddingRows(relative: Int32Array, span: number): Int32Array {
  const rows = new Int32Array(relative.length);
  for (let n = 0; n < relative.length; n++) rows[n] = Math.min(Math.max(relative[n] + span, 0), 2 * span - 1);
  return rows;
}
