/**
 * Synthetic data sets for ptv2, which ships no real benchmark data: one seeded, made-up world
 * (world.ts) rendered into SuperGLUE, NER, SQuAD and SRL files in the real formats, plus files for
 * custom tasks (custom.ts), small enough to train a tiny model from scratch and structured so that
 * it can beat chance. The same seed gives byte-identical files.
 */

import fs from 'node:fs';
import path from 'node:path';
import {customFiles} from './custom.js';
import {Draw} from './draw.js';
import type {SyntheticFile} from './files.js';
import {nerFiles} from './ner.js';
import {qaFiles} from './qa.js';
import {srlFiles} from './srl.js';
import {superGlueFiles} from './superglue.js';
import {preTokenize} from './vocabulary.js';
import {makeWorld} from './world.js';

export const DEFAULT_SEED = 42;

/** Every synthetic file in memory; `scale` multiplies the number of examples per split. */
export function syntheticFiles(seed = DEFAULT_SEED, scale = 1): SyntheticFile[] {
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (!(scale > 0 && Number.isFinite(scale))) throw new Error(`scale must be a positive number, got ${scale}`);
  const root = new Draw(seed);
  const world = makeWorld(root.fork('world'));
  return [
    ...superGlueFiles(world, root.fork('superglue'), scale),
    ...nerFiles(world, root.fork('ner'), scale),
    ...qaFiles(world, root.fork('qa'), scale),
    ...srlFiles(world, root.fork('srl'), scale),
    ...customFiles(world, root.fork('custom'), scale),
  ];
}

/** Writes every synthetic file under `outDir`; returns their paths. */
export function generateDatasets(outDir: string, opts: {seed?: number; scale?: number} = {}): {files: string[]} {
  const files = syntheticFiles(opts.seed ?? DEFAULT_SEED, opts.scale ?? 1).map((file) => {
    const target = path.join(outDir, ...file.path.split('/'));
    fs.mkdirSync(path.dirname(target), {recursive: true});
    fs.writeFileSync(target, file.content, 'utf8');
    return target;
  });
  return {files};
}

/**
 * Every distinct word the generated data shows a model, lower-cased and split like BERT's
 * pre-tokeniser (punctuation marks are words of their own), sorted: enough to build a vocabulary
 * for a tiny model.
 */
export function worldVocabulary(seed = DEFAULT_SEED): string[] {
  const words = new Set<string>();
  for (const file of syntheticFiles(seed)) {
    for (const text of new Set(file.texts)) for (const word of preTokenize(text)) words.add(word);
  }
  return [...words].sort();
}

/** GPT-2's pre-tokenisation pattern (its `encoder.py`), which RoBERTa's byte-level BPE applies before merging. */
const GPT2_PIECES = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * How often each piece RoBERTa's pre-tokeniser makes of the generated data's text occurs, case
 * kept and with its leading space where it has one (" Wrenfield" mid-sentence, "Wrenfield" after
 * a bracket or at the start): what a byte-level BPE for a cased model learns its merges from.
 */
export function worldPieces(seed = DEFAULT_SEED): Map<string, number> {
  const counts = new Map<string, number>();
  for (const file of syntheticFiles(seed)) {
    for (const text of new Set(file.texts)) {
      for (const [piece] of text.matchAll(GPT2_PIECES)) if (piece.trim() !== '') counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
  return new Map([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
