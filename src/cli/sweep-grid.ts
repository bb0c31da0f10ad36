/**
 * The grid of `ptv2 sweep KEY CONFIG --values V1,V2,…`: the key by its friendly name or dotted
 * config key, the values read as YAML scalars and checked by the same rules as a config's
 * `sweep:` (SWEEP_LEAVES), and the config text rewritten to hold that sweep.
 *
 * The rewritten text is what the experiment records, so the database says which sweep ran. It is
 * the user's file with only the `sweep:` entry changed, spliced in at the text level using the
 * node ranges of yaml's Document API: an existing `sweep:` becomes one flow-style line padded with
 * blank lines to its old height, a missing one is appended at the end. Every other line keeps its
 * number, so `file:line` messages still point into the user's file. Re-stringifying the whole
 * Document would not promise that (it reflows flow collections and comments).
 *
 * Pure: no file system; the command reads the file and passes the text.
 *
 * References: eemeli.org/yaml (parseDocument, node ranges, Document options).
 */

import {Document, isMap, isNode, isScalar, parseDocument} from 'yaml';
import {isDeepStrictEqual} from 'node:util';

import {closestMatch} from '../config/load.js';
import {SWEEP_KEYS, SWEEP_LEAVES, type SweepKey} from '../config/schema.js';
import {formatLocated, UserError} from '../errors.js';

/** Command-line names of the sweepable keys; the dotted config keys are accepted as well. */
export const SWEEP_KEY_NAMES: ReadonlyMap<string, SweepKey> = new Map<string, SweepKey>([
  ['prompt-length', 'prompt.length'],
  ['prompt-depth', 'prompt.depth'],
  ['reparameterize', 'prompt.reparameterize'],
  ['prompt-dropout', 'prompt.dropout'],
  ['lr', 'train.lr'],
  ['batch-size', 'train.batch_size'],
  ['epochs', 'train.epochs'],
  ['seed', 'seed'],
  ['head', 'head'],
]);

export interface SweepGrid {
  key: SweepKey;
  values: unknown[];
}

const VALUES_FLAG = '--values';

/** `prompt-length` or `prompt.length` → `prompt.length`; anything else is a UserError with a guess. */
export function resolveSweepKey(name: string): SweepKey {
  const known = SWEEP_KEY_NAMES.get(name) ?? SWEEP_KEYS.find((key) => key === name);
  if (known !== undefined) return known;
  const names = [...SWEEP_KEY_NAMES.keys()];
  const guess = closestMatch(name, [...names, ...SWEEP_KEYS]);
  throw new UserError(
    `expected one of ${names.join(', ')} (or the config key, e.g. prompt.length), got ${JSON.stringify(name)}${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`,
    {field: 'KEY'},
  );
}

/**
 * `4,8,16` → [4, 8, 16] for `prompt.length`. Every bad value is reported, one line each, naming
 * its 1-based position: `--values: value 2 for train.lr: expected a number > 0, got "fast"`.
 */
export function parseSweepValues(key: SweepKey, text: string): unknown[] {
  if (text.trim() === '') {
    throw new UserError(`expected a comma-separated list of values for ${key}, got nothing`, {field: VALUES_FLAG});
  }
  const leaf = SWEEP_LEAVES.get(key)!;
  const problems: string[] = [];
  const values: unknown[] = [];
  const seen = new Map<string, number>();
  text.split(',').forEach((item, index) => {
    const position = `value ${index + 1} for ${key}`;
    if (item.trim() === '') {
      problems.push(`${position}: expected a value, got nothing`);
      return;
    }
    const value = yamlScalar(item);
    const result = leaf.safeParse(value);
    if (!result.success) {
      problems.push(`${position}: ${result.error.issues[0].message}, got ${describeValue(value)}`);
      return;
    }
    // Job ids carry the value, so a repeated value would plan the same job twice.
    const id = JSON.stringify(result.data);
    const first = seen.get(id);
    if (first !== undefined) problems.push(`${position}: ${id} is already value ${first}`);
    else seen.set(id, index + 1);
    values.push(result.data);
  });
  if (problems.length > 0) {
    const lines = problems.map((problem) => formatLocated(problem, {field: VALUES_FLAG}));
    throw new UserError(lines.join('\n'), {}, ['values are YAML scalars separated by commas, e.g. --values 4,8,16 or --values null,2']);
  }
  return values;
}

