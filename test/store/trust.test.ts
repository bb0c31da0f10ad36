/**
 * What the store refuses and how it reads liveness: a database another program owns is never
 * changed (not migrated, not switched to WAL); the previous schema is read as it is by read-only
 * opens; a 'running' row whose heartbeat is older than the stale limit reads as 'interrupted'
 * wherever it ran, and is marked so by the next writer; a database error names the file.
 */
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import {isUserError} from '../../src/errors.js';
import {abandonedBecause, staleSeconds} from '../../src/store/liveness.js';
import {MIGRATIONS} from '../../src/store/migrations.js';
import {Store, type RunStart} from '../../src/store/index.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-trust-'));
}

function fileState(file: string) {
  return {sha: createHash('sha256').update(fs.readFileSync(file)).digest('hex'), size: fs.statSync(file).size, siblings: fs.readdirSync(path.dirname(file)).sort()};
}

function run(experimentId: number, task = 'rte'): RunStart {
  return {experimentId, task, method: 'pt2', params: {}, seed: 1, backend: 'cpu', trainableParams: 1, totalParams: 2, keyMetric: 'accuracy'};
}

function withStaleSeconds<T>(value: string | undefined, fn: () => T): T {
  const before = process.env.PTV2_STALE_SECONDS;
  if (value === undefined) delete process.env.PTV2_STALE_SECONDS;
  else process.env.PTV2_STALE_SECONDS = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.PTV2_STALE_SECONDS;
    else process.env.PTV2_STALE_SECONDS = before;
  }
}

