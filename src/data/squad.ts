/**
 * SQuAD 1.1 / 2.0 JSON (`{version, data: [{title, paragraphs: [{context, qas: [{id, question,
 * answers: [{text, answer_start}], is_impossible?, plausible_answers?}]}]}]}`) and the JSON files
 * the official evaluation scripts read: predictions `{id: answer text}` and no-answer
 * probabilities `{id: probability}`.
 *
 * JSON nodes have no line of their own, so errors name the JSON path as the field; inside a
 * question they also give the line of its `"id"`, found in one scan of the text.
 *
 * `answer_start` in the files counts Unicode code points (Python string offsets); AnswerSpan.start
 * is a JavaScript string index, so the two differ after any character outside the BMP.
 *
 * References: Rajpurkar et al. (2016, 2018), rajpurkar.github.io/SQuAD-explorer (data format,
 * evaluate-v1.1.py, evaluate-v2.0.py).
 */


import {UserError} from '../errors.js';
import {readText} from './text-file.js';
import {writeText} from './conll.js';
import type {AnswerSpan, SpanExample} from './types.js';

export type SquadVersion = '1.1' | '2.0';

type Json = unknown;

interface Source {
  file: string;
  text: string;
}

function readJson(file: string): Source & {value: Json} {
  const text = readText(file);
  try {
    return {file, text, value: JSON.parse(text)};
  } catch (error) {
    // Some parser messages quote the text around the error, raw newlines included.
    const message = (error as Error).message.replace(/\r?\n/g, '\\n');
    throw new UserError(`invalid JSON: ${message}`, {file, line: lineOfParseError(text, message)});
  }
}

/**
 * Node reports `line L column C` (newer releases) or `position P` for most syntax errors; either
 * gives the line. Messages with neither leave the line out.
 */
function lineOfParseError(text: string, message: string): number | undefined {
  const line = /line (\d+)/.exec(message);
  if (line) return Number(line[1]);
  const position = /position (\d+)/.exec(message);
  return position ? lineAt(text, Number(position[1])) : undefined;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Line of each question's `"id": "…"`, in one pass over the text. */
function questionIdLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const pattern = /"id"\s*:\s*"((?:[^"\\]|\\.)*)"/g;
  let line = 1;
  let scanned = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    for (let i = text.indexOf('\n', scanned); i >= 0 && i < match.index; i = text.indexOf('\n', i + 1)) {
      line++;
    }
    scanned = match.index;
    const id = JSON.parse(`"${match[1]}"`) as string;
    if (!lines.has(id)) lines.set(id, line);
  }
  return lines;
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: Json): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : `a ${typeof value}`;
}

