/**
 * SQLite errors a user can meet (a lock, a full disk, a read-only file, a file that is not a
 * database) as UserErrors that name the database file and say what to do.
 */
import Database from 'better-sqlite3';
import {UserError} from '../errors.js';

export function openDatabase(dbPath: string, options: Database.Options): Database.Database {
  try {
    return new Database(dbPath, options);
  } catch (error) {
    throw databaseError(error, dbPath, 'cannot open');
  }
}

/** What to do about SQLite's error codes a user can meet. */
const DATABASE_HINTS: Record<string, string[]> = {
  SQLITE_BUSY: ['another program holds a lock on it (an open transaction in a SQLite shell or browser?); close it, then continue with ptv2 run CONFIG --resume'],
  SQLITE_FULL: ['the disk is full: free space, then continue with ptv2 run CONFIG --resume'],
  SQLITE_READONLY: ['the file or its directory is read-only: pass --db with a path you can write'],
  SQLITE_CANTOPEN: ['check that the directory exists and you can write it, or pass --db with another path'],
  SQLITE_IOERR: ['the disk reported an error writing it; check free space and the file system'],
  SQLITE_CORRUPT: ['the file is damaged; keep a copy and start a new database with --db'],
  SQLITE_NOTADB: ['use the path of a ptv2 results database, or a new path to create one'],
};

/** A SQLite error as a UserError naming the database file; other errors pass through. */
export function databaseError(error: unknown, dbPath: string, what: string): unknown {
  const code = (error as {code?: unknown}).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  if (code === 'SQLITE_NOTADB') return new UserError('not a SQLite database', {file: dbPath}, DATABASE_HINTS.SQLITE_NOTADB);
  const base = Object.keys(DATABASE_HINTS).find((k) => code === k || code.startsWith(`${k}_`));
  // Constraint failures are ptv2's own bugs or a bad value; they keep SQLite's message, with the file.
  return new UserError(`${what}: ${(error as Error).message}`, {file: dbPath}, base ? DATABASE_HINTS[base] : []);
}
