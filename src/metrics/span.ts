/**
 * Span (chunk) precision / recall / F1 for NER and SRL, equal to seqeval's `f1_score` and
 * `classification_report` micro average.
 *
 * Default mode follows seqeval's `get_entities` / `start_of_chunk` / `end_of_chunk`, which are
 * conlleval's chunk rules extended with IOBES: an `I-` after `O` opens an entity, a type change
 * closes one and opens the next, a trailing entity is closed by the end of the sentence. A tag is
 * split at its first hyphen as conlleval does (`B-R-ARG0` is prefix B, type R-ARG0); a tag with no
 * hyphen is a bare prefix, so `PER` alone never opens an entity, as in conlleval (seqeval would
 * read it as prefix `P`, type `ER`). Every sentence is scanned as if preceded by `O`.
 *
 * Strict mode follows seqeval's `mode='strict'` (seqeval.scheme): an entity must open with `B-`
 * (or `S-`) and end as the scheme says, otherwise its tokens form no entity at all.
 *
 * Entities are matched exactly (type, start, end) within a sentence. Per-type rows cover every
 * type seen in gold or prediction (seqeval 1.x); a zero denominator gives 0, never NaN.
 *
 * References: github.com/chakki-works/seqeval (seqeval/metrics/sequence_labeling.py,
 * seqeval/scheme.py, seqeval/metrics/v1.py); conlleval.pl (CoNLL-2000).
 */

import {UserError} from '../errors.js';

export interface Entity {
  type: string;
  start: number;
  /** Inclusive. */
  end: number;
}

export type TaggingScheme = 'IOB2' | 'IOBES';

export interface SpanScoreOptions {
  mode?: 'default' | 'strict';
  /** Strict mode only; IOB2 by default. */
  scheme?: TaggingScheme;
  /** Entity types left out of every count, e.g. ['V'] for SRL (the predicate is given). */
  exclude?: readonly string[];
}

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

export interface SpanScores extends PrecisionRecallF1 {
  perType: Record<string, PrecisionRecallF1 & {support: number}>;
}

/** seqeval names an untyped chunk `_`. */
const NO_TYPE = '_';

interface SplitTag {
  prefix: string;
  type: string;
}

function splitTag(tag: string): SplitTag {
  const dash = tag.indexOf('-');
  if (dash < 0) return {prefix: tag, type: NO_TYPE};
  return {prefix: tag.slice(0, dash), type: tag.slice(dash + 1) || NO_TYPE};
}

/** `.` marks a sentence boundary in conlleval's chunk tags and never opens or closes a chunk. */
function isOutside(prefix: string): boolean {
  return prefix === 'O' || prefix === '.';
}

/** Prefix pairs (previous, current) that close the previous chunk whatever the types. */
const CLOSING_PAIRS = new Set(['B>B', 'B>S', 'B>O', 'I>B', 'I>S', 'I>O']);
/** Prefix pairs (previous, current) that open a chunk at the current tag whatever the types. */
const OPENING_PAIRS = new Set(['E>E', 'E>I', 'S>E', 'S>I', 'O>E', 'O>I']);

function endsChunk(previous: SplitTag, current: SplitTag): boolean {
  if (previous.prefix === 'E' || previous.prefix === 'S') return true;
  if (CLOSING_PAIRS.has(`${previous.prefix}>${current.prefix}`)) return true;
  return !isOutside(previous.prefix) && previous.type !== current.type;
}

function startsChunk(previous: SplitTag, current: SplitTag): boolean {
  if (current.prefix === 'B' || current.prefix === 'S') return true;
  if (OPENING_PAIRS.has(`${previous.prefix}>${current.prefix}`)) return true;
  return !isOutside(current.prefix) && previous.type !== current.type;
}

/** Entities as seqeval's default mode (conlleval rules) finds them. */
export function extractEntities(tags: readonly string[]): Entity[] {
  const outside = splitTag('O');
  const entities: Entity[] = [];
  let previous = outside;
  let begin = 0;
  [...tags.map(splitTag), outside].forEach((current, index) => {
    if (endsChunk(previous, current)) entities.push({type: previous.type, start: begin, end: index - 1});
    if (startsChunk(previous, current)) begin = index;
    previous = current;
  });
  return entities;
}

/** A (previous prefix, current prefix, types must be equal | differ | either) pattern. */
type TypeRule = 'same' | 'diff' | 'any';
type Pattern = readonly [previous: string, current: string, types: TypeRule];

interface SchemeRules {
  prefixes: ReadonlySet<string>;
  start: readonly Pattern[];
  inside: readonly Pattern[];
  end: readonly Pattern[];
}

const ANY = '*';

