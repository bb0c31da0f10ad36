/**
 * Readers for the eight SuperGLUE tasks in the official release layout: `<Task>/{train,val,test}.jsonl`,
 * one JSON object per line, field names as the release writes them (test files carry no labels).
 *
 * Each line becomes one or more Examples with the input templates of the P-tuning v2 reference
 * implementation (THUDM/P-tuning-v2, tasks/superglue/dataset.py):
 * - RTE, CB: (premise, hypothesis); BoolQ: (question, passage).
 * - COPA: one choice example, context `premise because` (cause) or `premise so` (effect).
 * - MultiRC: one pair per answer option, (paragraph, `question answer`), grouped by question.
 * - ReCoRD: one binary pair per distinct candidate entity, (passage with `@highlight` lines turned
 *   into `- ` bullets, query with `@placeholder` replaced by the entity), grouped by query.
 * - WiC: (`word: sentence1`, `word: sentence2`), the reference's BERT template.
 * - WSC: (`span2: text`, span1): the pronoun leads the text, the candidate referent is the pair.
 *
 * Character offsets (ReCoRD, WiC) count Unicode code points, as the release (written by Python) does.
 * References: Wang et al. 2019, "SuperGLUE: A Stickier Benchmark for General-Purpose Language
 * Understanding Systems"; Liu et al. 2022, "P-Tuning v2".
 */

import fs from 'node:fs';
import {decodeUtf8} from './text-file.js';
import {UserError} from '../errors.js';
import {describeJson as describe, isObject, parseJsonl} from './jsonl.js';
import type {ChoiceExample, Example, PairExample} from './types.js';

export type SuperGlueTask = 'boolq' | 'cb' | 'copa' | 'multirc' | 'record' | 'rte' | 'wic' | 'wsc';

export const SUPERGLUE_TASKS: readonly SuperGlueTask[] = ['boolq', 'cb', 'copa', 'multirc', 'record', 'rte', 'wic', 'wsc'];

export const SUPERGLUE_DIRS: Record<SuperGlueTask, string> = {
  boolq: 'BoolQ',
  cb: 'CB',
  copa: 'COPA',
  multirc: 'MultiRC',
  record: 'ReCoRD',
  rte: 'RTE',
  wic: 'WiC',
  wsc: 'WSC',
};

/** Label list per task; COPA's is kept for the record, its choice examples carry an index. */
export const SUPERGLUE_LABELS: Record<SuperGlueTask, string[]> = {
  boolq: ['false', 'true'],
  cb: ['entailment', 'contradiction', 'neutral'],
  copa: ['0', '1'],
  multirc: ['false', 'true'],
  record: ['false', 'true'],
  rte: ['entailment', 'not_entailment'],
  wic: ['false', 'true'],
  wsc: ['false', 'true'],
};

export function readSuperGlue(task: SuperGlueTask, file: string): Example[] {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new UserError(`cannot read ${SUPERGLUE_DIRS[task] ?? task} data: ${(error as Error).message}`, {file});
  }
  return parseSuperGlue(task, decodeUtf8(bytes, file), file);
}

export function parseSuperGlue(task: SuperGlueTask, text: string, file: string): Example[] {
  const readLine = LINE_READERS.get(task);
  if (readLine === undefined) {
    throw new UserError(`unknown SuperGLUE task "${String(task)}"`, {file}, [...SUPERGLUE_TASKS]);
  }
  const labels = new LabelPresence();
  const examples: Example[] = [];
  // One rule for run and score: an id is one example, so a repeated one is refused in every split
  // (the leaderboard format keys predictions by it; `ptv2 score` could not tell the two apart).
  const idLines = new Map<string, number>();
  for (const {value, line} of parseJsonl(text, file)) {
    for (const example of readLine(new Fields(value, {file, line}, ''), labels)) {
      const id = String(example.id);
      const first = idLines.get(id);
      if (first !== undefined) {
        throw new UserError(`duplicate idx ${id}; line ${first} has it too`, {file, line, field: DUPLICATE_FIELD.get(task) ?? 'idx'}, [
          'give every record its own idx, as the official files do',
        ]);
      }
      idLines.set(id, line);
      examples.push(example);
    }
  }
  return examples;
}

type LineReader = (fields: Fields, labels: LabelPresence) => Example[];

/** Where a repeated id lives for the tasks whose example id is built from nested idx fields. */
const DUPLICATE_FIELD = new Map<SuperGlueTask, string>([
  ['multirc', 'idx (paragraph, question and answer idx)'],
  ['record', 'qas[].idx'],
]);

