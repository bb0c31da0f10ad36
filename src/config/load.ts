/**
 * Reading an experiment config: YAML text → validated Ptv2Config, or a ConfigError listing every
 * problem with its line and dotted key path (`configs/x.yaml:12 train.lr: expected a number > 0,
 * got "fast"`).
 *
 * Lines come from the YAML node tree (yaml's parseDocument with a LineCounter), not from the
 * plain data zod sees, so each zod issue is mapped back to the node at its path. Also here: the
 * pure config edits the planner needs (method overrides, setting a key by path), because both
 * must validate and report like the loader does.
 *
 * References: eemeli.org/yaml (Documents, LineCounter, node ranges), zod.dev/v4 (issue codes).
 */

import fs from 'node:fs';
import {isMap, isNode, isScalar, isSeq, LineCounter, parseDocument} from 'yaml';
import type {Document, Node} from 'yaml';
import {z} from 'zod';

import {taskProblems} from '../data/registry.js';
import {decodeUtf8} from '../data/text-file.js';
import {formatLocated, UserError, type ErrorLocation} from '../errors.js';
import {applyAssignments, assignmentAt, chosenProfile, checkProfileExists, editsHeader, parseSetArgument, profileAssignments, resolveKeyPath, SET_FLAG} from './edits.js';
import type {Assignment, ConfigEdits} from './edits.js';
import {ptv2ConfigSchema} from './schema.js';
import type {Ptv2Config} from './schema.js';

export interface ConfigIssue {
  /** The config file as the user named it; empty when the value did not come from a file. */
  file: string;
  /** 1-based line of the offending node, or of the mapping that lacks a required key. */
  line?: number;
  /** Dotted key path with array indices, e.g. `tasks[1].name`; empty for the whole document. */
  path: string;
  message: string;
}

export class ConfigError extends UserError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface LoadedConfig {
  config: Ptv2Config;
  /** The file's text as read, kept so a run can record exactly what it was started with. */
  text: string;
  file: string;
  /** Where a key of the config was set (file, line, key; or the --set that set it), for errors found later. */
  locate?: (path: readonly PropertyKey[]) => ErrorLocation;
}

type PathSegment = string | number;

function formatIssue(issue: ConfigIssue): string {
  return formatLocated(issue.message, {
    file: issue.file || undefined,
    line: issue.line,
    field: issue.path || undefined,
  });
}

/** `['tasks', 1, 'name']` → `tasks[1].name`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text ? `.${String(segment)}` : String(segment);
  }
  return text;
}

/** `tasks[1].name` → `['tasks', 1, 'name']`. */
export function parseKeyPath(key: string): PathSegment[] {
  const path: PathSegment[] = [];
  for (const part of key.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!match || (match[1] === '' && match[2] === '')) {
      throw new UserError(`"${key}" is not a key path like "train.lr" or "tasks[0].max_length"`);
    }
    if (match[1]) path.push(match[1]);
    for (const index of match[2].matchAll(/\[(\d+)\]/g)) path.push(Number(index[1]));
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// Locating nodes

/** Walks the YAML node tree; when a segment is absent, the last node found stands for it. */
function lineAt(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number {
  const lineOf = (node: Node) => counter.linePos(node.range?.[0] ?? 0).line;
  let node: unknown = doc.contents;
  let line = isNode(node) ? lineOf(node) : 1;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      if (isNode(pair.key)) line = lineOf(pair.key);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!isNode(item)) break;
      line = lineOf(item);
      node = item;
    } else {
      break;
    }
  }
  return line;
}

