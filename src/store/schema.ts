/**
 * Whose database is this, and which schema version? Checked before anything is written, so that
 * ptv2 never migrates, switches to WAL or otherwise changes a database another program owns.
 *
 * A file is ptv2's when its `PRAGMA user_version` is one ptv2 knows and its tables are exactly
 * those ptv2's migrations create up to that version (a new, empty file is version 0 with none).
 * The expected tables are found by running the migrations on an in-memory database, so a new
 * migration needs no change here.
 */
import Database from 'better-sqlite3';
import {UserError} from '../errors.js';
import {MIGRATIONS, type Migration} from './migrations.js';

/** The oldest schema a read-only command (report, ui) reads as it is, without migrating. */
export const OLDEST_READABLE_VERSION = 1;

const tablesByVersion = new Map<number, Set<string>>();

function tableNames(db: Database.Database): string[] {
  return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`).all() as {name: string}[]).map((r) => r.name);
}

/** The tables a database has after migrations 0 … version-1. */
export function tablesAtVersion(version: number): Set<string> {
  let tables = tablesByVersion.get(version);
  if (!tables) {
    const scratch = new Database(':memory:');
    for (const migration of MIGRATIONS.slice(0, version)) apply(scratch, migration);
    tables = new Set(tableNames(scratch));
    scratch.close();
    tablesByVersion.set(version, tables);
  }
  return tables;
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', {simple: true}) as number;
}

/** Refuses, naming the file, a database that is not ptv2's or is newer than this ptv2; returns its version. */
export function checkPtv2Database(db: Database.Database, dbPath: string): number {
  const version = schemaVersion(db);
  const tables = tableNames(db);
  const notOurs = (what: string) =>
    new UserError(`not a ptv2 database: ${what}; ptv2 leaves it untouched`, {file: dbPath}, [
      'pass --db with the path of a ptv2 results database, or a new path to create one',
    ]);
  if (version > MIGRATIONS.length) {
    if (!tables.includes('experiments') || !tables.includes('runs')) throw notOurs(`its user_version is ${version} and it has no ptv2 tables`);
    throw new UserError(`database schema version ${version} is newer than this ptv2 understands (${MIGRATIONS.length})`, {file: dbPath}, [
      'upgrade ptv2, or point it at a different database',
    ]);
  }
  const expected = tablesAtVersion(version);
  const foreign = tables.filter((t) => !expected.has(t));
  const missing = [...expected].filter((t) => !tables.includes(t));
  if (foreign.length > 0) throw notOurs(`it has table${foreign.length > 1 ? 's' : ''} ${foreign.join(', ')}, which ptv2 does not create`);
  if (missing.length > 0) throw notOurs(`its user_version is ${version} but it lacks ptv2's table${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return version;
}

function apply(db: Database.Database, migration: Migration): void {
  if (typeof migration === 'string') db.exec(migration);
  else migration(db);
}

/** Applies pending migrations one transaction each; safe when several processes open a new file at once. */
export function migrate(db: Database.Database): void {
  const applyNext = db.transaction(() => {
    // Re-read under the write lock: another process may have migrated since the check outside it.
    const version = schemaVersion(db);
    if (version >= MIGRATIONS.length) return;
    apply(db, MIGRATIONS[version]);
    const broken = db.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw new Error(`migration ${version + 1} left ${broken.length} rows whose foreign keys do not match`);
    db.pragma(`user_version = ${version + 1}`);
  });
  if (schemaVersion(db) >= MIGRATIONS.length) return;
  // A table rebuild drops the old table; with foreign keys on that would cascade into its children.
  // The pragma is a no-op inside a transaction, so it is set around them.
  const foreignKeys = db.pragma('foreign_keys', {simple: true}) as number;
  db.pragma('foreign_keys = OFF');
  try {
    while (schemaVersion(db) < MIGRATIONS.length) applyNext.immediate();
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON');
  }
}

/** Whether a table has a column (a read-only open of an older schema reads missing columns as NULL). */
export function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`).all(table, column) as unknown[]).length > 0;
}