const LINE_READERS = new Map<SuperGlueTask, LineReader>([
  ['rte', (f, labels) => [premiseHypothesis(f, labels, SUPERGLUE_LABELS.rte)]],
  ['cb', (f, labels) => [premiseHypothesis(f, labels, SUPERGLUE_LABELS.cb)]],
  ['boolq', readBoolQ],
  ['copa', readCopa],
  ['multirc', readMultiRc],
  ['record', readRecord],
  ['wic', readWic],
  ['wsc', readWsc],
]);

function premiseHypothesis(f: Fields, labels: LabelPresence, allowed: string[]): PairExample {
  return pair(f, f.string('premise'), f.string('hypothesis'), optionalLabel(f, labels, (name) => f.oneOf(name, allowed)));
}

function readBoolQ(f: Fields, labels: LabelPresence): Example[] {
  return [pair(f, f.string('question'), f.string('passage'), optionalLabel(f, labels, (name) => String(f.boolean(name))))];
}

function readCopa(f: Fields, labels: LabelPresence): Example[] {
  const question = f.oneOf('question', ['cause', 'effect']);
  const example: ChoiceExample = {
    kind: 'choice',
    id: f.integer('idx'),
    context: `${f.string('premise')} ${question === 'cause' ? 'because' : 'so'}`,
    choices: [f.string('choice1'), f.string('choice2')],
    label: optionalLabel(f, labels, (name) => f.oneOf(name, [0, 1])),
    line: f.where.line,
  };
  return [example];
}

function readMultiRc(f: Fields, labels: LabelPresence): Example[] {
  const paragraphIdx = f.integer('idx');
  const passage = f.object('passage');
  const paragraph = passage.string('text');
  const examples: Example[] = [];
  for (const question of passage.list('questions')) {
    const questionText = question.string('question');
    const questionIdx = question.integer('idx');
    for (const answer of question.list('answers')) {
      const answerIdx = answer.integer('idx');
      examples.push({
        kind: 'pair',
        id: `${paragraphIdx}-${questionIdx}-${answerIdx}`,
        textA: paragraph,
        textB: `${questionText} ${answer.string('text')}`,
        label: optionalLabel(answer, labels, (name) => SUPERGLUE_LABELS.multirc[answer.oneOf(name, [0, 1])]),
        group: `${paragraphIdx}-${questionIdx}`,
        meta: {idx: {paragraph: paragraphIdx, question: questionIdx, answer: answerIdx}},
        line: f.where.line,
      });
    }
  }
  return examples;
}

function readRecord(f: Fields, labels: LabelPresence): Example[] {
  f.integer('idx');
  const passage = f.object('passage');
  const text = passage.string('text');
  const length = codePointLength(text);
  // Candidates are the distinct entity strings, in order of first appearance in the passage.
  const spans = passage.list('entities').map((entity) => ({start: entity.integer('start'), text: inclusiveSpan(entity, text, length)}));
  const candidates = [...new Set(spans.sort((a, b) => a.start - b.start).map((span) => span.text))];
  const shownPassage = text.replaceAll('@highlight\n', '- ');
  const examples: Example[] = [];
  for (const qa of f.list('qas')) {
    const query = qa.string('query');
    const queryIdx = qa.integer('idx');
    labels.check(qa.has('answers'), qa, 'answers');
    const golds = qa.has('answers') ? qa.list('answers').map((answer) => inclusiveSpan(answer, text, length)) : null;
    const answers = golds === null ? [] : [...new Set(golds)];
    candidates.forEach((entity, k) => {
      examples.push({
        kind: 'pair',
        id: `${queryIdx}-${k}`,
        textA: shownPassage,
        textB: query.replaceAll('@placeholder', entity),
        label: golds === null ? null : String(answers.includes(entity)),
        group: String(queryIdx),
        meta: {entity, answers},
        line: f.where.line,
      });
    });
  }
  return examples;
}

/** Text of a ReCoRD `{start, end}` span, whose end is inclusive. */
function inclusiveSpan(span: Fields, text: string, length: number): string {
  const start = span.integer('start');
  const end = span.integer('end');
  if (start < 0 || end < start || end >= length) {
    span.fail('', `offsets ${start}..${end} fall outside the passage (${length} characters)`);
  }
  return codePointSlice(text, start, end + 1);
}