/** What the user's text means in YAML (`null`, `true`, `0.01`); text YAML cannot read stays a string. */
function yamlScalar(item: string): unknown {
  const doc = parseDocument(item.trim());
  return doc.errors.length > 0 ? item.trim() : doc.toJS();
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'a mapping';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** `{key: prompt.length, values: [4, 8]}`: the sweep as one YAML flow mapping. */
export function sweepFlowText(grid: SweepGrid): string {
  const doc = new Document({key: grid.key, values: grid.values});
  if (isMap(doc.contents)) doc.contents.flow = true;
  return doc.toString({flowCollectionPadding: false}).trim();
}

/**
 * The config text with its `sweep:` replaced by (or extended with) `grid`; see the header for
 * why lines are kept. Text that is not a YAML mapping comes back unchanged, so the loader
 * reports the file's own problem rather than one this edit made.
 */
export function withSweep(text: string, grid: SweepGrid): string {
  const doc = parseDocument(text);
  const root = doc.contents;
  if (doc.errors.length > 0 || !isMap(root)) return text;

  const line = `sweep: ${sweepFlowText(grid)}  # set by ptv2 sweep`;
  let edited: string | undefined;
  if (!root.flow) {
    const pair = root.items.find((item) => isScalar(item.key) && item.key.value === 'sweep');
    if (pair && isNode(pair.key) && pair.key.range) {
      const start = pair.key.range[0];
      const valueEnd = isNode(pair.value) && pair.value.range ? pair.value.range[1] : pair.key.range[1];
      // A comment on the old value's last line described the old value; a block value's range
      // already ends at a line start, and the comment there belongs to what follows.
      const atLineStart = valueEnd === 0 || text[valueEnd - 1] === '\n';
      const end = atLineStart ? valueEnd : valueEnd + /^[ \t]*(#[^\n]*)?/.exec(text.slice(valueEnd))![0].length;
      const height = text.slice(start, end).split('\n').length - 1;
      edited = text.slice(0, start) + line + '\n'.repeat(height) + text.slice(end);
    } else {
      const first = root.items[0]?.key;
      const indent = isNode(first) && first.range ? indentAt(text, first.range[0]) : '';
      edited = `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${indent}${line}\n`;
    }
  }
  if (edited !== undefined && isDeepStrictEqual(parseDocument(edited).toJS()?.sweep, {key: grid.key, values: grid.values})) return edited;

  // A top-level flow mapping, or a layout the splice did not fit (a document end marker, say):
  // set the key through the Document and accept that its text is re-laid.
  doc.set('sweep', doc.createNode({key: grid.key, values: grid.values}, {flow: true}));
  return doc.toString({flowCollectionPadding: false});
}

/** The spaces before `offset` on its line. */
function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return text.slice(lineStart, offset);
}

/** The comment that marks a `sweep:` line written by `ptv2 sweep` (see withSweep). */
const SET_BY_SWEEP = /^[ \t]*sweep:.*# set by ptv2 sweep[ \t]*$/m;

/** Any fixed grid: splicing it into two texts makes them equal exactly when they differ only in `sweep:`. */
const NEUTRAL_GRID: SweepGrid = {key: 'seed', values: [0]};

/** The `sweep:` of a config text as YAML reads it (undefined when there is none or the text is no mapping). */
function sweepOf(text: string): unknown {
  const doc = parseDocument(text);
  const data: unknown = doc.errors.length > 0 ? undefined : doc.toJS();
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>).sweep ?? undefined : undefined;
}

/**
 * Which config text a resumed experiment continues with, by the identity rule of `--resume`: the
 * recorded text and the one given must be the same apart from the `sweep:` entry, and
 * - with `ptv2 sweep … --resume`, the sweeps must be the same grid;
 * - with `ptv2 run --resume`, the sweeps must be the same, or the recorded one was set by
 *   `ptv2 sweep` (then the run continues that sweep on the file it was started from).
 * Returns the recorded text to run with, `{changed}` when the config itself differs (the caller
 * says so), or throws a UserError naming both grids when only the sweep values differ.
 */
export function resumeText(recorded: string, given: string, command: 'run' | 'sweep', where: {file: string; experiment: string}): {text: string} | {changed: true} {
  if (recorded === given) return {text: recorded};
  if (withSweep(recorded, NEUTRAL_GRID) !== withSweep(given, NEUTRAL_GRID)) return {changed: true};
  const [was, now] = [sweepOf(recorded), sweepOf(given)];
  if (isDeepStrictEqual(was, now)) return {text: recorded};
  if (command === 'run' && SET_BY_SWEEP.test(recorded)) return {text: recorded};
  const describe = (sweep: unknown) => (sweep === undefined ? 'no sweep' : `the sweep ${sweepFlowText(sweep as SweepGrid)}`);
  throw new UserError(`experiment ${where.experiment} ran ${describe(was)}, and this command gives ${describe(now)}`, {file: where.file}, [
    command === 'sweep' && was !== undefined ? `resume it with the same key and --values as it ran: ${sweepFlowText(was as SweepGrid)}` : 'resume it with the sweep it ran',
    'or leave out --resume to start a new experiment',
  ]);
}
