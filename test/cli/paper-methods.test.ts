/**
 * P-tuning (ptv1) and the verbalizer head end to end through the built CLI, on a tiny model that
 * ptv2 pretrains (a BertForMaskedLM, so it keeps its MLM head): a head sweep over PT, P-tuning and
 * PT-2 records every run with the trainable count of its formula, saves ptv1's materialised
 * prompt, and reports a P-tuning column and a head table; a checkpoint without an MLM head and a
 * label word outside the vocabulary are refused before anything is stored, naming what is wrong.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';
import Database from 'better-sqlite3';
import {promptEncoderParamCount} from '../../src/model/prompt-encoder.js';
import {readSafetensors} from '../../src/model/safetensors.js';
import {ptv2, ROOT} from '../helpers/cli.js';

const H = 16;
const P = 4;

function configFile(dir: string, name: string, extra = ''): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, `name: ${name}
database: ${path.join(dir, 'ptv2.db')}
output_dir: ${path.join(dir, 'out')}
model:
  path: ${path.join(dir, 'model')}
  init: {layers: 1, hidden: ${H}, heads: 2, intermediate: 32, max_positions: 96, pretrain: {epochs: 1, corpus_scale: 0.1, batch_size: 16}}
  max_length: 64
methods: [pt, ptv1, pt2]
prompt: {length: ${P}, dropout: 0}
train: {epochs: 1, batch_size: 8, lr: 0.05, max_train_examples: 16, max_eval_examples: 8, dropout: 0}
tasks:
  - name: rte
    data: ${path.join(ROOT, 'datasets/superglue/RTE')}
    verbalizer: {words: {entailment: clearly, not_entailment: doubt}}
sweep: {key: head, values: [linear, verbalizer]}
${extra}`);
  return file;
}

describe('ptv1 and the verbalizer through ptv2 run and ptv2 report', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-paper-methods-'));

  test('a head sweep over PT, P-tuning and PT-2 runs, with each run\'s trainable parameters as the formulas give', () => {
    const r = ptv2(['run', configFile(dir, 'heads'), '--plain'], dir);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const db = new Database(path.join(dir, 'ptv2.db'), {readonly: true});
    const runs = db.prepare('SELECT id, method, sweep_value AS value, status, trainable_params AS trainable, params_json AS params FROM runs ORDER BY id').all() as {id: number; method: string; value: string; status: string; trainable: number; params: string}[];
    const artifacts = db.prepare("SELECT run_id AS run, path FROM artifacts WHERE kind = 'trainable_state'").all() as {run: number; path: string}[];
    db.close();
    assert.equal(runs.length, 6);
    const model = JSON.parse(fs.readFileSync(path.join(dir, 'model', 'config.json'), 'utf8')) as {hidden_size: number; num_hidden_layers: number};
    assert.equal(model.hidden_size, H);
    const linearHead = H * 2 + 2;
    const expected: Record<string, number> = {
      'pt "linear"': P * H + linearHead,
      'ptv1 "linear"': promptEncoderParamCount('lstm', P, H) + linearHead,
      'pt2 "linear"': P * 2 * model.num_hidden_layers * H + linearHead,
      // The verbalizer's MLM head is frozen: only the prompt trains.
      'pt "verbalizer"': P * H,
      'ptv1 "verbalizer"': promptEncoderParamCount('lstm', P, H),
      'pt2 "verbalizer"': P * 2 * model.num_hidden_layers * H,
    };
    for (const run of runs) {
      assert.equal(run.status, 'completed', `${run.method} ${run.value}`);
      assert.equal(run.trainable, expected[`${run.method} ${run.value}`], `${run.method} ${run.value}`);
      assert.equal((JSON.parse(run.params) as {head: string}).head, JSON.parse(run.value));
      assert.deepEqual((JSON.parse(run.params) as {model: {architecture: unknown}}).model.architecture, {model_type: 'bert', layers: 1, hidden: H});
    }
    // ptv1 saves its prompt encoder and the [P, h] prompt it produces.
    const ptv1 = runs.find((run) => run.method === 'ptv1')!;
    const saved = readSafetensors(artifacts.find((a) => a.run === ptv1.id)!.path).tensors;
    assert.deepEqual(saved.get('prompt.table')?.shape, [P, H]);
    assert.ok(saved.has('prompt.lstm_head.weight_ih_l0') && saved.has('prompt.lstm_head.weight_hh_l1_reverse') && saved.has('prompt.mlp_head.2.weight'));

    const report = ptv2(['report', '--db', path.join(dir, 'ptv2.db')], dir);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /\| Task \| PT \| P-tuning \| PT-2 \|/);
    assert.match(report.stdout, /## heads #1: P-tuning by head \(best dev score\)\n\n\| Task \| linear \| verbalizer \|/);
    assert.match(report.stdout, /\| Trainable parameters \| [\d.–]+% \| [\d.–]+% \| [\d.–]+% \|/);
  });

  test('a checkpoint without an MLM head, or a label word outside the vocabulary, is refused before anything is stored', () => {
    const bare = path.join(dir, 'bare');
    const init = ptv2(['models', 'init', '--out', bare, '--layers', '1', '--hidden', '16', '--heads', '2', '--intermediate', '32', '--max-positions', '96'], dir);
    assert.equal(init.code, 0, init.stderr);
    const before = fs.statSync(path.join(dir, 'ptv2.db')).mtimeMs;
    const noHead = ptv2(['run', configFile(dir, 'bare'), '--set', `model.path=${bare}`], dir);
    assert.equal(noHead.code, 1, noHead.stdout);
    assert.match(noHead.stderr, /has none: missing cls\.predictions\.transform\.dense\.weight, cls\.predictions\.transform\.dense\.bias, cls\.predictions\.transform\.LayerNorm\.weight, cls\.predictions\.transform\.LayerNorm\.bias, cls\.predictions\.bias/);
    const dry = ptv2(['run', configFile(dir, 'bare'), '--set', `model.path=${bare}`, '--dry-run'], dir);
    assert.equal(dry.code, 1);
    assert.match(dry.stderr, /missing cls\.predictions\.transform\.dense\.weight/);
    const word = ptv2(['run', configFile(dir, 'word'), '--set', 'tasks.rte.verbalizer.words.entailment=zyzzyva'], dir);
    assert.equal(word.code, 1, word.stdout);
    assert.match(word.stderr, /tasks\[0\]\.verbalizer\.words: label word "zyzzyva" \(label "entailment"\) is (not in|\d+ tokens of) the checkpoint's vocabulary/);
    assert.equal(fs.statSync(path.join(dir, 'ptv2.db')).mtimeMs, before, 'nothing stored');
  });
});
