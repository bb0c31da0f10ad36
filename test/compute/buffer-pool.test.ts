/**
 * The `blas` backend's pool of output arrays (buffer-pool.ts): an array comes back only after its
 * one tensor is disposed, never while anything else can still see it (a dataSync result, a Slice
 * view of it, a second tensor over it); the cap holds; and a training step's arrays are reused.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {BufferPool, poolOf} from '../../src/compute/buffer-pool.js';
import {requireBlas} from '../helpers/blas.js';
import {useBackend} from '../helpers/tiny.js';

const {skip} = requireBlas();

test('a taken array is owned by its first tensor and comes back when that tensor is freed', () => {
  const pool = new BufferPool(1 << 20);
  const a = pool.take(8);
  pool.written(a);
  pool.recycle(a);
  assert.equal(pool.bytes, 32);
  const b = pool.take(8);
  assert.equal(b, a, 'the same array is handed out again');
  assert.equal(pool.bytes, 0);
  assert.notEqual(pool.take(8), a, 'and only once');
  assert.deepEqual({...pool.stats}, {taken: 3, reused: 1, recycled: 1, shared: 0, escaped: 0, dropped: 0});
});

test('arrays that were read out, shared by two tensors or viewed are never recycled', () => {
  const pool = new BufferPool(1 << 20);
  const read = pool.take(4);
  pool.written(read);
  pool.escaped(read);
  pool.recycle(read);
  const shared = pool.take(4);
  pool.written(shared);
  pool.written(shared);
  pool.recycle(shared);
  const viewed = pool.take(4);
  pool.written(viewed);
  pool.written(viewed.subarray(1, 3));
  pool.recycle(viewed);
  const foreign = new Float32Array(4);
  pool.written(foreign);
  pool.recycle(foreign);
  assert.equal(pool.bytes, 0);
  assert.equal(pool.stats.recycled, 0);
  assert.equal(pool.stats.escaped, 1);
  assert.equal(pool.stats.shared, 2);
});

test('pooled bytes stay under the cap; PTV2_POOL_POISON fills reused arrays with NaN', () => {
  const pool = new BufferPool(100, true);
  const arrays = [pool.take(10), pool.take(10), pool.take(10)];
  for (const a of arrays) {
    a.fill(1);
    pool.written(a);
    pool.recycle(a);
  }
  assert.equal(pool.bytes, 80, 'two arrays of 40 bytes fit under 100, the third is dropped');
  assert.equal(pool.stats.dropped, 1);
  assert.ok(pool.take(10).every(Number.isNaN));
  assert.equal(BufferPool.fromEnv({PTV2_POOL_MB: '0'}).capBytes, 0);
  assert.equal(BufferPool.fromEnv({}).capBytes, 1024 * 2 ** 20);
});

test('on the blas backend a dataSync result and a Slice view keep their values after their tensors are freed', {skip}, async () => {
  await useBackend('blas');
  await tf.setBackend('blas');
  const pool = poolOf(tf.backend())!;
  assert.ok(pool, 'the blas backend has a pool');
  const x = tf.tensor2d(Float32Array.from({length: 64}, (_, i) => i), [8, 8]);

  const doubled = tf.mul(x, 2);
  const read = doubled.dataSync();
  const first = read[5];
  const sum = tf.add(x, 1);
  // Rows 2–3 of x + 1, a contiguous slice: tfjs's CPU Slice returns a subarray of its input.
  const view = tf.slice(sum, [2, 0], [2, 8]);
  doubled.dispose();
  sum.dispose();
  // Same-length outputs after the frees: had either array been recycled, these would overwrite it.
  const later = [tf.mul(x, -7), tf.add(x, 1000), tf.mul(x, 3)];
  assert.equal(read[5], first);
  assert.deepEqual(Array.from(view.dataSync()), Array.from({length: 16}, (_, i) => 17 + i));

  // An op's output that nobody read is recycled: the next output of its length is the same array.
  const before = pool.stats.reused;
  const temp = tf.add(x, 2);
  temp.dispose();
  const next = tf.add(x, 3);
  assert.equal(pool.stats.reused, before + 1);
  assert.deepEqual(Array.from(next.dataSync()).slice(0, 3), [3, 4, 5]);
  tf.dispose([x, view, next, ...later]);
});
