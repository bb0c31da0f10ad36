/**
 * End to end through the built CLI (`bin/run.js`, as users run it): run → SQLite → report, a
 * second experiment appended, and bad input rejected without a stack trace or a database row.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {ptv2, ROOT, runOneEpoch, scoreRun, tinyConfig} from '../helpers/cli.js';

test('run then report: one row per task and method; a second run appends without touching the first', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-e2e-'));
  const db = path.join(dir, 'ptv2.db');
  const first = ptv2(['run', tinyConfig(dir, 'first')], dir);
  assert.equal(first.code, 0, first.stderr + first.stdout);
  assert.match(first.stdout, /backend: wasm/);

  const report = ptv2(['report', '--db', db, '--format', 'json'], dir);
  assert.equal(report.code, 0, report.stderr);
  const rows = JSON.parse(report.stdout) as {task: string; method: string; metric: string; value: number}[];
  assert.deepEqual(rows.map((r) => `${r.task}/${r.method}`).sort(), ['cb/ft', 'cb/pt2', 'rte/ft', 'rte/pt2']);
  for (const r of rows) assert.ok(r.value >= 0 && r.value <= 1 && r.metric === 'accuracy', JSON.stringify(r));

  const snapshot = () => {
    const sql = new Database(db, {readonly: true});
    const out = sql.prepare('SELECT r.*, (SELECT json_group_array(json_array(m.epoch, m.split, m.name, m.value)) FROM metrics m WHERE m.run_id = r.id) AS m FROM runs r WHERE experiment_id = 1 ORDER BY id').all();
    sql.close();
    return out;
  };
  const before = snapshot();
  assert.equal(before.length, 4);
  for (const run of before as {status: string; backend: string; trainable_params: number; total_params: number; method: string}[]) {
    assert.equal(run.status, 'completed');
    assert.equal(run.backend, 'wasm');
    if (run.method === 'pt2') assert.ok(run.trainable_params < run.total_params / 2, 'pt2 trains a small fraction');
    else assert.ok(run.trainable_params > run.total_params * 0.99, 'ft trains (nearly) everything');
  }

  const second = ptv2(['run', tinyConfig(dir, 'second')], dir);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(snapshot(), before);
  const latest = JSON.parse(ptv2(['report', '--db', db, '--format', 'json'], dir).stdout) as unknown[];
  assert.equal(latest.length, 4);
  const sql = new Database(db, {readonly: true});
  assert.equal((sql.prepare('SELECT count(*) AS n FROM experiments').get() as {n: number}).n, 2);
  const artifacts = sql.prepare('SELECT kind, path FROM artifacts').all() as {kind: string; path: string}[];
  sql.close();
  // Per run: dev predictions in the official format, the scored predictions beside them, the trained state.
  assert.equal(artifacts.length, 24);
  assert.equal(artifacts.filter((a) => a.kind === 'dev_scores').length, 8);
  for (const a of artifacts) assert.ok(fs.existsSync(a.path), a.path);
});

test('a bad config exits non-zero naming file, line and key, without a stack trace', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-bad-'));
  const file = tinyConfig(dir, 'bad').replace(/$/, '');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('epochs: 2', 'epochs: 2, lr: fast'));
  const r = ptv2(['run', file], dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:10 train.lr: expected a number > 0, got "fast"`));
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.ok(!fs.existsSync(path.join(dir, 'ptv2.db')));
});

test('a malformed data line is reported with file, line and field, and nothing is written', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-data-'));
  const data = path.join(dir, 'RTE');
  fs.mkdirSync(data);
  fs.copyFileSync(path.join(ROOT, 'datasets/superglue/RTE/train.jsonl'), path.join(data, 'train.jsonl'));
  const dev = fs.readFileSync(path.join(ROOT, 'datasets/superglue/RTE/val.jsonl'), 'utf8').split('\n');
  dev[2] = dev[2].replace('"hypothesis"', '"hypothesys"');
  fs.writeFileSync(path.join(data, 'val.jsonl'), dev.join('\n'));
  const config = tinyConfig(dir, 'baddata');
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(/tasks:[\s\S]*/, `tasks:\n  - {name: rte, data: ${data}}\n`));
  const r = ptv2(['run', config], dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /val\.jsonl:3 hypothesis/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.ok(!fs.existsSync(path.join(dir, 'ptv2.db')), 'no database written for rejected input');
});

