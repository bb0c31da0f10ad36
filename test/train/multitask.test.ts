/**
 * Multi-task P-tuning v2 (MPT-2): the merged training batches and the shared stage's key metric
 * (pure), and through the orchestrator that each fine-tuning job starts from the shared stage's
 * prompt and its task's head, with no tensors left once the experiment finishes.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {parseConfig} from '../../src/config/load.js';
import type {Feature} from '../../src/data/features.js';
import {Experiment, type TaskData} from '../../src/experiment/experiment.js';
import {mergedBatches, multitaskMetrics, MULTITASK_KEY_METRIC} from '../../src/experiment/multitask.js';
import {readSafetensors} from '../../src/model/safetensors.js';
import {mulberry32} from '../../src/random.js';
import {Store} from '../../src/store/index.js';
import {ROOT, tinyExperimentHeader} from '../helpers/cli.js';


/** Just what mergedBatches reads of a task: its name and training features. */
function taskWith(name: string, count: number): TaskData {
  const features: Feature[] = Array.from({length: count}, (_, i) => ({inputIds: [2, 10 + i, 3], tokenTypeIds: [0, 0, 0], label: i % 2, example: i}));
  return {config: {name}, train: {set: {features, truncated: 0}}} as unknown as TaskData;
}

describe('mergedBatches', () => {
  test('every training example of every task once per epoch, each batch from one task, tasks interleaved', () => {
    const tasks = [taskWith('rte', 20), taskWith('cb', 9)];
    const batches = mergedBatches(tasks, 4, 0, mulberry32(5));
    // ceil(20/4) + ceil(9/4) batches.
    assert.equal(batches.length, 5 + 3);
    for (const name of ['rte', 'cb']) {
      const seen = batches.filter((b) => b.task === name).flatMap((b) => b.indices).sort((a, b) => a - b);
      assert.deepEqual(seen, [...Array(name === 'rte' ? 20 : 9).keys()]);
    }
    // Shuffled together: the cb batches are not all at one end.
    const order = batches.map((b) => b.task).join(',');
    assert.notEqual(order, 'rte,rte,rte,rte,rte,cb,cb,cb');
    assert.notEqual(order, 'cb,cb,cb,rte,rte,rte,rte,rte');
    // The same seed gives the same epoch.
    assert.deepEqual(mergedBatches(tasks, 4, 0, mulberry32(5)).map((b) => [b.task, b.indices]), batches.map((b) => [b.task, b.indices]));
  });
});

describe('multitaskMetrics', () => {
  test('each task\'s metrics under its name, and the mean of the key metrics as fractions', () => {
    const rte = {config: {name: 'rte'}, definition: {keyMetric: 'accuracy', metricScale: 1}};
    const squad = {config: {name: 'squad'}, definition: {keyMetric: 'f1', metricScale: 100}};
    const metrics = multitaskMetrics([
      {data: rte as unknown as TaskData, metrics: {accuracy: 0.5}},
      {data: squad as unknown as TaskData, metrics: {exact_match: 30, f1: 40}},
    ]);
    // (0.5 + 40 / 100) / 2
    assert.deepEqual(metrics, {'rte.accuracy': 0.5, 'squad.exact_match': 30, 'squad.f1': 40, [MULTITASK_KEY_METRIC]: 0.45});
  });
});

describe('MPT-2 through the orchestrator', () => {
  test('fine-tuning starts from the shared prompt and the task\'s own head; no tensors are left', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-mpt2-'));
    // The shared stage learns (lr 0.05); fine-tuning barely moves (lr 1e-9), so what it saves is
    // what it started from.
    const text = `${tinyExperimentHeader(dir, 'mpt2', 48)}backend: wasm
methods: [mpt2]
prompt: {length: 4, dropout: 0}
train: {epochs: 1, batch_size: 8, lr: 1e-9, weight_decay: 0, max_train_examples: 16, max_eval_examples: 8}
mpt2: {shared_lr: 0.05}
tasks:
  - {name: rte, data: ${ROOT}/datasets/superglue/RTE}
  - {name: cb, data: ${ROOT}/datasets/superglue/CB}
  - {name: conll03, data: ${ROOT}/datasets/ner/conll03}
`;
    const before = tf.memory().numTensors;
    const experiment = await Experiment.prepare(parseConfig(text, path.join(dir, 'mpt2.yaml')));
    assert.deepEqual(experiment.jobs.map((j) => j.id), ['+shared/mpt2', 'rte/mpt2', 'cb/mpt2', 'conll03/mpt2']);
    const results = [];
    for (const job of experiment.jobs) results.push(await experiment.runJob(job));
    assert.deepEqual(results.map((r) => r.status), ['completed', 'completed', 'completed', 'completed'], JSON.stringify(results.map((r) => r.error)));
    const dirs = experiment.jobs.map((job) => experiment.outputDir(job));
    experiment.finish(results);
    assert.equal(tf.memory().numTensors, before, 'tensors left after the experiment');

    const state = (d: string) => readSafetensors(path.join(d, 'trainable.safetensors')).tensors;
    const values = (tensors: ReturnType<typeof state>, name: string) => {
      const t = tensors.get(name);
      assert.ok(t, `no tensor ${name} in ${[...tensors.keys()].join(', ')}`);
      return t.data as Float32Array;
    };
    const shared = state(dirs[0]);
    // Two classification heads share tensor names, so the shared file keeps each under its task.
    assert.ok(shared.has('rte.classifier.weight') && shared.has('cb.classifier.weight') && shared.has('conll03.token_classifier.weight'));
    const close = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-5);
    for (const [i, task] of [[1, 'rte'], [2, 'cb'], [3, 'conll03']] as const) {
      const tuned = state(dirs[i]);
      const head = task === 'conll03' ? 'token_classifier.weight' : 'classifier.weight';
      assert.ok(close(values(tuned, 'prompt.embeddings'), values(shared, 'prompt.embeddings')), `${task}: prompt not taken from the shared stage`);
      assert.ok(close(values(tuned, head), values(shared, `${task}.${head}`)), `${task}: head not taken from the shared stage`);
    }
    // The two classification heads are different tensors (one per task), so the check above is not trivial.
    assert.ok(!close(values(shared, 'rte.classifier.weight'), values(shared, 'cb.classifier.weight').slice(0, values(shared, 'rte.classifier.weight').length)));

    const store = Store.open(path.join(dir, 'ptv2.db'));
    const runs = store.runs(experiment.experimentId);
    store.close();
    assert.deepEqual(runs.map((r) => [r.task, r.stage, r.keyMetric]), [
      ['rte+cb+conll03', 'shared', MULTITASK_KEY_METRIC],
      ['rte', 'finetune', 'accuracy'],
      ['cb', 'finetune', 'accuracy'],
      ['conll03', 'finetune', 'f1'],
    ]);
  });
});