/** Context index of a code point offset (the two agree until a surrogate pair). */
function codePointToIndex(context: string, offset: number): number {
  let index = 0;
  for (let points = 0; points < offset && index < context.length; points++) {
    index += (context.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
  }
  return index;
}

class SquadWalker {
  private readonly idLines: Map<string, number>;
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly source: Source,
    private readonly version: SquadVersion,
    private readonly answersOptional: boolean,
  ) {
    this.idLines = questionIdLines(source.text);
  }

  fail(message: string, field?: string, line?: number): never {
    throw new UserError(message, {file: this.source.file, line, field});
  }

  expect<T>(value: Json, field: string, what: string, ok: (value: Json) => value is T): T {
    if (!ok(value)) this.fail(`expected ${what}, found ${describe(value)}`, field);
    return value;
  }

  examples(root: Json): SpanExample[] {
    const top = this.expect(root, '(top level)', 'an object with a "data" array', isObject);
    const data = this.expect(top.data, 'data', 'an array of articles', Array.isArray);
    const examples: SpanExample[] = [];
    data.forEach((article: Json, a: number) => {
      const articlePath = `data[${a}]`;
      const {paragraphs} = this.expect(article, articlePath, 'an article object', isObject);
      this.expect(paragraphs, `${articlePath}.paragraphs`, 'an array', Array.isArray).forEach(
        (paragraph: Json, p: number) => {
          const paragraphPath = `${articlePath}.paragraphs[${p}]`;
          const {context, qas} = this.expect(paragraph, paragraphPath, 'a paragraph object', isObject);
          const text = this.expect(context, `${paragraphPath}.context`, 'a string', isString);
          this.expect(qas, `${paragraphPath}.qas`, 'an array', Array.isArray).forEach(
            (qa: Json, q: number) => examples.push(this.question(qa, `${paragraphPath}.qas[${q}]`, text)),
          );
        },
      );
    });
    return examples;
  }

  private question(qa: Json, at: string, context: string): SpanExample {
    const fields = this.expect(qa, at, 'a question object', isObject);
    const rawId = fields.id;
    if (typeof rawId !== 'string' && typeof rawId !== 'number') {
      this.fail(`expected a string id, found ${describe(rawId)}`, `${at}.id`);
    }
    const id = String(rawId);
    const line = this.idLines.get(id);
    const fail = (message: string, field: string): never =>
      this.fail(`question ${id}: ${message}`, field, line);

    const earlier = this.seen.get(id);
    if (earlier !== undefined) fail(`id already used at ${earlier}; ids must be unique`, `${at}.id`);
    this.seen.set(id, at);

    if (typeof fields.question !== 'string') {
      fail(`expected a question string, found ${describe(fields.question)}`, `${at}.question`);
    }
    const impossible = fields.is_impossible;
    if (impossible !== undefined && typeof impossible !== 'boolean') {
      fail(`expected true or false, found ${describe(impossible)}`, `${at}.is_impossible`);
    }
    if (this.answersOptional && fields.answers === undefined && impossible === undefined) {
      // A test file as released for prediction: the question alone.
      return {kind: 'span', id, question: fields.question as string, context, answers: [], isImpossible: false, unlabelled: true, ...(line === undefined ? {} : {line})};
    }
    const rawAnswers = fields.answers ?? (impossible === true ? [] : undefined);
    if (!Array.isArray(rawAnswers)) {
      fail(`expected an array of answers, found ${describe(rawAnswers)}`, `${at}.answers`);
    }
    const answers = (rawAnswers as Json[]).map((answer, k) =>
      this.answer(answer, `${at}.answers[${k}]`, context, fail),
    );

    if (this.version === '1.1' && answers.length === 0) {
      fail(
        'no answers; SQuAD 1.1 questions need at least one (unanswerable questions are 2.0)',
        `${at}.answers`,
      );
    }
    if (impossible === true && answers.length > 0) {
      fail('is_impossible is true but answers is not empty', `${at}.answers`);
    }
    if (impossible === false && answers.length === 0) {
      fail('is_impossible is false but there are no answers', `${at}.answers`);
    }
    return {
      kind: 'span',
      id,
      question: fields.question as string,
      context,
      answers,
      isImpossible: this.version === '2.0' && answers.length === 0,
      ...(line === undefined ? {} : {line}),
    };
  }

  private answer(
    answer: Json,
    at: string,
    context: string,
    fail: (message: string, field: string) => never,
  ): AnswerSpan {
    if (!isObject(answer)) return fail(`expected an answer object, found ${describe(answer)}`, at);
    const {text, answer_start: offset} = answer;
    if (typeof text !== 'string') return fail(`expected a string, found ${describe(text)}`, `${at}.text`);
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
      return fail(
        `expected a character offset (integer >= 0), found ${JSON.stringify(offset)}`,
        `${at}.answer_start`,
      );
    }
    const index = codePointToIndex(context, offset);
    if (context.slice(index, index + text.length) === text) return {text, start: index};
    // Files written by JavaScript tools count UTF-16 code units; accept those as well.
    if (context.slice(offset, offset + text.length) === text) return {text, start: offset};
    const found = [...context.slice(index)].slice(0, [...text].length).join('');
    return fail(
      `answer ${JSON.stringify(text)} is not in the context at offset ${offset}, ` +
        `which reads ${JSON.stringify(found)}`,
      `${at}.answer_start`,
    );
  }
}

function isString(value: Json): value is string {
  return typeof value === 'string';
}

/**
 * Reads a SQuAD file. Every answer must be found in the context at its answer_start.
 * Unanswerable (2.0) questions come back with isImpossible: true and answers: []. With answers
 * 'optional' (test files), a question with neither `answers` nor `is_impossible` comes back
 * `unlabelled`.
 */
export function readSquad(file: string, version: SquadVersion, opts: {answers?: 'required' | 'optional'} = {}): SpanExample[] {
  const source = readJson(file);
  return new SquadWalker(source, version, opts.answers === 'optional').examples(source.value);
}

function readIdMap<T>(file: string, what: string, ok: (value: Json) => value is T): Record<string, T> {
  const {value} = readJson(file);
  if (!isObject(value)) {
    throw new UserError(
      `expected an object mapping question ids to ${what}, found ${describe(value)}`,
      {file},
    );
  }
  for (const [id, entry] of Object.entries(value)) {
    if (!ok(entry)) {
      throw new UserError(`expected ${what}, found ${describe(entry)}`, {file, field: JSON.stringify(id)});
    }
  }
  return value as Record<string, T>;
}

function isProbability(value: Json): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Writes `{id: answer text}`, the prediction file evaluate-v1.1.py / evaluate-v2.0.py read. */
export function writeSquadPredictions(file: string, preds: Readonly<Record<string, string>>): void {
  writeText(file, `${JSON.stringify(preds, null, 2)}\n`);
}

export function readSquadPredictions(file: string): Record<string, string> {
  return readIdMap(file, 'an answer string', isString);
}

/** Writes `{id: no-answer probability}`, evaluate-v2.0.py's `--na-prob-file`. */
export function writeNaProbs(file: string, probs: Readonly<Record<string, number>>): void {
  writeText(file, `${JSON.stringify(probs, null, 2)}\n`);
}

export function readNaProbs(file: string): Record<string, number> {
  return readIdMap(file, 'a no-answer probability (a finite number)', isProbability);
}
