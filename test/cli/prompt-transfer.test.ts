/**
 * Prompt transfer: a pt2 run exported as a PEFT adapter (`ptv2 export`) is the starting prompt of
 * another run (`prompt.init_from`), and an adapter that does not fit the job is refused before
 * anything is stored.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {readSafetensors} from '../../src/model/safetensors.js';
import {ptv2, ROOT, tinyExperimentHeader} from '../helpers/cli.js';

function write(dir: string, name: string, body: string): string {
  const file = path.join(dir, `${name}.yaml`);
  // One database and model per directory; each config names its own experiment.
  fs.writeFileSync(file, `${tinyExperimentHeader(dir, name, 48)}${body}`);
  return file;
}

function promptTable(file: string): Float32Array {
  const tensor = readSafetensors(file).tensors.get('prompt.embeddings');
  assert.ok(tensor, `no prompt.embeddings in ${file}`);
  return tensor.data as Float32Array;
}

function trainableState(db: string, experiment: string): string {
  const sql = new Database(db, {readonly: true});
  const row = sql
    .prepare(`SELECT a.path FROM artifacts a JOIN runs r ON r.id = a.run_id JOIN experiments e ON e.id = r.experiment_id WHERE e.name = ? AND a.kind = 'trainable_state'`)
    .get(experiment) as {path: string};
  sql.close();
  return row.path;
}

test('a run starts from an exported adapter\'s prompt; a mismatched adapter is refused up front', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-transfer-'));
  const db = path.join(dir, 'ptv2.db');
  const source = write(dir, 'source', `methods: [pt2]
prompt: {length: 4}
train: {epochs: 1, batch_size: 8, lr: 0.05, max_train_examples: 16, max_eval_examples: 8}
tasks:
  - {name: rte, data: ${ROOT}/datasets/superglue/RTE}
`);
  assert.equal(ptv2(['run', source, '--json'], dir).code, 0);
  const adapter = path.join(dir, 'adapter');
  const exported = ptv2(['export', '1', '--out', adapter, '--db', db], dir);
  assert.equal(exported.code, 0, exported.stderr);

  // On CB, from the RTE prompt, with a learning rate too small to move it: the stored prompt is the adapter's.
  const transfer = write(dir, 'transfer', `methods: [pt2]
prompt: {length: 4, init_from: ${adapter}}
train: {epochs: 1, batch_size: 8, lr: 1e-9, weight_decay: 0, max_train_examples: 16, max_eval_examples: 8}
tasks:
  - {name: cb, data: ${ROOT}/datasets/superglue/CB}
`);
  const ran = ptv2(['run', transfer, '--json'], dir);
  assert.equal(ran.code, 0, ran.stderr);
  const from = promptTable(trainableState(db, 'source'));
  const started = promptTable(trainableState(db, 'transfer'));
  assert.equal(started.length, from.length);
  assert.ok(started.every((v, i) => Math.abs(v - from[i]) < 1e-6), 'the transferred run did not start from the adapter');

  // A prompt of another length cannot start from it.
  const mismatched = write(dir, 'mismatched', fs.readFileSync(transfer, 'utf8').split('\n').slice(7).join('\n').replace('length: 4', 'length: 6'));
  const refused = ptv2(['run', mismatched], dir);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /mismatched\.yaml prompt\.init_from: cb\/pt2: cannot start from the adapter in .*adapter: it has 4 virtual tokens and prompt\.length is 6\n\s+try: set prompt\.length: 4/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /);
  const sql = new Database(db, {readonly: true});
  assert.deepEqual(sql.prepare('SELECT name FROM experiments ORDER BY id').all(), [{name: 'source'}, {name: 'transfer'}]);
  sql.close();
});
