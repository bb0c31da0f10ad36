/**
 * `ptv2 sweep`: the key names and `--values` it accepts (table tests with exact messages), the
 * config text it records (the sweep spliced in, every other line where it was), and end to end
 * through the built CLI on tiny data: sweep, report with the sweep table, report --plot.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {parseConfig} from '../../src/config/load.js';
import {parseSweepValues, resolveSweepKey, resumeText, SWEEP_KEY_NAMES, withSweep} from '../../src/cli/sweep-grid.js';
import {SWEEP_KEYS, type SweepKey} from '../../src/config/schema.js';
import {ptv2, tinyConfig} from '../helpers/cli.js';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected an error');
}

describe('resolveSweepKey', () => {
  const NAMES: [string, SweepKey][] = [
    ['prompt-length', 'prompt.length'],
    ['prompt-depth', 'prompt.depth'],
    ['reparameterize', 'prompt.reparameterize'],
    ['prompt-dropout', 'prompt.dropout'],
    ['lr', 'train.lr'],
    ['batch-size', 'train.batch_size'],
    ['epochs', 'train.epochs'],
    ['seed', 'seed'],
    ['head', 'head'],
  ];
  test('every friendly name maps to its config key, and every config key to itself', () => {
    for (const [name, key] of NAMES) assert.equal(resolveSweepKey(name), key, name);
    for (const key of SWEEP_KEYS) assert.equal(resolveSweepKey(key), key);
    assert.equal(SWEEP_KEY_NAMES.size, SWEEP_KEYS.length, 'one friendly name per sweepable key');
  });

  test('an unknown key names the expectation, what was given and the closest name', () => {
    const expected = 'KEY: expected one of prompt-length, prompt-depth, reparameterize, prompt-dropout, lr, batch-size, epochs, seed, head (or the config key, e.g. prompt.length), got';
    assert.equal(messageOf(() => resolveSweepKey('prompt-lenght')), `${expected} "prompt-lenght" (did you mean "prompt-length"?)`);
    assert.equal(messageOf(() => resolveSweepKey('train.batchsize')), `${expected} "train.batchsize" (did you mean "train.batch_size"?)`);
    assert.equal(messageOf(() => resolveSweepKey('warmup')), `${expected} "warmup"`);
  });
});

describe('parseSweepValues', () => {
  const GOOD: {key: SweepKey; input: string; expected: unknown[]}[] = [
    {key: 'prompt.length', input: '4,8,16', expected: [4, 8, 16]},
    {key: 'prompt.length', input: ' 16 , 4 ', expected: [16, 4]},
    {key: 'prompt.depth', input: 'null,2', expected: [null, 2]},
    {key: 'prompt.depth', input: '~,1', expected: [null, 1]},
    {key: 'prompt.reparameterize', input: 'true,false', expected: [true, false]},
    {key: 'prompt.dropout', input: '0,0.1,0.5', expected: [0, 0.1, 0.5]},
    {key: 'train.lr', input: '0.01,5e-3,1e-4', expected: [0.01, 0.005, 0.0001]},
    {key: 'train.batch_size', input: '8', expected: [8]},
    {key: 'train.epochs', input: '1,3', expected: [1, 3]},
    {key: 'seed', input: '0,42', expected: [0, 42]},
  ];
  for (const {key, input, expected} of GOOD) {
    test(`${key} ${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => assert.deepEqual(parseSweepValues(key, input), expected));
  }

  const BAD: {key: SweepKey; input: string; expected: string}[] = [
    {key: 'prompt.length', input: '', expected: '--values: expected a comma-separated list of values for prompt.length, got nothing'},
    {key: 'prompt.length', input: '4,0', expected: '--values: value 2 for prompt.length: expected an integer from 1 to 512, got 0'},
    {key: 'prompt.length', input: '4.5', expected: '--values: value 1 for prompt.length: expected an integer from 1 to 512, got 4.5'},
    {key: 'prompt.length', input: '4,,8', expected: '--values: value 2 for prompt.length: expected a value, got nothing'},
    {key: 'prompt.length', input: "'8'", expected: '--values: value 1 for prompt.length: expected an integer from 1 to 512, got "8"'},
    {key: 'prompt.length', input: '8,8.0', expected: '--values: value 2 for prompt.length: 8 is already value 1'},
    {key: 'prompt.depth', input: 'all', expected: '--values: value 1 for prompt.depth: expected an integer >= 1, or null for all layers, got "all"'},
    {key: 'prompt.reparameterize', input: 'yes', expected: '--values: value 1 for prompt.reparameterize: expected true or false, got "yes"'},
    {key: 'prompt.dropout', input: '0.1,1', expected: '--values: value 2 for prompt.dropout: expected a number in [0, 1), got 1'},
    {key: 'train.lr', input: '0.01,fast', expected: '--values: value 2 for train.lr: expected a number > 0, got "fast"'},
    {key: 'train.lr', input: '[0.01]', expected: '--values: value 1 for train.lr: expected a number > 0, got a list'},
    {key: 'train.batch_size', input: '{a: 1}', expected: '--values: value 1 for train.batch_size: expected an integer >= 1, got a mapping'},
    {key: 'seed', input: '-1,x', expected: '--values: value 1 for seed: expected an integer >= 0, got -1\n--values: value 2 for seed: expected an integer >= 0, got "x"'},
  ];
  for (const {key, input, expected} of BAD) {
    test(`${key} ${JSON.stringify(input)} is refused`, () => assert.equal(messageOf(() => parseSweepValues(key, input)), expected));
  }
});

describe('withSweep', () => {
  const grid = {key: 'prompt.length' as const, values: [4, null]};
  const line = 'sweep: {key: prompt.length, values: [4, null]}  # set by ptv2 sweep';

  const CASES: {name: string; input: string; expected: string}[] = [
    {name: 'appended when the config has none', input: 'name: x\nseed: 1\n', expected: `name: x\nseed: 1\n${line}\n`},
    {name: 'appended on a line of its own when the text lacks a final newline', input: 'name: x', expected: `name: x\n${line}\n`},
    {
      name: 'a block sweep replaced by one line padded to its height; the comment below it stays',
      input: 'name: x\nsweep:\n  key: seed  # seeds\n  values: [1, 2]\n# the tasks\ntasks: []\n',
      expected: `name: x\n${line}\n\n\n# the tasks\ntasks: []\n`,
    },
    {name: 'a flow sweep replaced with the comment on its line', input: 'sweep: {key: seed, values: [1]}  # old\nname: x\n', expected: `${line}\nname: x\n`},
    {name: 'an empty sweep replaced', input: 'name: x\nsweep:\nseed: 1\n', expected: `name: x\n${line}\nseed: 1\n`},
    {name: 'a top-level flow mapping set through the Document', input: '{name: x, seed: 1}\n', expected: '{name: x, seed: 1, sweep: {key: prompt.length, values: [4, null]}}\n'},
    {name: 'text that is no mapping left for the loader to refuse', input: '- a\n- b\n', expected: '- a\n- b\n'},
    {name: 'text with a syntax error left for the loader to report', input: 'name: [x\n', expected: 'name: [x\n'},
  ];
  for (const {name, input, expected} of CASES) {
    test(name, () => assert.equal(withSweep(input, grid), expected));
  }

  test('the loaded config carries the grid, and a problem below a replaced sweep keeps its line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-withsweep-'));
    const original = fs.readFileSync(tinyConfig(dir, 'lines'), 'utf8') + 'sweep:\n  key: seed\n  values: [1, 2]\nseed: -1\n';
    const lineOf = (text: string) => text.split('\n').indexOf('seed: -1') + 1;
    const edited = withSweep(original, {key: 'prompt.length', values: [2, 6]});
    assert.equal(lineOf(edited), lineOf(original));
    assert.equal(
      messageOf(() => parseConfig(edited, 'lines.yaml')),
      `lines.yaml:${lineOf(original)} seed: expected an integer >= 0, got -1`,
    );
    const loaded = parseConfig(edited.replace('seed: -1', 'seed: 3'), 'lines.yaml');
    assert.deepEqual(loaded.config.sweep, {key: 'prompt.length', values: [2, 6]});
    assert.equal(loaded.config.seed, 3);
  });
});

describe('resumeText: which recorded config a --resume continues', () => {
  const FILE = 'name: x\nsweep:\n  key: seed\n  values: [1, 2]\ntasks: []\n';
  const grid = {key: 'prompt.length' as const, values: [4, 8]};
  const where = {file: 'x.yaml', experiment: 'x #3'};

  test('the same text resumes as it is', () => assert.deepEqual(resumeText(FILE, FILE, 'run', where), {text: FILE}));

  test('ptv2 run --resume on the file a ptv2 sweep started from continues the recorded sweep', () => {
    const recorded = withSweep(FILE, grid);
    assert.deepEqual(resumeText(recorded, FILE, 'run', where), {text: recorded});
    // Also when the file had no sweep of its own.
    const bare = 'name: x\ntasks: []\n';
    assert.deepEqual(resumeText(withSweep(bare, grid), bare, 'run', where), {text: withSweep(bare, grid)});
  });

  test('ptv2 sweep --resume with the grid it ran resumes; with other values it names both grids', () => {
    const recorded = withSweep(FILE, grid);
    assert.deepEqual(resumeText(recorded, withSweep(FILE, grid), 'sweep', where), {text: recorded});
    assert.equal(
      messageOf(() => resumeText(recorded, withSweep(FILE, {key: 'prompt.length', values: [4]}), 'sweep', where)),
      'x.yaml: experiment x #3 ran the sweep {key: prompt.length, values: [4, 8]}, and this command gives the sweep {key: prompt.length, values: [4]}',
    );
  });

  test('a change anywhere but the sweep is a changed config; so is a hand-edited sweep under ptv2 run', () => {
    assert.deepEqual(resumeText(withSweep(FILE, grid), FILE.replace('name: x', 'name: y'), 'run', where), {changed: true});
    assert.match(messageOf(() => resumeText(FILE, FILE.replace('[1, 2]', '[1, 3]'), 'run', where)), /ran the sweep \{key: seed, values: \[1, 2\]\}, and this command gives the sweep \{key: seed, values: \[1, 3\]\}/);
  });
});

describe('ptv2 sweep (built CLI, tiny data)', () => {
  test('FT under a prompt key runs once as a reference; seeds ignore the swept value; sweep --resume and run --resume continue the sweep', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-sweep-ref-'));
    const db = path.join(dir, 'ptv2.db');
    const config = tinyConfig(dir, 'ref');
    const text = fs
      .readFileSync(config, 'utf8')
      .replace('epochs: 2', 'epochs: 1')
      .replace(/tasks:([\s\S]*?)\n {2}- \{name: cb.*\n/, 'tasks:$1\n');
    fs.writeFileSync(config, text);

    const swept = ptv2(['sweep', 'prompt-length', config, '--values', '6,2', '--json'], dir);
    assert.equal(swept.code, 0, swept.stderr + swept.stdout);
    const summary = JSON.parse(swept.stdout) as {notSwept: unknown; runs: {id: string; best: number}[]};
    assert.deepEqual(summary.runs.map((r) => r.id), ['rte/ft', 'rte/pt2/prompt.length=6', 'rte/pt2/prompt.length=2']);
    assert.deepEqual(summary.notSwept, [{method: 'ft', reason: 'ft does not read prompt.length; it runs once, as a reference for the swept runs'}]);
    const plainSweep = ptv2(['sweep', 'prompt-length', config, '--values', '6,2', '--db', path.join(dir, 'other.db'), '--plain'], dir);
    assert.match(plainSweep.stdout, /not swept: ft: ft does not read prompt\.length; it runs once, as a reference for the swept runs/);

    // The same jobs without a sweep (prompt.length 2) draw the same numbers: seeds ignore the swept value.
    fs.writeFileSync(path.join(dir, 'plain.yaml'), text.replace('name: ref', 'name: plain').replace('prompt: {length: 4}', 'prompt: {length: 2}'));
    const plain = ptv2(['run', path.join(dir, 'plain.yaml'), '--json'], dir);
    assert.equal(plain.code, 0, plain.stderr);
    const plainRuns = (JSON.parse(plain.stdout) as {runs: {id: string; best: number}[]}).runs;
    const best = (runs: {id: string; best: number}[], id: string) => runs.find((r) => r.id === id)!.best;
    assert.equal(best(plainRuns, 'rte/ft'), best(summary.runs, 'rte/ft'));
    assert.equal(best(plainRuns, 'rte/pt2'), best(summary.runs, 'rte/pt2/prompt.length=2'));

    const sql = new Database(db);
    const rows = sql.prepare("SELECT id, method, sweep_key AS key, sweep_value AS value, seed, params_json AS params FROM runs WHERE experiment_id = 1 ORDER BY id").all() as {id: number; method: string; key: string; value: string | null; seed: number; params: string}[];
    assert.deepEqual(rows.map((r) => [r.method, r.key, r.value, r.seed]), [['ft', 'prompt.length', null, 42], ['pt2', 'prompt.length', '6', 42], ['pt2', 'prompt.length', '2', 42]]);
    const runSeeds = rows.map((r) => (JSON.parse(r.params) as {run_seed: number; sweep_reference?: boolean}));
    assert.equal(runSeeds[1].run_seed, runSeeds[2].run_seed);
    assert.equal(runSeeds[0].sweep_reference, true);

    // The report: FT's one run is a reference row in its own table.
    const report = ptv2(['report', '--db', db, '--experiment', 'ref'], dir);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /## ref #1: FT not swept by prompt length: one run per task, shown under every value \(best dev score\)\n\n\| Task \| 6 \| 2 \|\n\| :--- \| ---: \| ---: \|\n\| rte \(accuracy\), reference \| ([\d.]+) \| \1 \|/);
    const runsReport = ptv2(['report', '--db', db, '--experiment', 'ref', '--runs', '--format', 'csv'], dir);
    assert.match(runsReport.stdout, /,rte,ft,single,prompt\.length: reference,completed,/);

    // A failed run, then --resume: from ptv2 sweep with the same grid, and from ptv2 run on the file.
    const failRun = (id: number) => {
      sql.prepare("UPDATE runs SET status = 'failed' WHERE id = ?").run(id);
      sql.prepare("UPDATE experiments SET status = 'failed' WHERE id = 1").run();
    };
    failRun(rows[2].id);
    const other = ptv2(['sweep', 'prompt-length', config, '--values', '6', '--resume'], dir);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /experiment ref #1 ran the sweep \{key: prompt\.length, values: \[6, 2\]\}, and this command gives the sweep \{key: prompt\.length, values: \[6\]\}/);
    const resumed = ptv2(['sweep', 'prompt-length', config, '--values', '6,2', '--resume', '--json'], dir);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual((JSON.parse(resumed.stdout) as {runs: {id: string; resumed: boolean}[]}).runs.map((r) => [r.id, r.resumed]), [
      ['rte/ft', true],
      ['rte/pt2/prompt.length=6', true],
      ['rte/pt2/prompt.length=2', false],
    ]);
    failRun(rows[1].id);
    const runResumed = ptv2(['run', config, '--resume', '--plain'], dir);
    assert.equal(runResumed.code, 0, runResumed.stderr);
    assert.match(runResumed.stdout, /experiment ref #1: 3 runs \(resumed: 2 completed earlier\)/);
    assert.match(runResumed.stdout, /resuming the sweep it recorded: prompt\.length over \[6,2\]/);
    const statuses = sql.prepare("SELECT sweep_value AS value, status FROM runs WHERE experiment_id = 1 ORDER BY id").all() as {value: string | null; status: string}[];
    assert.deepEqual(statuses.filter((r) => r.status === 'completed').map((r) => r.value), [null, '2', '6']);
    sql.close();
  });


  test('sweeps prompt-length over two values, records the grid, reports a table per method and plots it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-sweep-'));
    const db = path.join(dir, 'ptv2.db');
    const config = tinyConfig(dir, 'plen');
    const text = fs
      .readFileSync(config, 'utf8')
      .replace('methods: [ft, pt2]', 'methods: [pt2]')
      .replace('epochs: 2', 'epochs: 1')
      .replace(/tasks:([\s\S]*?)\n {2}- \{name: cb.*\n/, 'tasks:$1\n')
      // The sweep flag replaces the config's own.
      .concat('sweep: {key: seed, values: [1, 2, 3]}\n');
    fs.writeFileSync(config, text);

    const swept = ptv2(['sweep', 'prompt-length', config, '--values', '6,2', '--json'], dir);
    assert.equal(swept.code, 0, swept.stderr + swept.stdout);
    const summary = JSON.parse(swept.stdout) as {sweep: unknown; runs: {id: string; status: string}[]};
    assert.deepEqual(summary.sweep, {key: 'prompt.length', values: [6, 2]});
    assert.deepEqual(summary.runs.map((r) => `${r.id}:${r.status}`), ['rte/pt2/prompt.length=6:completed', 'rte/pt2/prompt.length=2:completed']);

    const sql = new Database(db, {readonly: true});
    const runs = sql.prepare('SELECT sweep_key AS key, sweep_value AS value, params_json AS params FROM runs ORDER BY id').all() as {key: string; value: string; params: string}[];
    const stored = (sql.prepare('SELECT config_text AS text FROM experiments').get() as {text: string}).text;
    sql.close();
    assert.deepEqual(runs.map((r) => [r.key, r.value]), [['prompt.length', '6'], ['prompt.length', '2']]);
    assert.deepEqual(runs.map((r) => (JSON.parse(r.params) as {prompt: {length: number}}).prompt.length), [6, 2]);
    assert.equal(stored, text.replace('sweep: {key: seed, values: [1, 2, 3]}', 'sweep: {key: prompt.length, values: [6, 2]}  # set by ptv2 sweep'));

    const report = ptv2(['report', '--db', db], dir);
    assert.equal(report.code, 0, report.stderr);
    const table = /## plen #1: PT-2 by prompt length \(best dev score\)\n\n\| Task \| 6 \| 2 \|\n\| :--- \| ---: \| ---: \|\n\| rte \(accuracy\) \| (.+) \| (.+) \|/.exec(report.stdout);
    assert.ok(table, report.stdout);
    const json = JSON.parse(ptv2(['report', '--db', db, '--format', 'json'], dir).stdout) as {sweepValue: number; value: number}[];
    assert.deepEqual(json.map((r) => r.sweepValue), [6, 2]);
    const shown = json.map((r) => (r.value * 100).toFixed(1));
    const best = Math.max(...shown.map(Number)).toFixed(1);
    assert.deepEqual([table[1], table[2]], shown.map((s) => (s === best ? `**${s}**` : s)));

    const svgFile = path.join(dir, 'plots', 'plen.svg');
    const plot = ptv2(['report', '--db', db, '--plot', svgFile], dir);
    assert.equal(plot.code, 0, plot.stderr);
    assert.match(plot.stdout, /wrote the prompt\.length sweep of plen #1 to .*plen\.svg/);
    const svg = fs.readFileSync(svgFile, 'utf8');
    assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, 1);
    assert.match(svg, />rte \/ PT-2<\/text>/);
    assert.match(svg, />plen #1: prompt length<\/text>/);

    // An experiment without a sweep has nothing to plot.
    fs.writeFileSync(config, text.replace(/sweep:.*\n/, '').replace('name: plen', 'name: flat'));
    const flat = ptv2(['run', config], dir);
    assert.equal(flat.code, 0, flat.stderr);
    const refused = ptv2(['report', '--db', db, '--experiment', 'flat', '--plot', path.join(dir, 'flat.svg')], dir);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Error: .*ptv2\.db: experiment flat #\d has no sweep, so there is nothing to plot/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);
    assert.ok(!fs.existsSync(path.join(dir, 'flat.svg')));
  });

  test('a bad key or value exits non-zero with the message alone, before anything is written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-sweep-bad-'));
    const config = tinyConfig(dir, 'bad');
    const badValue = ptv2(['sweep', 'lr', config, '--values', '0.01,fast'], dir);
    assert.notEqual(badValue.code, 0);
    assert.match(badValue.stderr, /^Error: --values: value 2 for train\.lr: expected a number > 0, got "fast"\n/);
    const badKey = ptv2(['sweep', 'lenght', config, '--values', '4'], dir);
    assert.notEqual(badKey.code, 0);
    assert.match(badKey.stderr, /^Error: KEY: expected one of prompt-length, .* got "lenght"/);
    const missing = ptv2(['sweep', 'lr', path.join(dir, 'nope.yaml'), '--values', '0.01'], dir);
    assert.match(missing.stderr, /nope\.yaml: config file not found/);
    for (const r of [badValue, badKey, missing]) assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(!fs.existsSync(path.join(dir, 'ptv2.db')));
  });
});