function readWic(f: Fields, labels: LabelPresence): Example[] {
  const word = f.string('word');
  const sentences = ['1', '2'].map((n) => {
    const sentence = f.string(`sentence${n}`);
    const length = codePointLength(sentence);
    const start = f.integer(`start${n}`);
    const end = f.integer(`end${n}`);
    if (start < 0 || end <= start || end > length) {
      f.fail(`start${n}`, `offsets ${start}..${end} fall outside sentence${n} (${length} characters)`);
    }
    return sentence;
  });
  const label = optionalLabel(f, labels, (name) => String(f.boolean(name)));
  return [pair(f, `${word}: ${sentences[0]}`, `${word}: ${sentences[1]}`, label)];
}

function readWsc(f: Fields, labels: LabelPresence): Example[] {
  const text = f.string('text');
  const wordCount = text.trim().split(/\s+/).length;
  const target = f.object('target');
  const [span1, span2] = ['1', '2'].map((n) => {
    const index = target.integer(`span${n}_index`);
    if (index < 0 || index >= wordCount) target.fail(`span${n}_index`, `word ${index} is beyond the text's ${wordCount} words`);
    return target.string(`span${n}_text`);
  });
  const label = optionalLabel(f, labels, (name) => String(f.boolean(name)));
  return [pair(f, `${span2}: ${text}`, span1, label)];
}

function pair(f: Fields, textA: string, textB: string, label: string | null): PairExample {
  return {kind: 'pair', id: f.integer('idx'), textA, textB, label, line: f.where.line};
}

/** The `label` field read by `read`, or null on an unlabelled line (test files). */
function optionalLabel<T>(f: Fields, labels: LabelPresence, read: (name: string) => T): T | null {
  labels.check(f.has('label'), f, 'label');
  return f.has('label') ? read('label') : null;
}

/**
 * A file is labelled throughout or not at all: a label missing from one line of a training file is a
 * mistake, not a test example.
 */
class LabelPresence {
  private first?: {labelled: boolean; line: number};

  check(labelled: boolean, at: Fields, name: string): void {
    if (this.first === undefined) {
      this.first = {labelled, line: at.where.line};
    } else if (this.first.labelled !== labelled) {
      const line = this.first.line;
      at.fail(name, labelled ? `present, but line ${line} has none` : `missing, but line ${line} has one (only test files go without)`);
    }
  }
}

interface Where {
  file: string;
  line: number;
}

/** Typed access to one JSON object of a line; errors name file, line and the field's path. */
class Fields {
  constructor(
    private readonly value: Record<string, unknown>,
    readonly where: Where,
    private readonly path: string,
  ) {}

  fail(name: string, message: string, suggestions: string[] = []): never {
    const field = [this.path, name].filter((part) => part !== '').join('.') || undefined;
    throw new UserError(message, {...this.where, field}, suggestions);
  }

  has(name: string): boolean {
    return this.value[name] !== undefined && this.value[name] !== null;
  }

  string(name: string): string {
    const v = this.value[name];
    return typeof v === 'string' ? v : this.expected(name, 'a string');
  }

  integer(name: string): number {
    const v = this.value[name];
    return Number.isInteger(v) ? (v as number) : this.expected(name, 'an integer');
  }

  boolean(name: string): boolean {
    const v = this.value[name];
    return typeof v === 'boolean' ? v : this.expected(name, 'true or false');
  }

  oneOf<T extends string | number>(name: string, allowed: readonly T[]): T {
    const v = this.value[name];
    if (v === undefined) return this.expected(name, `one of ${allowed.join(', ')}`);
    if (!allowed.includes(v as T)) {
      this.fail(name, `unknown value ${JSON.stringify(v)}; expected one of ${allowed.join(', ')}`, allowed.map(String));
    }
    return v as T;
  }

  object(name: string): Fields {
    const v = this.value[name];
    return isObject(v) ? new Fields(v, this.where, this.child(name)) : this.expected(name, 'an object');
  }

  /** A list of objects. */
  list(name: string): Fields[] {
    const v = this.value[name];
    if (!Array.isArray(v)) return this.expected(name, 'a list');
    return v.map((item: unknown, i) => {
      const path = `${this.child(name)}[${i}]`;
      if (!isObject(item)) throw new UserError(`expected an object, got ${describe(item)}`, {...this.where, field: path});
      return new Fields(item, this.where, path);
    });
  }

  private child(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  private expected(name: string, what: string): never {
    const v = this.value[name];
    return this.fail(name, v === undefined ? `expected ${what}, but the field is missing` : `expected ${what}, got ${describe(v)}`);
  }
}

const ASTRAL = /[\uD800-\uDFFF]/;

function codePointLength(text: string): number {
  return ASTRAL.test(text) ? Array.from(text).length : text.length;
}

function codePointSlice(text: string, start: number, end: number): string {
  return ASTRAL.test(text) ? Array.from(text).slice(start, end).join('') : text.slice(start, end);
}
