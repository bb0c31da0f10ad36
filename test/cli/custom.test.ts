/**
 * End to end through the built CLI: tasks defined by family (classification from csv, sentence
 * pairs from jsonl, tagging from CoNLL columns, QA from SQuAD 2.0 json) on ptv2's sample files,
 * with test files that are predicted (unlabelled) or predicted and scored (labelled), truncation
 * counted in the report, and bad user data refused with file, line and field.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {parse} from 'csv-parse/sync';
import {ptv2, ROOT, tinyExperimentHeader} from '../helpers/cli.js';

const CUSTOM = path.join(ROOT, 'datasets/custom');

/** A copy of the sample data in which `change` may edit files, so tests never touch the repository. */
function dataCopy(dir: string): string {
  const data = path.join(dir, 'data');
  fs.cpSync(CUSTOM, data, {recursive: true});
  return data;
}

function config(dir: string, data: string, tasks: string): string {
  const file = path.join(dir, 'custom.yaml');
  fs.writeFileSync(
    file,
    `${tinyExperimentHeader(dir, 'custom')}methods: [pt2]
prompt: {length: 4}
train: {epochs: 2, batch_size: 8, max_train_examples: 24, log_every: 1}
tasks:
${tasks.replaceAll('DATA', data)}`,
  );
  return file;
}

const FOUR_FAMILIES = `  - name: reviews
    family: classification
    data: DATA/reviews
    train_file: train.csv
    dev_file: dev.csv
    test_file: test.csv
    max_length: 16
    fields: {id: review_id, text: review, label: rating}
    metric: macro_f1
  - name: claims
    family: pair_classification
    data: DATA/claims
    train_file: train.jsonl
    dev_file: dev.jsonl
    test_file: labelled-test.jsonl
    fields: {id: uid, text: claim, text_pair: evidence, label: verdict}
  - name: parts
    family: tagging
    data: DATA/parts
    train_file: train.tsv
    dev_file: dev.tsv
    test_file: test.tsv
    columns: {token: 1, tag: -1}
  - name: faq
    family: qa
    version: 2.0
    data: DATA/faq
    train_file: train.json
    dev_file: dev.json
    test_file: labelled-test.json
    qa: {doc_stride: 32, max_answer_length: 8}
`;

interface StoredRun {
  id: number;
  task: string;
  key_metric: string;
  best_value: number;
  best_epoch: number;
}

test('four task families from the user\'s own files: trained, dev scored, test predicted; a labelled test file is also scored', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-custom-'));
  const data = dataCopy(dir);
  // A labelled test file that is the dev file: its score at the best epoch must be the best dev score.
  fs.copyFileSync(path.join(data, 'claims/dev.jsonl'), path.join(data, 'claims/labelled-test.jsonl'));
  fs.copyFileSync(path.join(data, 'faq/dev.json'), path.join(data, 'faq/labelled-test.json'));
  const run = ptv2(['run', config(dir, data, FOUR_FAMILIES)], dir);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /reviews: 24 train \/ 60 dev \/ 40 test \(unlabelled\) examples; truncated to 16 tokens: \d+ train, \d+ dev, \d+ test/);
  assert.match(run.stdout, /claims: 24 train \/ 60 dev \/ 60 test examples/);

  const sql = new Database(path.join(dir, 'ptv2.db'), {readonly: true});
  const runs = sql.prepare('SELECT id, task, key_metric, best_value, best_epoch FROM runs ORDER BY id').all() as StoredRun[];
  const artifact = (runId: number, kind: string) =>
    (sql.prepare('SELECT path FROM artifacts WHERE run_id = ? AND kind = ?').get(runId, kind) as {path: string} | undefined)?.path;
  const testMetrics = (runId: number) =>
    sql.prepare("SELECT epoch, name, value FROM metrics WHERE run_id = ? AND split = 'test'").all(runId) as {epoch: number; name: string; value: number}[];
  const byTask = new Map(runs.map((r) => [r.task, r]));
  assert.deepEqual([...byTask.keys()], ['reviews', 'claims', 'parts', 'faq']);
  assert.equal(byTask.get('reviews')!.key_metric, 'macro_f1');

  // reviews: test.csv has no rating column, so it is predicted and not scored.
  const reviews = byTask.get('reviews')!;
  assert.deepEqual(testMetrics(reviews.id), []);
  const testIds = (parse(fs.readFileSync(path.join(data, 'reviews/test.csv')), {columns: true}) as {review_id: string}[]).map((r) => r.review_id);
  const predicted = fs.readFileSync(artifact(reviews.id, 'test_predictions')!, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as {idx: string; label: string});
  assert.deepEqual(predicted.map((p) => p.idx), testIds);
  for (const p of predicted) assert.ok(['bad', 'good', 'mixed'].includes(p.label), p.label);

  // claims and faq: the labelled test file (= dev) scores the best dev value at the best epoch.
  for (const task of ['claims', 'faq']) {
    const r = byTask.get(task)!;
    const key = testMetrics(r.id).find((m) => m.name === r.key_metric);
    assert.ok(key, `${task}: no test ${r.key_metric}`);
    assert.equal(key.epoch, r.best_epoch);
    assert.ok(Math.abs(key.value - r.best_value) < 1e-9, `${task}: test ${key.value} vs best dev ${r.best_value}`);
  }
  const faq = byTask.get('faq')!;
  const answers = JSON.parse(fs.readFileSync(artifact(faq.id, 'test_predictions')!, 'utf8')) as Record<string, string>;
  const naProbs = JSON.parse(fs.readFileSync(artifact(faq.id, 'test_na_probs')!, 'utf8')) as Record<string, number>;
  assert.equal(Object.keys(answers).length, 60);
  assert.deepEqual(Object.keys(naProbs).sort(), Object.keys(answers).sort());

  // parts: the token-only test file gets one `token predicted-tag` line per token.
  const parts = byTask.get('parts')!;
  assert.deepEqual(testMetrics(parts.id), []);
  const tokens = fs.readFileSync(path.join(data, 'parts/test.tsv'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t')[1]);
  const lines = fs.readFileSync(artifact(parts.id, 'test_predictions')!, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => l.split(' '));
  assert.deepEqual(lines.map((l) => l[0]), tokens);
  for (const l of lines) assert.match(l[1], /^(O|[BI]-(TOOL|PLACE))$/);
  sql.close();

  // The report: a test table for the labelled test files, and truncation per run and split.
  const testTable = JSON.parse(ptv2(['report', '--db', path.join(dir, 'ptv2.db'), '--split', 'test', '--format', 'json'], dir).stdout) as {task: string}[];
  assert.deepEqual(testTable.map((c) => c.task).sort(), ['claims', 'faq']);
  const listed = JSON.parse(ptv2(['report', '--db', path.join(dir, 'ptv2.db'), '--runs', '--format', 'json'], dir).stdout) as {task: string; truncated: Record<string, number>}[];
  const truncated = listed.find((r) => r.task === 'reviews')!.truncated;
  assert.deepEqual(Object.keys(truncated), ['train', 'dev', 'test']);
  assert.ok(truncated.train > 0 && truncated.dev > 0 && truncated.test > 0, JSON.stringify(truncated));
  assert.deepEqual(listed.find((r) => r.task === 'claims')!.truncated, {train: 0, dev: 0, test: 0});
});