/** The key path of the deepest node at a source offset, to name where a syntax error is. */
function pathAtOffset(doc: Document, offset: number): PathSegment[] {
  const covers = (node: unknown): boolean =>
    isNode(node) && node.range !== undefined && node.range !== null && node.range[0] <= offset && offset <= node.range[1];
  const path: PathSegment[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((item) => covers(item.key) || covers(item.value));
      // A key with spaces or line breaks is a scalar the error itself glued together.
      if (!pair || !isScalar(pair.key) || /\s/.test(String(pair.key.value))) break;
      path.push(String(pair.key.value));
      if (covers(pair.key)) break;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex(covers);
      if (index < 0) break;
      path.push(index);
      node = node.items[index];
    } else {
      break;
    }
  }
  return path;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** How a value the user wrote reads in a message: scalars as written, collections by kind. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// Suggestions

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The closest candidate within a typo's reach; short words allow one edit, longer a third. Ties
 * go to the candidate of the closer length, since a mistyped character is likelier than a lost one.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const reach = word.length <= 4 ? 1 : Math.ceil(word.length / 3);
  let best: {candidate: string; distance: number; lengthGap: number} | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    const lengthGap = Math.abs(candidate.length - word.length);
    if (distance > reach) continue;
    if (!best || distance < best.distance || (distance === best.distance && lengthGap < best.lengthGap)) {
      best = {candidate, distance, lengthGap};
    }
  }
  return best?.candidate;
}

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
}

/** Wrappers that do not change which keys a value may have. */
const TRANSPARENT = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch']);

/** The keys the schema allows for the mapping at `path`, for "did you mean" on unknown keys. */
function allowedKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType | undefined = ptv2ConfigSchema;
  let remaining = [...path];
  while (schema) {
    const def = schema.def as unknown as SchemaDef;
    if (TRANSPARENT.has(def.type)) {
      schema = def.innerType;
    } else if (remaining.length === 0) {
      return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
    } else if (def.type === 'object') {
      schema = def.shape?.[String(remaining[0])];
      remaining = remaining.slice(1);
    } else if (def.type === 'array') {
      schema = def.element;
      remaining = remaining.slice(1);
    } else {
      return [];
    }
  }
  return [];
}

function didYouMean(word: string, candidates: readonly string[]): string {
  const match = closestMatch(word, candidates);
  return match === undefined ? '' : ` (did you mean "${match}"?)`;
}

// ---------------------------------------------------------------------------------------------
// zod issues → ConfigIssues

/** A line in the file, or (for a value a `--set` gave) a whole location of its own. */
type Locate = (path: readonly PropertyKey[]) => number | undefined | Omit<ConfigIssue, 'message'>;

function toConfigIssues(zodIssues: readonly z.core.$ZodIssue[], data: unknown, file: string, locate: Locate): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: readonly PropertyKey[], message: string) => {
    const where = locate(path);
    issues.push(typeof where === 'object' ? {...where, message} : {file, line: where, path: formatKeyPath(path), message});
  };

  for (const issue of zodIssues) {
    const path = issue.path;
    const value = valueAt(data, path);
    const key = path[path.length - 1];
    const container = valueAt(data, path.slice(0, -1));

    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(path);
      for (const unknown of issue.keys) add([...path, unknown], `unknown key "${unknown}"${didYouMean(unknown, allowed)}`);
    } else if (value === undefined && typeof key === 'string' && isRecord(container) && !(key in container)) {
      add(path, `missing required key "${key}"`);
    } else if (issue.code === 'invalid_value') {
      const allowed = issue.values.map((allowedValue) => JSON.stringify(allowedValue));
      const hint = typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : '';
      add(path, `expected one of ${allowed.join(', ')}, got ${describeValue(value)}${hint}`);
    } else if (issue.message.startsWith('expected ')) {
      add(path, `${issue.message}, got ${describeValue(value)}`);
    } else {
      add(path, issue.message);
    }
  }
  return issues;
}

function byLine(a: ConfigIssue, b: ConfigIssue): number {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER);
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Read failures a user can fix, by Node's error code. */
const READ_FAILURES = new Map<string, string>([
  ['ENOENT', 'config file not found'],
  ['EISDIR', 'is a directory, expected a YAML config file'],
  ['EACCES', 'config file is not readable (permission denied)'],
]);

