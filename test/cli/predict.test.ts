/**
 * `ptv2 predict` against what the runs themselves stored: on the dev file, a run's predictions
 * equal its dev prediction file and its scored dev predictions (`dev_scores.jsonl`), for every head
 * family and for a prompt method and full fine-tuning; plain-text input and CSV output; refusals.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {ptv2, ROOT, runOneEpoch} from '../helpers/cli.js';

const DEV: Record<string, string> = {
  rte: 'datasets/superglue/RTE/val.jsonl',
  copa: 'datasets/superglue/COPA/val.jsonl',
  conll03: 'datasets/ner/conll03/dev.txt',
  squad_v2: 'datasets/qa/squad_v2/dev.json',
};

interface Run {
  id: number;
  task: string;
  method: string;
  pred: string;
  scores: string;
}

const readJsonl = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

/** The official-format dev predictions as id → label (tagging: the predicted tags in order). */
function officialLabels(run: Run): unknown[] {
  if (run.task === 'conll03') {
    return fs.readFileSync(run.pred, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('-DOCSTART-')).map((l) => l.trim().split(/\s+/).at(-1));
  }
  if (run.task === 'squad_v2') return Object.values(JSON.parse(fs.readFileSync(run.pred, 'utf8')) as Record<string, string>);
  return readJsonl(run.pred).map((r) => r.label);
}

function predictedLabels(task: string, records: Record<string, unknown>[]): unknown[] {
  if (task === 'conll03') return records.flatMap((r) => r.tags as string[]);
  if (task === 'squad_v2') return records.map((r) => r.answer ?? '');
  return records.map((r) => r.label);
}

test('predict on the dev file equals each run\'s stored dev predictions and scores (classification, multiple choice, tagging, QA; pt2 and ft)', () => {
  const tasks = Object.entries(DEV).map(([task, file]) => `{name: ${task}, data: ${path.join(ROOT, path.dirname(file))}}`);
  const {dir} = runOneEpoch('predict', 'ft, pt2', tasks);
  const db = path.join(dir, 'ptv2.db');
  const sql = new Database(db, {readonly: true});
  const runs = sql.prepare(`SELECT r.id, r.task, r.method, p.path AS pred, s.path AS scores FROM runs r
    JOIN artifacts p ON p.run_id = r.id AND p.kind = 'dev_predictions' JOIN artifacts s ON s.run_id = r.id AND s.kind = 'dev_scores' ORDER BY r.id`).all() as Run[];
  sql.close();
  assert.equal(runs.length, 8);
  for (const run of runs) {
    const out = path.join(dir, `predict-${run.id}.jsonl`);
    const r = ptv2(['predict', String(run.id), '--input', path.join(ROOT, DEV[run.task]), '--out', out, '--db', db], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const records = readJsonl(out);
    const label = `${run.task}/${run.method}`;
    assert.deepEqual(records, readJsonl(run.scores), `${label}: predict vs the run's dev_scores.jsonl`);
    assert.deepEqual(predictedLabels(run.task, records), officialLabels(run), `${label}: predict vs the run's dev predictions`);
    // The scores say what the labels are: the label is the most probable one.
    for (const record of records) {
      if (run.task === 'rte') {
        const probabilities = record.probabilities as Record<string, number>;
        assert.ok(Math.abs(Object.values(probabilities).reduce((a, b) => a + b) - 1) < 1e-5);
        assert.equal(record.label, Object.entries(probabilities).sort((a, b) => b[1] - a[1])[0][0]);
      }
      if (run.task === 'squad_v2' && record.answer !== null) {
        const context = JSON.parse(fs.readFileSync(path.join(ROOT, DEV.squad_v2), 'utf8')) as {data: {paragraphs: {context: string; qas: {id: string}[]}[]}[]};
        const paragraph = context.data.flatMap((d) => d.paragraphs).find((p) => p.qas.some((q) => q.id === record.id))!;
        assert.equal(paragraph.context.slice(record.start as number, record.end as number), record.answer);
      }
    }
  }

  // Plain text lines, and CSV out.
  const rte = runs.find((r) => r.task === 'rte' && r.method === 'pt2')!;
  const val = readJsonl(path.join(ROOT, DEV.rte)).slice(0, 3);
  const plain = path.join(dir, 'plain.jsonl');
  fs.writeFileSync(plain, val.map((v) => JSON.stringify({id: v.idx, text: v.premise, text_pair: v.hypothesis})).join('\n'));
  const fromPlain = ptv2(['predict', String(rte.id), '--input', plain, '--db', db], dir);
  assert.equal(fromPlain.code, 0, fromPlain.stderr);
  assert.deepEqual(fromPlain.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), readJsonl(rte.scores).slice(0, 3));
  const csv = ptv2(['predict', String(rte.id), '--input', plain, '--db', db, '--format', 'csv'], dir);
  assert.equal(csv.code, 0, csv.stderr);
  const rows = csv.stdout.trim().split('\n');
  assert.equal(rows[0], 'id,label,p_entailment,p_not_entailment');
  const first = readJsonl(rte.scores)[0] as {id: number; label: string; probabilities: Record<string, number>};
  assert.equal(rows[1], `${first.id},${first.label},${first.probabilities.entailment},${first.probabilities.not_entailment}`);

  // Bad input and a run that cannot predict: one line naming the file and line, or the run.
  fs.writeFileSync(plain, '{"text": "a"}\n{"text": 3}\n');
  const bad = ptv2(['predict', String(rte.id), '--input', plain, '--db', db], dir);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /plain\.jsonl:2 text: expected a string, got number 3/);
  assert.equal(bad.stdout, '');
  const missing = ptv2(['predict', '99', '--input', plain, '--db', db], dir);
  assert.match(missing.stderr, /no run 99 \(the database has runs 1–8\)/);
});

test('predict with pt, prefix and mpt2 runs equals their dev scores; mpt2\'s shared stage is refused with the way to go', () => {
  const tasks = ['rte', 'copa'].map((task) => `{name: ${task}, data: ${path.join(ROOT, path.dirname(DEV[task]))}}`);
  const {dir} = runOneEpoch('predict-prompts', 'pt, prefix, mpt2', tasks);
  const db = path.join(dir, 'ptv2.db');
  const sql = new Database(db, {readonly: true});
  const runs = sql.prepare(`SELECT r.id, r.task, r.method, s.path AS scores FROM runs r JOIN artifacts s ON s.run_id = r.id AND s.kind = 'dev_scores' ORDER BY r.id`).all() as Run[];
  const shared = sql.prepare(`SELECT id FROM runs WHERE stage = 'shared'`).get() as {id: number};
  sql.close();
  assert.deepEqual(runs.map((r) => r.method).sort(), ['mpt2', 'mpt2', 'prefix', 'prefix', 'pt', 'pt']);
  for (const run of runs) {
    const r = ptv2(['predict', String(run.id), '--input', path.join(ROOT, DEV[run.task]), '--db', db], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown), readJsonl(run.scores), `${run.task}/${run.method}`);
  }
  const refused = ptv2(['predict', String(shared.id), '--input', path.join(ROOT, DEV.rte), '--db', db], dir);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /is mpt2's shared stage, with one head per task\n\s+try: predict with one of the experiment's mpt2 fine-tuning runs/);
});
