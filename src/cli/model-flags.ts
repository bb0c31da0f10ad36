/**
 * The flags and checks `ptv2 models init` and `ptv2 models pretrain` share: where to write the
 * checkpoint and the shape of the BERT to create.
 */
import {Flags} from '@oclif/core';
import fs from 'node:fs';
import {UserError} from '../errors.js';

/** The architecture of a created checkpoint; `maxPositions` is each command's own default and its reason. */
export function architectureFlags(maxPositions: {default: number; why: string}) {
  return {
    out: Flags.string({description: 'directory to create', required: true}),
    layers: Flags.integer({description: 'encoder layers', default: 2, min: 1}),
    hidden: Flags.integer({description: 'hidden size', default: 64, min: 1}),
    heads: Flags.integer({description: 'attention heads (must divide hidden)', default: 4, min: 1}),
    intermediate: Flags.integer({description: 'feed-forward size', default: 256, min: 1}),
    'max-positions': Flags.integer({description: `position embeddings (${maxPositions.why})`, default: maxPositions.default, min: 1}),
    vocab: Flags.integer({description: 'vocabulary size (default: just the sample data\'s words); BERT pads with [unusedN], RoBERTa caps its BPE merges', min: 1}),
    force: Flags.boolean({description: 'overwrite an existing directory'}),
  };
}

/** The shape of the BERT the flags ask for, as checkpoint.ts and pretrain.ts take it. */
export function architectureOf(flags: {layers: number; hidden: number; heads: number; intermediate: number; 'max-positions': number; seed: number}, vocabSize: number) {
  return {
    layers: flags.layers,
    hidden: flags.hidden,
    heads: flags.heads,
    intermediate: flags.intermediate,
    maxPositions: flags['max-positions'],
    vocabSize,
    seed: flags.seed,
  };
}

/** Refuses an existing directory (without --force) and a hidden size the heads do not divide. */
export function checkNewCheckpoint(flags: {out: string; force: boolean; hidden: number; heads: number}): void {
  if (fs.existsSync(flags.out) && !flags.force) {
    throw new UserError('directory exists already', {file: flags.out}, ['pass --force to overwrite it', 'or choose another --out']);
  }
  if (flags.hidden % flags.heads !== 0) throw new UserError(`--hidden ${flags.hidden} is not divisible by --heads ${flags.heads}`, {field: '--heads'});
}