/** A config file's text; a missing or unreadable file is a user error naming it. */
export function readConfigText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    const reason = READ_FAILURES.get((error as NodeJS.ErrnoException).code ?? '');
    if (reason === undefined) throw error;
    throw new UserError(reason, {file});
  }
  return decodeUtf8(bytes, file);
}

export function loadConfig(file: string, edits: ConfigEdits = {}): LoadedConfig {
  return parseConfig(readConfigText(file), file, edits);
}

/**
 * The config `text` says, or with `edits` (a profile, `--set`s; see edits.ts) the config it says
 * once they are merged in; `text` is then the edited text, which is what a run records.
 */
export function parseConfig(text: string, file: string, edits: ConfigEdits = {}): LoadedConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, {lineCounter: counter, prettyErrors: false});

  // A document with syntax errors has a guessed structure; schema problems found in it would
  // mostly be echoes of the syntax error, so only the syntax errors are reported.
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => ({
        file,
        line: counter.linePos(error.pos[0]).line,
        path: formatKeyPath(pathAtOffset(doc, error.pos[0])),
        message: error.message,
      })),
    );
  }

  const data: unknown = doc.toJS();
  if (data === null || data === undefined) {
    throw new ConfigError([{file, line: 1, path: '', message: 'the config is empty, expected a mapping with at least name, model, methods and tasks'}]);
  }
  const locateInFile: Locate = (path) => lineAt(doc, counter, path);
  const config = checkConfig(data, file, locateInFile);

  const chosen = chosenProfile(data as Record<string, unknown>, edits);
  const sets = edits.sets ?? [];
  const located = (locate: Locate) => (path: readonly PropertyKey[]): ErrorLocation => {
    const where = locate(path);
    if (typeof where === 'object') return {...(where.file ? {file: where.file} : {}), ...(where.line === undefined ? {} : {line: where.line}), field: where.path};
    return {file, ...(where === undefined ? {} : {line: where}), field: formatKeyPath(path)};
  };
  if (!chosen && sets.length === 0) return {config, text, file, locate: located(locateInFile)};

  // The file is valid on its own; now the profile's values, then each --set, go into a copy.
  if (chosen) checkProfileExists(data as Record<string, unknown>, chosen, file, lineAt(doc, counter, ['profile']));
  const taskNames = config.tasks.map((t) => t.name);
  const assignments: Assignment[] = [
    ...(chosen ? profileAssignments((data as Record<string, unknown>).profiles, chosen.name, taskNames) : []),
    ...sets.map((argument): Assignment => {
      const {key, value} = parseSetArgument(argument);
      return {path: resolveKeyPath(key, taskNames), value, origin: {kind: 'set', key}};
    }),
  ];
  const edited = doc.clone();
  applyAssignments(edited, assignments);
  if (chosen) edited.set('profile', null);
  const locateEdit: Locate = (path) => {
    const source = assignmentAt(assignments, path);
    if (!source) return locateInFile(path);
    if (source.origin.kind === 'profile') {
      const inProfile = [...source.origin.path, ...path.slice(source.path.length)] as PathSegment[];
      return {file, line: lineAt(doc, counter, inProfile), path: formatKeyPath(inProfile)};
    }
    const below = path.length > source.path.length ? ` (${formatKeyPath(path)})` : '';
    return {file: '', path: `${SET_FLAG} ${source.origin.key}${below}`};
  };
  const editedConfig = checkConfig(edited.toJS(), file, locateEdit);
  return {config: editedConfig, text: `${editsHeader(chosen?.name, sets)}\n${edited.toString({flowCollectionPadding: false})}`, file, locate: located(locateEdit)};
}