describe('databases that are not ptv2\'s', () => {
  const CASES = [
    {name: 'another program\'s table, user_version 0', setup: (db: Database.Database) => db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)'), message: /not a ptv2 database: it has table invoices, which ptv2 does not create/},
    {name: 'ptv2\'s tables plus a foreign one', setup: (db: Database.Database) => {
      db.exec(MIGRATIONS[0] as string);
      db.pragma('user_version = 1');
      db.exec('CREATE TABLE notes (x)');
    }, message: /it has table notes, which ptv2 does not create/},
    {name: 'a user_version ptv2 does not know, without ptv2 tables', setup: (db: Database.Database) => {
      db.exec('CREATE TABLE things (x)');
      db.pragma('user_version = 41');
    }, message: /not a ptv2 database: its user_version is 41 and it has no ptv2 tables/},
    {name: 'a known user_version without ptv2\'s tables', setup: (db: Database.Database) => {
      db.exec('CREATE TABLE experiments (x)');
      db.pragma('user_version = 1');
    }, message: /its user_version is 1 but it lacks ptv2's tables artifacts, metrics, runs/},
  ];
  for (const c of CASES) {
    test(`${c.name}: open, openReadOnly and checkWritable refuse it naming the file, and the file is unchanged`, () => {
      const file = path.join(tempDir(), 'other.sqlite');
      const raw = new Database(file);
      c.setup(raw);
      raw.close();
      const before = fileState(file);
      for (const open of [() => Store.open(file), () => Store.openReadOnly(file), () => Store.checkWritable(file)]) {
        assert.throws(open, (error: Error) => {
          assert.ok(isUserError(error), error.message);
          assert.ok(error.message.startsWith(`${file}: `), error.message);
          assert.match(error.message, c.message);
          return true;
        });
      }
      assert.deepEqual(fileState(file), before);
      const check = new Database(file, {readonly: true});
      assert.equal(check.pragma('journal_mode', {simple: true}), 'delete', 'not switched to WAL');
      check.close();
    });
  }

  test('a file that is not SQLite at all is refused by every open, and left as it was', () => {
    const file = path.join(tempDir(), 'notes.txt');
    fs.writeFileSync(file, 'not a database\n'.repeat(200));
    for (const open of [() => Store.open(file), () => Store.openReadOnly(file), () => Store.checkWritable(file)]) {
      assert.throws(open, {name: 'UserError', message: `${file}: not a SQLite database`});
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'not a database\n'.repeat(200));
  });

  test('checkWritable: a new path is fine and not created; a directory or a read-only file is refused', () => {
    const dir = tempDir();
    Store.checkWritable(path.join(dir, 'new', 'deeper', 'ptv2.db'));
    assert.ok(!fs.existsSync(path.join(dir, 'new')));
    assert.throws(() => Store.checkWritable(dir), {message: `${dir}: is a directory, not a database file`});
    const file = path.join(dir, 'ro.db');
    Store.open(file).close();
    fs.chmodSync(file, 0o444);
    if (process.getuid?.() !== 0) assert.throws(() => Store.checkWritable(file), /not writable/);
  });
});

describe('the previous schema (version 1)', () => {
  test('read-only opens read it as it is (no heartbeats); open migrates it to the current version', () => {
    const file = path.join(tempDir(), 'v1.db');
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    raw.exec(MIGRATIONS[0] as string);
    raw.pragma('user_version = 1');
    raw.prepare(`INSERT INTO experiments (name, config_text, config_hash, created_at, status) VALUES ('old', 'x', ?, '2026-01-01T00:00:00Z', 'completed')`).run('a'.repeat(64));
    raw.close();
    const before = fileState(file);
    const reader = Store.openReadOnly(file);
    assert.deepEqual(reader.experiments().map((e) => [e.name, e.status, e.heartbeatAt]), [['old', 'completed', null]]);
    reader.close();
    assert.deepEqual(fileState(file).sha, before.sha);

    Store.open(file).close();
    const check = new Database(file, {readonly: true});
    assert.equal(check.pragma('user_version', {simple: true}), MIGRATIONS.length);
    assert.ok((check.prepare(`SELECT name FROM pragma_table_info('runs')`).all() as {name: string}[]).some((c) => c.name === 'heartbeat_at'));
    check.close();
  });
});

describe('liveness', () => {
  const host = 'here';
  const now = Date.parse('2026-12-07T12:00:00Z');
  const ago = (s: number) => new Date(now - s * 1000).toISOString();
  const CASES = [
    {name: 'another host, heartbeat 10 s ago', row: {status: 'running', pid: 1, host: 'elsewhere', heartbeatAt: ago(10), since: ago(500)}, stale: false},
    {name: 'another host, heartbeat 61 s ago', row: {status: 'running', pid: 1, host: 'elsewhere', heartbeatAt: ago(61), since: ago(500)}, stale: true},
    {name: 'no heartbeat (older ptv2), started 30 s ago', row: {status: 'running', pid: 1, host: 'elsewhere', heartbeatAt: null, since: ago(30)}, stale: false},
    {name: 'no heartbeat (older ptv2), started 90 s ago', row: {status: 'running', pid: 1, host: 'elsewhere', heartbeatAt: null, since: ago(90)}, stale: true},
    {name: 'this host, pid alive, heartbeat fresh', row: {status: 'running', pid: process.pid, host, heartbeatAt: ago(1), since: ago(1)}, stale: false},
    {name: 'this host, pid alive, heartbeat 120 s old', row: {status: 'running', pid: process.pid, host, heartbeatAt: ago(120), since: ago(120)}, stale: true},
    {name: 'this host name, no such pid here, heartbeat 3 s ago (maybe another PID namespace)', row: {status: 'running', pid: 2 ** 22 + 7, host, heartbeatAt: ago(3), since: ago(3)}, stale: false},
    {name: 'this host name, no such pid here, heartbeat 11 s ago', row: {status: 'running', pid: 2 ** 22 + 7, host, heartbeatAt: ago(11), since: ago(11)}, stale: true},
    {name: 'this host, no such pid, no heartbeat (older ptv2)', row: {status: 'running', pid: 2 ** 22 + 7, host, heartbeatAt: null, since: ago(1)}, stale: true},
    {name: 'completed long ago', row: {status: 'completed', pid: 1, host: 'elsewhere', heartbeatAt: ago(9999), since: ago(9999)}, stale: false},
  ];
  for (const c of CASES) {
    test(`abandonedBecause: ${c.name}`, () => {
      assert.equal(abandonedBecause(c.row, {host, staleSeconds: 60, now}) !== undefined, c.stale);
    });
  }

  test('staleSeconds: 60 by default, PTV2_STALE_SECONDS when a positive number, else an error naming the variable', () => {
    assert.equal(staleSeconds({}), 60);
    assert.equal(staleSeconds({PTV2_STALE_SECONDS: '5'}), 5);
    assert.throws(() => staleSeconds({PTV2_STALE_SECONDS: 'soon'}), {message: 'PTV2_STALE_SECONDS: expected a number of seconds > 0, got "soon"'});
    assert.throws(() => staleSeconds({PTV2_STALE_SECONDS: '0'}), /PTV2_STALE_SECONDS/);
  });

  test('a run on another host that went silent reads as interrupted for readers (without writing) and is marked so by the next writer', () => {
    const file = path.join(tempDir(), 'ptv2.db');
    const store = Store.open(file);
    const silent = store.createExperiment({name: 'silent', configText: ''});
    const silentRun = store.startRun(run(silent));
    const alive = store.createExperiment({name: 'alive', configText: ''});
    const aliveRun = store.startRun(run(alive));
    store.close();
    const raw = new Database(file);
    raw.prepare(`UPDATE experiments SET host = 'elsewhere', pid = 1, heartbeat_at = ? WHERE id = ?`).run(new Date(Date.now() - 120_000).toISOString(), silent);
    raw.prepare(`UPDATE runs SET host = 'elsewhere', pid = 1, heartbeat_at = ? WHERE id = ?`).run(new Date(Date.now() - 120_000).toISOString(), silentRun);
    raw.prepare(`UPDATE experiments SET host = 'elsewhere', pid = 1, heartbeat_at = ? WHERE id = ?`).run(new Date(Date.now() - 5_000).toISOString(), alive);
    raw.prepare(`UPDATE runs SET host = 'elsewhere', pid = 1, heartbeat_at = ? WHERE id = ?`).run(new Date(Date.now() - 5_000).toISOString(), aliveRun);
    raw.close();
    const stored = () => {
      const db = new Database(file, {readonly: true});
      const rows = db.prepare('SELECT id, status FROM runs ORDER BY id').all();
      db.close();
      return rows;
    };

    withStaleSeconds(undefined, () => {
      const reader = Store.openReadOnly(file);
      assert.deepEqual(reader.experiments().map((e) => [e.name, e.status]), [['alive', 'running'], ['silent', 'interrupted']]);
      assert.deepEqual(reader.runs(silent).map((r) => r.status), ['interrupted']);
      assert.deepEqual(reader.bestScores(silent).map((r) => r.status), ['interrupted']);
      assert.equal(reader.run(aliveRun)?.status, 'running');
      reader.close();
    });
    assert.deepEqual(stored(), [{id: silentRun, status: 'running'}, {id: aliveRun, status: 'running'}], 'readers write nothing');

    // A longer limit: nothing is stale yet.
    withStaleSeconds('300', () => {
      const reader = Store.openReadOnly(file);
      assert.equal(reader.findExperiment('silent')?.status, 'running');
      reader.close();
    });

    withStaleSeconds(undefined, () => {
      const writer = Store.open(file);
      assert.equal(writer.markOrphanedRunsInterrupted(), 1);
      assert.match(writer.run(silentRun)?.error ?? '', /no heartbeat from process 1 on elsewhere for 120 s \(limit 60 s, PTV2_STALE_SECONDS\)/);
      // --resume --force takes over the one that still looks alive.
      assert.equal(writer.markOrphanedRunsInterrupted({takeOver: alive}), 1);
      assert.equal(writer.findExperiment('alive')?.status, 'interrupted');
      assert.match(writer.run(aliveRun)?.error ?? '', /taken over by process \d+ .*--resume --force/);
      writer.close();
    });
    assert.deepEqual(stored(), [{id: silentRun, status: 'interrupted'}, {id: aliveRun, status: 'interrupted'}]);
  });

  test('heartbeat stamps the experiment and its run, and only while they are running', () => {
    const store = Store.open(':memory:');
    const e = store.createExperiment({name: 'e', configText: ''});
    const r = store.startRun(run(e));
    const first = store.run(r)!.heartbeatAt!;
    const later = new Date(Date.parse(first) + 1).toISOString();
    while (new Date().toISOString() <= later);
    store.heartbeat(e, r);
    assert.ok(store.run(r)!.heartbeatAt! > first);
    assert.ok(store.findExperiment('e')!.heartbeatAt! > first);
    store.finishRun(r, {status: 'completed'});
    const finished = store.run(r)!.heartbeatAt;
    store.heartbeat(e, r);
    assert.equal(store.run(r)!.heartbeatAt, finished);
    store.close();
  });
});

describe('database errors name the file', () => {
  test('a write that fails (a trigger standing in for a full disk) is a UserError naming the file and what was not recorded', () => {
    const file = path.join(tempDir(), 'ptv2.db');
    const store = Store.open(file);
    const e = store.createExperiment({name: 'e', configText: ''});
    const r = store.startRun(run(e));
    const raw = new Database(file);
    raw.exec(`CREATE TRIGGER full BEFORE INSERT ON metrics BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    raw.close();
    assert.throws(() => store.recordMetrics(r, [{epoch: 1, step: 1, split: 'dev', name: 'accuracy', value: 0.5}]), (error: Error) => {
      assert.ok(isUserError(error));
      assert.equal(error.message, `${file}: cannot record metrics of run ${r}: database or disk is full`);
      return true;
    });
    store.close();
  });

  test('a database locked by another connection: the write waits the busy timeout, then fails naming the file and the lock', () => {
    const file = path.join(tempDir(), 'ptv2.db');
    const store = Store.open(file);
    const e = store.createExperiment({name: 'e', configText: ''});
    const raw = new Database(file);
    raw.exec('BEGIN EXCLUSIVE');
    const started = Date.now();
    assert.throws(() => store.startRun(run(e)), (error: Error) => {
      assert.ok(isUserError(error));
      assert.equal(error.message, `${file}: cannot record the start of run rte/pt2: database is locked`);
      assert.match(error.suggestions[0], /another program holds a lock on it/);
      return true;
    });
    assert.ok(Date.now() - started >= 4500, 'waited for the lock first');
    raw.exec('ROLLBACK');
    raw.close();
    assert.equal(typeof store.startRun(run(e)), 'number');
    store.close();
  });
});
