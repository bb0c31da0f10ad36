/**
 * The `blas` backend's pool of output arrays (buffer-pool.ts): an array comes back only after its
 * one tensor is disposed, never while anything else can still see it (a dataSync result, a Slice
 * view of it, a second tensor over it); the cap holds; and a training step's arrays are reused.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import {BufferPool, poolOf, sizeClass} from '../../src/compute/buffer-pool.js';
import {requireBlas} from '../helpers/blas.js';
import {useBackend} from '../helpers/tiny.js';

const {skip} = requireBlas();

test('a taken array is owned by its first tensor and comes back when that tensor is freed', () => {
  const pool = new BufferPool(1 << 20);
  const a = pool.take(20);
  assert.equal(a.length, 20);
  assert.equal(a.buffer.byteLength, 4 * sizeClass(20));
  pool.written(a);
  assert.ok(pool.owns(a));
  assert.ok(pool.recycle(a));
  assert.equal(pool.bytes, 4 * sizeClass(20));
  const b = pool.take(18);
  assert.equal(b.buffer, a.buffer, 'the same memory is handed out again, for any length of its size class');
  assert.equal(b.length, 18);
  assert.equal(pool.bytes, 0);
  assert.notEqual(pool.take(20).buffer, a.buffer, 'and only once');
  assert.deepEqual({...pool.stats}, {taken: 3, reused: 1, recycled: 1, shared: 0, escaped: 0, dropped: 0});
});

test('size classes: at most 12.5% slack, 8 per power of two', () => {
  for (const n of [1, 16, 17, 255, 256, 257, 1000, 1024, 1025, 131072 + 1, 3 * 2 ** 20 + 5]) {
    const c = sizeClass(n);
    assert.ok(c >= n && (n <= 256 ? c - n < 16 : c <= n * 1.125), `${n} -> ${c}`);
  }
  assert.equal(new Set(Array.from({length: 1024}, (_, i) => sizeClass(1025 + i))).size, 8);
});

test('arrays that were read out, shared by two tensors or viewed are never recycled', () => {
  const pool = new BufferPool(1 << 20);
  const read = pool.take(4);
  pool.written(read);
  pool.escaped(read);
  assert.equal(pool.recycle(read), false);
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

test('pooled bytes stay under the cap, the least recently used sizes go first; PTV2_POOL_POISON fills reused arrays with NaN', () => {
  const pool = new BufferPool(3 * 64 * 4, true);
  const dropped: ArrayBufferLike[] = [];
  pool.onDrop = (buffer) => dropped.push(buffer);
  const old = [pool.take(60), pool.take(60)];
  const recent = pool.take(40);
  for (const a of [...old, recent]) {
    a.fill(1);
    pool.written(a);
    pool.recycle(a);
  }
  assert.equal(pool.bytes, 2 * 64 * 4 + 48 * 4);
  const next = pool.take(70);
  next.fill(1);
  pool.written(next);
  // 64 + 64 + 48 + 80 floats do not fit in 192: the class of 64, used longest ago, goes.
  assert.ok(pool.recycle(next));
  assert.deepEqual(dropped, old.map((a) => a.buffer));
  assert.equal(pool.stats.dropped, 2);
  assert.equal(pool.bytes, (48 + 80) * 4);
  assert.ok(pool.take(48).every(Number.isNaN));
  assert.equal(BufferPool.fromEnv({PTV2_POOL_MB: '0'}).capBytes, 0);
  assert.equal(BufferPool.fromEnv({}).capBytes, os.totalmem() / 4);
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

test('on the blas backend AdamW updates its moments in place from the first step: zerosLike comes from the pool', {skip}, async () => {
  await useBackend('blas');
  await tf.setBackend('blas');
  const {AdamW} = await import('../../src/train/optimizer.js');
  const backend = tf.backend() as unknown as {data: {get(id: tf.DataId): {values: Float32Array}}};
  const arrayOf = (t: tf.Tensor) => backend.data.get(t.dataId).values;
  // A variable over an op's output (as the encoder's transposed weights are), owned by the pool.
  const p = tf.tidy(() => tf.variable(tf.mul(tf.range(0, 4096, 1, 'float32'), 0.001), true, 'w.weight'));
  const opt = new AdamW([p], {weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8});
  const moments = opt as unknown as {m: tf.Variable[]; v: tf.Variable[]};
  const zeros = moments.m[0].dataSync();
  assert.ok(zeros.every((x) => x === 0), 'the moments start at zero');
  // dataSync above let m's array escape; v's stays private and must be updated where it is.
  const vArray = arrayOf(moments.v[0]);
  const pArray = arrayOf(p);
  const g = tf.onesLike(p);
  opt.apply([g], 0.01);
  assert.equal(arrayOf(moments.v[0]), vArray, "v's array was updated in place at the first step");
  assert.equal(arrayOf(p), pArray, "p's too");
  assert.notEqual(arrayOf(moments.m[0]), zeros, 'an array read out is never written over');
  assert.ok(Math.abs(moments.v[0].dataSync()[7] - 0.001) < 1e-9, 'v = (1 − β2)·g²');
  opt.dispose();
  tf.dispose([p, g]);
});
