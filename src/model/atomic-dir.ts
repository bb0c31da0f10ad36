/**
 * A directory that appears only once complete: it is written as a hidden sibling
 * (`.NAME.partial-PID`) and renamed into place, so a process killed while writing a checkpoint
 * never leaves a directory that looks like one. Renaming within one directory is atomic on POSIX
 * file systems. Leftover siblings of processes that no longer run are removed on the next write;
 * being hidden and differently named, nothing else ever reads them.
 */
import fs from 'node:fs';
import path from 'node:path';
import {isProcessAlive} from '../store/liveness.js';

const PARTIAL = /^\.(.+)\.(?:partial|old)-(\d+)$/;

/** The temporary sibling this process writes `dir` in. */
export function partialDirOf(dir: string, pid = process.pid): string {
  return path.join(path.dirname(path.resolve(dir)), `.${path.basename(path.resolve(dir))}.partial-${pid}`);
}

/** Removes partial siblings of `dir` left by processes that are gone; returns the paths removed. */
export function removeStalePartials(dir: string): string[] {
  const parent = path.dirname(path.resolve(dir));
  const name = path.basename(path.resolve(dir));
  if (!fs.existsSync(parent)) return [];
  const removed: string[] = [];
  for (const entry of fs.readdirSync(parent)) {
    const match = PARTIAL.exec(entry);
    if (!match || match[1] !== name || isProcessAlive(Number(match[2]))) continue;
    fs.rmSync(path.join(parent, entry), {recursive: true, force: true});
    removed.push(path.join(parent, entry));
  }
  return removed;
}

/**
 * Calls `write` on an empty temporary sibling of `dir`, then moves it to `dir`. With `replace`, an
 * existing `dir` is swapped out and deleted after the new one is in place; without, an existing
 * `dir` is an error. On any failure the temporary directory is removed and `dir` is as it was.
 */
export async function writeDirectoryAtomically(dir: string, write: (tmp: string) => void | Promise<void>, opts: {replace?: boolean} = {}): Promise<void> {
  removeStalePartials(dir);
  const tmp = partialDirOf(dir);
  fs.rmSync(tmp, {recursive: true, force: true});
  fs.mkdirSync(tmp, {recursive: true});
  try {
    await write(tmp);
    if (fs.existsSync(dir)) {
      if (!opts.replace) throw new Error(`${dir} appeared while it was being written`);
      const old = path.join(path.dirname(tmp), `.${path.basename(path.resolve(dir))}.old-${process.pid}`);
      fs.renameSync(dir, old);
      fs.renameSync(tmp, dir);
      fs.rmSync(old, {recursive: true, force: true});
    } else {
      fs.renameSync(tmp, dir);
    }
  } catch (error) {
    fs.rmSync(tmp, {recursive: true, force: true});
    throw error;
  }
}