/** seqeval.scheme's IOB2 and IOBES tables. */
const SCHEMES = new Map<TaggingScheme, SchemeRules>([
  [
    'IOB2',
    {
      prefixes: new Set(['I', 'O', 'B']),
      start: [[ANY, 'B', 'any']],
      inside: [
        ['B', 'I', 'same'],
        ['I', 'I', 'same'],
      ],
      end: [
        ['I', 'O', 'any'],
        ['I', 'I', 'diff'],
        ['I', 'B', 'any'],
        ['B', 'O', 'any'],
        ['B', 'I', 'diff'],
        ['B', 'B', 'any'],
      ],
    },
  ],
  [
    'IOBES',
    {
      prefixes: new Set(['I', 'O', 'B', 'E', 'S']),
      start: [
        [ANY, 'B', 'any'],
        [ANY, 'S', 'any'],
      ],
      inside: [
        ['B', 'I', 'same'],
        ['B', 'E', 'same'],
        ['I', 'I', 'same'],
        ['I', 'E', 'same'],
      ],
      end: [
        ['S', ANY, 'any'],
        ['E', ANY, 'any'],
      ],
    },
  ],
]);

/** seqeval.scheme.Token: the prefix is the first character, the type the rest without hyphens. */
function strictToken(tag: string, rules: SchemeRules, scheme: TaggingScheme): SplitTag {
  const prefix = tag.slice(0, 1);
  if (!rules.prefixes.has(prefix)) {
    throw new UserError(
      `tag "${tag}" does not fit the ${scheme} scheme; its tags start with ${[...rules.prefixes].join(', ')}`,
      {field: 'tags'},
    );
  }
  return {prefix, type: tag.slice(1).replace(/^-+|-+$/g, '') || NO_TYPE};
}

function matches(patterns: readonly Pattern[], previous: SplitTag, current: SplitTag): boolean {
  return patterns.some(
    ([before, now, types]) =>
      (before === ANY || before === previous.prefix) &&
      (now === ANY || now === current.prefix) &&
      (types === 'any' || (types === 'same') === (previous.type === current.type)),
  );
}

/** Entities as seqeval's strict mode finds them: sequences the scheme does not allow are dropped. */
export function extractEntitiesStrict(tags: readonly string[], scheme: TaggingScheme): Entity[] {
  const rules = SCHEMES.get(scheme);
  if (rules === undefined) throw new Error(`unknown tagging scheme ${scheme}`);
  const tokens = [...tags, 'O'].map((tag) => strictToken(tag, rules, scheme));
  const entities: Entity[] = [];
  let previous = strictToken('O', rules, scheme);
  let index = 0;
  while (index < tokens.length) {
    const token = tokens[index];
    if (matches(rules.start, previous, token)) {
      let stop = index + 1;
      while (matches(rules.inside, tokens[stop - 1], tokens[stop])) stop++;
      if (matches(rules.end, tokens[stop - 1], tokens[stop])) {
        entities.push({type: token.type, start: index, end: stop - 1});
      }
      index = stop;
    } else {
      index++;
    }
    previous = tokens[index - 1];
  }
  return entities;
}

function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? numerator / denominator : 0;
}

function score(correct: number, predicted: number, gold: number): PrecisionRecallF1 {
  const precision = ratio(correct, predicted);
  const recall = ratio(correct, gold);
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return {precision, recall, f1};
}

interface Counts {
  correct: number;
  predicted: number;
  gold: number;
}

/** Micro-averaged span scores over sentences, plus one row per entity type. */
export function spanScores(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  opts: SpanScoreOptions = {},
): SpanScores {
  if (gold.length !== pred.length) {
    throw new Error(`${gold.length} gold sentences but ${pred.length} predicted`);
  }
  const scheme = opts.scheme ?? 'IOB2';
  const extract =
    opts.mode === 'strict'
      ? (tags: readonly string[]) => extractEntitiesStrict(tags, scheme)
      : extractEntities;
  const excluded = new Set(opts.exclude ?? []);
  const counts = new Map<string, Counts>();
  const countsOf = (type: string): Counts => {
    let entry = counts.get(type);
    if (entry === undefined) counts.set(type, (entry = {correct: 0, predicted: 0, gold: 0}));
    return entry;
  };

  gold.forEach((goldTags, sentence) => {
    const predTags = pred[sentence];
    if (predTags.length !== goldTags.length) {
      throw new Error(`sentence ${sentence}: ${goldTags.length} gold tags but ${predTags.length} predicted`);
    }
    const key = (entity: Entity): string => `${entity.type}\u0000${entity.start}\u0000${entity.end}`;
    const kept = (entity: Entity): boolean => !excluded.has(entity.type);
    const goldEntities = new Map(extract(goldTags).filter(kept).map((e) => [key(e), e]));
    const predEntities = new Map(extract(predTags).filter(kept).map((e) => [key(e), e]));
    for (const entity of goldEntities.values()) countsOf(entity.type).gold++;
    for (const [k, entity] of predEntities) {
      const entry = countsOf(entity.type);
      entry.predicted++;
      if (goldEntities.has(k)) entry.correct++;
    }
  });

  const total: Counts = {correct: 0, predicted: 0, gold: 0};
  const perType: SpanScores['perType'] = {};
  for (const type of [...counts.keys()].sort()) {
    const entry = countsOf(type);
    total.correct += entry.correct;
    total.predicted += entry.predicted;
    total.gold += entry.gold;
    perType[type] = {...score(entry.correct, entry.predicted, entry.gold), support: entry.gold};
  }
  return {...score(total.correct, total.predicted, total.gold), perType};
}