const REVIEWS_ONLY = FOUR_FAMILIES.slice(0, FOUR_FAMILIES.indexOf('  - name: claims'));

/** Runs the reviews task after `edit` changed its data; returns stderr and whether a database appeared. */
function rejected(edit: (data: string) => void, tasks = REVIEWS_ONLY): {stderr: string; db: boolean} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-custom-bad-'));
  const data = dataCopy(dir);
  edit(data);
  const r = ptv2(['run', config(dir, data, tasks)], dir);
  assert.notEqual(r.code, 0, r.stdout);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return {stderr: r.stderr, db: fs.existsSync(path.join(dir, 'ptv2.db'))};
}

const BAD_DATA: {name: string; edit: (data: string) => void; tasks?: string; expected: RegExp}[] = [
  {
    name: 'a dev label the training file never uses',
    edit: (data) => {
      const file = path.join(data, 'reviews/dev.csv');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/,good\n/, ',superb\n'));
    },
    expected: /dev\.csv:\d+ rating: unknown label "superb"; expected one of bad, good, mixed/,
  },
  {
    name: 'a training row without its label',
    edit: (data) => {
      const file = path.join(data, 'reviews/train.csv');
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines[3] = lines[3].replace(/,(good|bad|mixed)$/, ',');
      fs.writeFileSync(file, lines.join('\n'));
    },
    expected: /train\.csv:4 rating/,
  },
  {
    name: 'a dev line without its tag column',
    tasks: `  - name: parts
    family: tagging
    data: DATA/parts
    train_file: train.tsv
    dev_file: dev.tsv
    columns: {token: 1, tag: 2}
`,
    edit: (data) => {
      const file = path.join(data, 'parts/dev.tsv');
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines[1] = lines[1].split('\t').slice(0, 2).join('\t');
      fs.writeFileSync(file, lines.join('\n'));
    },
    expected: /dev\.tsv:2 tag/,
  },
  {
    name: 'an answer that is not in its context',
    tasks: `  - name: faq
    family: qa
    version: "2.0"
    data: DATA/faq
    train_file: train.json
    dev_file: dev.json
`,
    edit: (data) => {
      const file = path.join(data, 'faq/dev.json');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/"answer_start":(\d+)/, (_, n: string) => `"answer_start":${Number(n) + 3}`));
    },
    expected: /dev\.json:\d+ data\[0\]\.paragraphs\[0\]\.qas\[\d+\]\.answers\[0\]\.answer_start: question faq-\d+: answer "[^"]+" is not in the context/,
  },
];

for (const c of BAD_DATA) {
  test(`bad data is refused before anything is stored: ${c.name}`, () => {
    const {stderr, db} = rejected(c.edit, c.tasks);
    assert.match(stderr, c.expected);
    assert.ok(!db, 'no database for rejected input');
  });
}