test('ptv2 score on the prediction files a run wrote gives the numbers in the store (RTE, COPA, MultiRC, ReCoRD)', () => {
  const superglue = path.join(ROOT, 'datasets/superglue');
  const dirs: Record<string, string> = {rte: 'RTE', copa: 'COPA', multirc: 'MultiRC', record: 'ReCoRD'};
  const {dir, runs} = runOneEpoch('scored', 'pt2', Object.entries(dirs).map(([task, d]) => `{name: ${task}, data: ${superglue}/${d}}`));
  assert.deepEqual(runs.map((r) => r.task).sort(), ['copa', 'multirc', 'record', 'rte']);
  for (const r of runs) {
    const metrics = scoreRun(r, path.join(superglue, dirs[r.task], 'val.jsonl'), dir);
    assert.ok(Math.abs(metrics[r.metric] - r.best) < 1e-9, `${r.task}: score ${metrics[r.metric]} vs store ${r.best}`);
  }
});

test('tagging tasks (CoNLL-2003, OntoNotes, CoNLL04 NER; CoNLL-2005, CoNLL-2012 SRL): run, then ptv2 score on the written CoNLL files matches the store', () => {
  const gold: Record<string, string> = {
    conll03: 'datasets/ner/conll03',
    ontonotes: 'datasets/ner/ontonotes',
    conll04: 'datasets/ner/conll04',
    conll05: 'datasets/srl/conll05',
    conll12: 'datasets/srl/conll12',
  };
  const {dir, runs} = runOneEpoch('tagged', 'ft', Object.entries(gold).map(([task, d]) => `{name: ${task}, data: ${ROOT}/${d}}`));
  assert.deepEqual(runs.map((r) => r.task).sort(), Object.keys(gold).sort());
  for (const r of runs) {
    const f1 = scoreRun(r, path.join(ROOT, gold[r.task], 'dev.txt'), dir).f1;
    assert.ok(r.best > 0, `${r.task}: a zero F1 would make the comparison trivial`);
    assert.ok(Math.abs(f1 - r.best) < 1e-9, `${r.task}: score ${f1} vs store ${r.best}`);
  }
});

test('extractive QA (SQuAD 1.1, 2.0): run, then ptv2 score on the written answers and no-answer probabilities matches the store', () => {
  const qa = path.join(ROOT, 'datasets/qa');
  const {dir, runs} = runOneEpoch('qa', 'pt2', [`{name: squad, data: ${qa}/squad}`, `{name: squad_v2, data: ${qa}/squad_v2}`]);
  assert.deepEqual(runs.map((r) => `${r.task}:${r.metric}:${r.naProb !== null}`).sort(), ['squad:f1:false', 'squad_v2:f1:true']);
  for (const r of runs) {
    const metrics = scoreRun(r, path.join(qa, r.task, 'dev.json'), dir);
    assert.ok(r.best >= 0 && r.best <= 100, `${r.task}: f1 ${r.best} is a percentage`);
    assert.ok(Math.abs(metrics.f1 - r.best) < 1e-9, `${r.task}: score ${metrics.f1} vs store ${r.best}`);
    if (r.task === 'squad_v2') assert.ok('best_f1' in metrics && 'HasAns_f1' in metrics && 'NoAns_f1' in metrics, JSON.stringify(metrics));
  }
});

