/**
 * Changes a run makes to a config's text before it is checked: a profile (`--profile NAME` or the
 * config's `profile:`) merged over the config's own values, then each `--set KEY=VALUE` in order.
 *
 * Both become assignments of one leaf at a key path, applied to the YAML Document (so comments
 * stay) and checked by the schema with the rest of the config. Each assignment remembers where it
 * came from, so a bad value is reported at its source: `--set tasks.rte.train.lr: expected a
 * number > 0, got "fast"`, or the profile's line in the file. Tasks are addressed by name
 * (`tasks.rte.train.lr`) as well as by index (`tasks[0].train.lr`).
 *
 * The edited Document's text, with a header comment naming the profile and the `--set`s, is what
 * the experiment stores: loading it again, with no flags, gives the same config. Its `profile:`
 * is null there, since the profile's values are already in it.
 *
 * Pure: no file system. References: eemeli.org/yaml (Document.setIn, createNode).
 */

import {isMap, isSeq, parseDocument} from 'yaml';
import type {Document} from 'yaml';

import {formatLocated, UserError} from '../errors.js';

export interface ConfigEdits {
  /** --profile: a name under the config's `profiles:`; overrides the config's `profile:`. */
  profile?: string;
  /** --set, in the order given: `KEY=VALUE`, VALUE read as YAML. */
  sets?: readonly string[];
}

type PathSegment = string | number;

/** One leaf to write, and where the value came from, for messages. */
export interface Assignment {
  path: PathSegment[];
  value: unknown;
  /** `--set KEY` as the user typed KEY, or the profile leaf's own path in the file. */
  origin: {kind: 'set'; key: string} | {kind: 'profile'; path: PathSegment[]};
}

export const SET_FLAG = '--set';
export const PROFILE_FLAG = '--profile';

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function setError(key: string, message: string, suggestions: string[] = []): UserError {
  return new UserError(message, {field: `${SET_FLAG} ${key}`}, suggestions);
}

