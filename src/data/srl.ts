/**
 * Semantic role labelling data, one predicate per line:
 *
 *     <predicate index> w1 … wn ||| t1 … tn
 *
 * The predicate index is 0-based; tags are BIO with the predicate itself tagged `B-V`. A sentence
 * with k predicates appears on k lines. Lines without `|||` are unlabelled (all of a file's lines
 * must agree). Prediction files use the same layout with the predicted tags after `|||`.
 *
 * Reference: the CoNLL-2005 / CoNLL-2012 conversion of He et al. (2017), "Deep Semantic Role
 * Labeling: What Works and What's Next" (github.com/luheng/deep_srl), used by P-tuning v2.
 */

import {UserError} from '../errors.js';
import {readLines, writeText} from './conll.js';
import type {TaggingExample} from './types.js';

export interface SrlPredictions {
  /** The gold lines, as readSrl returns them. */
  examples: TaggingExample[];
  /** Predicted tags, one array per gold line, aligned word by word. */
  predicted: string[][];
}

const SEPARATOR = '|||';

function parseLine(file: string, text: string, line: number, id: number): TaggingExample {
  const fields = text.trim().split(/[ \t]+/);
  // The last `|||` splits, so a word spelled `|||` stays a word; tags never are.
  const separatorAt = fields.lastIndexOf(SEPARATOR);
  const words = fields.slice(1, separatorAt < 0 ? fields.length : separatorAt);
  const tags = separatorAt < 0 ? null : fields.slice(separatorAt + 1);

  if (!/^\d+$/.test(fields[0])) {
    throw new UserError(
      `expected the 0-based index of the predicate word first, found "${fields[0]}"`,
      {file, line, field: 'predicate index'},
    );
  }
  if (words.length === 0) {
    throw new UserError('no words before the tags', {file, line, field: 'words'});
  }
  const predicateIndex = Number(fields[0]);
  if (predicateIndex >= words.length) {
    throw new UserError(
      `predicate index ${predicateIndex} is outside the ${words.length} words (0-based)`,
      {file, line, field: 'predicate index'},
    );
  }
  if (tags !== null && tags.length !== words.length) {
    throw new UserError(
      `${tags.length} tags for ${words.length} words; each word needs exactly one tag`,
      {file, line, field: 'tags'},
    );
  }
  return {kind: 'tagging', id, words, tags, predicateIndex, line};
}

/** Reads an SRL file; every example carries its predicateIndex. */
export function readSrl(file: string): TaggingExample[] {
  const examples: TaggingExample[] = [];
  readLines(file).forEach((text, index) => {
    if (text.trim() === '') return;
    const example = parseLine(file, text, index + 1, examples.length);
    const first = examples.at(0);
    if (first !== undefined && (first.tags === null) !== (example.tags === null)) {
      throw new UserError(
        `${example.tags === null ? 'has no' : 'has'} "${SEPARATOR} tags" but line ${first.line} ` +
          `${first.tags === null ? 'has none' : 'does'}; a file is either labelled or not`,
        {file, line: example.line, field: 'tags'},
      );
    }
    examples.push(example);
  });
  return examples;
}

/** Writes the gold lines back with the predicted tags after `|||`. */
export function writeSrlPredictions(
  file: string,
  examples: readonly TaggingExample[],
  predicted: readonly string[][],
): void {
  if (predicted.length !== examples.length) {
    throw new Error(`${predicted.length} predicted sequences for ${examples.length} examples`);
  }
  const lines = examples.map((example, index) => {
    if (example.predicateIndex === undefined) {
      throw new Error(`example ${example.id} has no predicate index`);
    }
    if (predicted[index].length !== example.words.length) {
      throw new Error(
        `example ${example.id}: ${predicted[index].length} predicted tags for ` +
          `${example.words.length} words`,
      );
    }
    return [example.predicateIndex, ...example.words, SEPARATOR, ...predicted[index]].join(' ');
  });
  writeText(file, lines.map((line) => `${line}\n`).join(''));
}

/** Reads a prediction file line by line against the gold file it was written for. */
export function readSrlPredictions(goldFile: string, predFile: string): SrlPredictions {
  const examples = readSrl(goldFile);
  const predLines = readSrl(predFile);
  if (predLines.length > examples.length) {
    throw new UserError(
      `predicate line ${examples.length + 1} goes beyond the ${examples.length} lines of ${goldFile}`,
      {file: predFile, line: predLines[examples.length].line},
    );
  }
  if (predLines.length < examples.length) {
    throw new UserError(
      `${predLines.length} predicate lines but ${goldFile} has ${examples.length}; the first ` +
        `missing one is ${goldFile}:${examples[predLines.length].line}`,
      {file: predFile, line: predLines.at(-1)?.line},
    );
  }
  const predicted = examples.map((gold, index) => {
    const pred = predLines[index];
    const at = {file: predFile, line: pred.line};
    const goldAt = `${goldFile}:${gold.line}`;
    if (pred.tags === null) {
      throw new UserError(`no predicted tags after "${SEPARATOR}"`, {...at, field: 'tags'});
    }
    if (pred.words.length !== gold.words.length) {
      throw new UserError(
        `${pred.words.length} words where ${goldAt} has ${gold.words.length}`,
        {...at, field: 'words'},
      );
    }
    const differs = pred.words.findIndex((word, position) => word !== gold.words[position]);
    if (differs >= 0) {
      throw new UserError(
        `word ${differs + 1} is "${pred.words[differs]}" where ${goldAt} has "${gold.words[differs]}"`,
        {...at, field: 'words'},
      );
    }
    if (pred.predicateIndex !== gold.predicateIndex) {
      throw new UserError(
        `predicate index ${pred.predicateIndex} where ${goldAt} has ${gold.predicateIndex}`,
        {...at, field: 'predicate index'},
      );
    }
    return pred.tags;
  });
  return {examples, predicted};
}