/** Schema, then the checks that depend on which task (or task family) an entry is. */
function checkConfig(data: unknown, file: string, locate: Locate): Ptv2Config {
  const result = ptv2ConfigSchema.safeParse(data);
  if (!result.success) throw new ConfigError(toConfigIssues(result.error.issues, data, file, locate).sort(byLine));
  const taskIssues = result.data.tasks.flatMap((task, index) =>
    taskProblems(task).map((problem): ConfigIssue => {
      const path = ['tasks', index, ...problem.path];
      // A missing key has no line of its own: lineAt stops at its task entry.
      const where = locate(path);
      return typeof where === 'object' ? {...where, message: problem.message} : {file, line: where, path: formatKeyPath(path), message: problem.message};
    }),
  );
  if (taskIssues.length > 0) throw new ConfigError(taskIssues.sort(byLine));
  return result.data;
}

// ---------------------------------------------------------------------------------------------
// Pure edits

export function withoutUndefined<T extends object>(values: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The config a method trains with: its `method_overrides` entry merged over train and prompt. */
export function applyOverrides(config: Ptv2Config, method: string): Ptv2Config {
  const override = config.method_overrides?.[method as keyof NonNullable<Ptv2Config['method_overrides']>];
  if (!override) return config;
  return {
    ...config,
    train: {...config.train, ...withoutUndefined(override.train)},
    prompt: {...config.prompt, ...withoutUndefined(override.prompt)},
  };
}

/** The prompt keys that shape MPT-2's shared prompt, so a fine-tuning job cannot change them. */
const SHARED_PROMPT_KEYS = ['length', 'reparameterize', 'reparam_hidden', 'depth', 'depth_order', 'shift_positions'] as const;

/**
 * The config one task trains with under one method, most specific last: the top level, the
 * method's `method_overrides` entry, the task's own `train`/`prompt`/`seed`, then the task's
 * `method_overrides` entry for the method. An MPT-2 fine-tuning job starts from the shared
 * prompt, so a task override that would reshape it is refused, naming the key.
 */
export function applyTaskOverrides(config: Ptv2Config, method: string, taskName: string): Ptv2Config {
  const withMethod = applyOverrides(config, method);
  const index = config.tasks.findIndex((t) => t.name === taskName);
  const task = config.tasks[index];
  if (!task) return withMethod;
  const taskMethod = task.method_overrides?.[method as keyof NonNullable<typeof task.method_overrides>];
  const prompt = {...withMethod.prompt, ...withoutUndefined(task.prompt), ...withoutUndefined(taskMethod?.prompt)};
  if (method === 'mpt2') {
    for (const key of SHARED_PROMPT_KEYS) {
      if (prompt[key] !== withMethod.prompt[key]) {
        const where = taskMethod?.prompt?.[key] !== undefined ? `tasks[${index}].method_overrides.mpt2.prompt.${key}` : `tasks[${index}].prompt.${key}`;
        throw new UserError(`mpt2 fine-tunes the shared prompt of every task, so a task cannot change prompt.${key}; set it for mpt2 as a whole (method_overrides.mpt2.prompt.${key})`, {field: where});
      }
    }
  }
  return {
    ...withMethod,
    seed: task.seed ?? withMethod.seed,
    head: task.head ?? withMethod.head,
    verbalizer: {...withMethod.verbalizer, ...withoutUndefined(task.verbalizer)},
    train: {...withMethod.train, ...withoutUndefined(task.train), ...withoutUndefined(taskMethod?.train)},
    prompt,
  };
}

/**
 * A copy of the config with one key set, validated as a whole so a value that breaks any rule
 * (`prompt.length: 0`) fails here with the loader's message rather than deep inside training.
 */
export function setByPath(config: Ptv2Config, key: string, value: unknown): Ptv2Config {
  const path = parseKeyPath(key);
  const copy: Record<string, unknown> = structuredClone(config);
  let node: Record<PropertyKey, unknown> = copy;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === null || typeof next !== 'object') node[segment] = {};
    node = node[segment] as Record<PropertyKey, unknown>;
  }
  node[path[path.length - 1]] = value;

  const result = ptv2ConfigSchema.safeParse(copy);
  if (!result.success) throw new ConfigError(toConfigIssues(result.error.issues, copy, '', () => undefined));
  return result.data;
}