test('every planned job must fit the checkpoint\'s positions, sweep values included; the message names the job and the key', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-positions-'));
  const config = tinyConfig(dir, 'positions');
  // max_positions 96, max_length 64: a prompt of 4 fits, one of 40 does not.
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8') + 'sweep: {key: prompt.length, values: [4, 40]}\n');
  const r = ptv2(['run', config], dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /positions\.yaml model\.max_length: rte\/pt2\/prompt\.length=40: max_length 64 \+ prompt length 40 needs 104 positions but the checkpoint has 96/);
  assert.match(r.stderr, /set model\.max_length to at most 56/);
  assert.ok(!fs.existsSync(path.join(dir, 'ptv2.db')));
});

test('without any max_length, extractive QA asks for 384 positions, and says that this is its family\'s default', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-qa-length-'));
  const config = tinyConfig(dir, 'qalength');
  fs.writeFileSync(
    config,
    fs.readFileSync(config, 'utf8').replace('  max_length: 64\n', '').replace(/tasks:[\s\S]*/, `tasks:\n  - {name: squad, data: ${ROOT}/datasets/qa/squad}\n`),
  );
  const r = ptv2(['run', config], dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /qalength\.yaml model\.max_length: squad\/ft: max_length 384 \(the default for qa\) \+ prompt length 0 needs 384 positions but the checkpoint has 96/);
  assert.ok(!fs.existsSync(path.join(dir, 'ptv2.db')));
});

test('CoNLL-2005 with its WSJ and Brown test sets: each predicted and scored as its own split, as ptv2 score scores it', () => {
  const srl = path.join(ROOT, 'datasets/srl/conll05');
  const {dir, db} = (() => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-srl-tests-'));
    return {dir: d, db: path.join(d, 'ptv2.db')};
  })();
  const config = tinyConfig(dir, 'srltests');
  fs.writeFileSync(
    config,
    fs
      .readFileSync(config, 'utf8')
      .replace('methods: [ft, pt2]', 'methods: [ft]')
      .replace(/tasks:[\s\S]*/, `tasks:\n  - {name: conll05, data: ${srl}, test_file: [test_wsj.txt, test_brown.txt]}\n`),
  );
  const run = ptv2(['run', config], dir);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /conll05: 24 train \/ 12 dev \/ \d+ test_wsj \/ \d+ test_brown examples/);
  // Brown holds argument types the WSJ training file lacks: reported, scored as missed, not refused.
  assert.match(run.stdout, /conll05 test_brown: tags the training file does not have, never predicted, so their entities count as missed: B-ARGM-MNR ×\d+/);
  const sql = new Database(db, {readonly: true});
  const scores = sql.prepare(`SELECT split, value FROM metrics WHERE name = 'f1' AND split LIKE 'test%' ORDER BY split`).all() as {split: string; value: number}[];
  const predictions = sql.prepare(`SELECT kind, path FROM artifacts WHERE kind LIKE 'test%predictions' ORDER BY kind`).all() as {kind: string; path: string}[];
  sql.close();
  assert.deepEqual(scores.map((s) => s.split), ['test_brown', 'test_wsj']);
  assert.deepEqual(predictions.map((p) => p.kind), ['test_brown_predictions', 'test_wsj_predictions']);
  for (const [i, split] of ['test_brown', 'test_wsj'].entries()) {
    const scored = ptv2(['score', '--task', 'conll05', '--gold', path.join(srl, `${split}.txt`), '--pred', predictions[i].path, '--json'], dir);
    assert.equal(scored.code, 0, scored.stderr);
    assert.ok(Math.abs((JSON.parse(scored.stdout) as {f1: number}).f1 - scores[i].value) < 1e-9, `${split}: score vs store`);
  }
  const brown = ptv2(['report', '--db', db, '--split', 'test_brown', '--format', 'json'], dir);
  assert.equal(brown.code, 0, brown.stderr);
  assert.deepEqual((JSON.parse(brown.stdout) as {task: string}[]).map((c) => c.task), ['conll05']);
  const missing = ptv2(['report', '--db', db, '--split', 'test'], dir);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /has no test scores\n\s+try: splits with scores: dev, test_brown, test_wsj/);
});
