/**
 * The paths a job's config names, as a worker reads them. Without `--root` they are used as they
 * are (relative ones from the worker's working directory). With `--root DIR`, relative paths
 * resolve under DIR and a path that ends up outside it (absolute, `..`, or a symbolic link out)
 * is refused, so a job cannot make a worker read or create files anywhere else.
 *
 * The paths: model.path, every task's data directory, and every prompt.init_from (top level,
 * method and task overrides). The config's database and output_dir are the submitter's: a worker
 * keeps its records in memory and its files in a scratch directory and sends both back.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {Ptv2Config} from '../config/schema.js';
import {UserError} from '../errors.js';

/** The config with its paths resolved for this worker, or a UserError naming the first path outside `root`. */
export function resolveJobPaths(config: Ptv2Config, root: string | undefined, file: string): Ptv2Config {
  if (root === undefined) return config;
  const resolve = underRoot(root, file);
  const copy = structuredClone(config);
  copy.model.path = resolve(copy.model.path, 'model.path');
  copy.tasks.forEach((task, i) => (task.data = resolve(task.data, `tasks[${i}].data`)));
  resolveInitFrom(copy, '', resolve);
  return copy;
}

/** output_dir for files too large for the queue (written only then, and refused outside the root like any path). */
export function resolveOutputDir(outputDir: string, root: string | undefined, file: string): string {
  return root === undefined ? outputDir : underRoot(root, file)(outputDir, 'output_dir');
}

function underRoot(root: string, file: string): (value: string, field: string) => string {
  const base = realPath(path.resolve(root));
  return (value: string, field: string): string => {
    const resolved = path.resolve(base, value);
    const real = realPath(resolved);
    const relative = path.relative(base, real);
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new UserError(`${value} is outside the worker's --root ${base}`, {file, field}, ['use paths under the root the workers share, or start the worker with a --root that holds them']);
    }
    return resolved;
  };
}

/** Every `init_from` string anywhere in the config but its unused profiles. */
function resolveInitFrom(node: unknown, at: string, resolve: (value: string, field: string) => string): void {
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    const field = at === '' ? key : Array.isArray(node) ? `${at}[${key}]` : `${at}.${key}`;
    if (field === 'profiles') continue;
    if (key === 'init_from' && typeof value === 'string') (node as Record<string, unknown>)[key] = resolve(value, field);
    else resolveInitFrom(value, field, resolve);
  }
}

/** The real path of the deepest part that exists, with the rest appended: a symbolic link out of the root is seen. */
function realPath(p: string): string {
  let existing = p;
  const rest: string[] = [];
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) return p;
    rest.unshift(path.basename(existing));
    existing = parent;
  }
  return path.join(fs.realpathSync(existing), ...rest);
}