/** `train.lr=0.01` → key and YAML value; the value may be a flow collection (`[ft, pt2]`). */
export function parseSetArgument(argument: string): {key: string; value: unknown} {
  const at = argument.indexOf('=');
  if (at <= 0) {
    throw new UserError(`expected KEY=VALUE, got ${JSON.stringify(argument)}`, {field: SET_FLAG}, ['e.g. --set train.lr=0.01 or --set tasks.rte.prompt.length=32']);
  }
  const key = argument.slice(0, at).trim();
  const text = argument.slice(at + 1);
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw setError(key, `the value is not YAML: ${doc.errors[0].message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  return {key, value: text.trim() === '' ? null : doc.toJS()};
}

/**
 * `tasks.rte.train.lr` → ['tasks', 0, 'train', 'lr'] for a config whose first task is rte;
 * `tasks[1].max_length` keeps its index. A task name the config lacks is an error listing its tasks.
 */
export function resolveKeyPath(key: string, taskNames: readonly string[]): PathSegment[] {
  const path: PathSegment[] = [];
  for (const part of key.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!match || (match[1] === '' && match[2] === '')) {
      throw setError(key, 'expected a key path like train.lr, tasks.rte.train.lr or tasks[0].max_length');
    }
    if (match[1]) path.push(match[1]);
    for (const index of match[2].matchAll(/\[(\d+)\]/g)) path.push(Number(index[1]));
  }
  if (path[0] === 'tasks' && typeof path[1] === 'string') {
    const index = taskNames.indexOf(path[1]);
    if (index < 0) throw setError(key, `the config has no task "${path[1]}"`, [`its tasks: ${taskNames.join(', ')}`]);
    path[1] = index;
  }
  if (path[0] === 'tasks' && typeof path[1] === 'number' && path[1] >= taskNames.length) {
    throw setError(key, `the config has ${taskNames.length} task(s), so there is no tasks[${path[1]}]`);
  }
  return path;
}

/** Every leaf of a mapping (lists and scalars are leaves), with its path below `prefix`. */
function leaves(value: unknown, prefix: PathSegment[]): {path: PathSegment[]; value: unknown}[] {
  if (!isRecord(value) || Object.keys(value).length === 0) return [{path: prefix, value}];
  return Object.entries(value).flatMap(([key, inner]) => leaves(inner, [...prefix, key]));
}

/**
 * The profile's leaves as assignments: its task entries go to the task of that name (skipped
 * when the config does not list it), `description` is not a config key.
 */
export function profileAssignments(profiles: unknown, name: string, taskNames: readonly string[]): Assignment[] {
  const profile = isRecord(profiles) ? profiles[name] : undefined;
  if (!isRecord(profile)) return [];
  const out: Assignment[] = [];
  for (const [section, value] of Object.entries(profile)) {
    if (section === 'description') continue;
    if (section === 'tasks' && isRecord(value)) {
      for (const [task, entry] of Object.entries(value)) {
        const index = taskNames.indexOf(task);
        if (index < 0) continue;
        for (const leaf of leaves(entry, [])) {
          out.push({path: ['tasks', index, ...leaf.path], value: leaf.value, origin: {kind: 'profile', path: ['profiles', name, 'tasks', task, ...leaf.path]}});
        }
      }
      continue;
    }
    for (const leaf of leaves(value, [section])) {
      out.push({path: leaf.path, value: leaf.value, origin: {kind: 'profile', path: ['profiles', name, ...leaf.path]}});
    }
  }
  return out;
}

/** The profile a run applies: --profile, else a `--set profile=…`, else the config's `profile:`. */
export function chosenProfile(data: Record<string, unknown>, edits: ConfigEdits): {name: string; from: 'flag' | 'set' | 'config'} | undefined {
  if (edits.profile !== undefined) return {name: edits.profile, from: 'flag'};
  const set = [...(edits.sets ?? [])].reverse().map(parseSetArgument).find((s) => s.key === 'profile');
  if (set && typeof set.value === 'string') return {name: set.value, from: 'set'};
  if (set) return undefined;
  return typeof data.profile === 'string' ? {name: data.profile, from: 'config'} : undefined;
}

/** `--profile NAME` must name one of the config's profiles. */
export function checkProfileExists(data: Record<string, unknown>, chosen: {name: string; from: string}, file: string, line?: number): void {
  const names = isRecord(data.profiles) ? Object.keys(data.profiles) : [];
  if (names.includes(chosen.name)) return;
  const message = `no profile "${chosen.name}" in the config`;
  const suggestions = names.length > 0 ? [`its profiles: ${names.join(', ')}`] : ['add a profiles: section to the config (see configs/superglue.yaml)'];
  if (chosen.from === 'config') throw new UserError(message, {file, line, field: 'profile'}, suggestions);
  throw new UserError(message, {field: chosen.from === 'flag' ? PROFILE_FLAG : `${SET_FLAG} profile`}, suggestions);
}

/** Writes each assignment into the Document, creating mappings on the way. */
export function applyAssignments(doc: Document, assignments: readonly Assignment[]): void {
  for (const a of assignments) {
    // A mapping on the way that is a scalar (`prompt: null`) is replaced rather than failing inside yaml.
    for (let depth = 1; depth < a.path.length; depth++) {
      const node = doc.getIn(a.path.slice(0, depth), true);
      if (node !== undefined && !isMap(node) && !isSeq(node)) doc.setIn(a.path.slice(0, depth), doc.createNode({}));
    }
    doc.setIn(a.path, doc.createNode(a.value, {flow: true}));
  }
}

/** `# ptv2: --profile roberta-large --set train.lr=0.01 merged into this text` */
export function editsHeader(profile: string | undefined, sets: readonly string[]): string {
  const parts = [...(profile === undefined ? [] : [`${PROFILE_FLAG} ${profile}`]), ...sets.map((s) => `${SET_FLAG} ${s}`)];
  return `# ptv2: ${parts.join(' ')} merged into this text (profile: null, its values are below)`;
}

/** The assignment that set `path` or a mapping above it (the last one wins), for messages. */
export function assignmentAt(assignments: readonly Assignment[], path: readonly PropertyKey[]): Assignment | undefined {
  const covers = (a: Assignment) =>
    a.path.length <= path.length && a.path.every((segment, i) => String(segment) === String(path[i]));
  return [...assignments].reverse().find(covers);
}

export function setMessage(key: string, message: string): string {
  return formatLocated(message, {field: `${SET_FLAG} ${key}`});
}
