/**
 * Unlabelled text of the synthetic world, for pretraining ptv2's built-in model by masked
 * language modelling: what Wikipedia is to BERT, the world's own sentences are to its tiny model.
 *
 * Two sources, both drawn from the same world (same people, towns and facts) as the sample data:
 * - the texts of the sample data sets' training splits, as their readers show them to a model;
 * - fresh texts from every generator run on a separate seed fork (`corpus/…`), so the committed
 *   files stay byte-identical.
 * No text of a sample data set's dev or test split is ever in the corpus: an item with a segment
 * equal to any of those texts is left out. SuperGLUE records stay sentence pairs, as BERT's
 * pretraining input has two segments; every other text is a single segment.
 */

import {parseSuperGlue, SUPERGLUE_DIRS, SUPERGLUE_TASKS, type SuperGlueTask} from '../superglue.js';
import {customFiles} from './custom.js';
import {Draw} from './draw.js';
import type {SyntheticFile} from './files.js';
import {DEFAULT_SEED, syntheticFiles} from './index.js';
import {nerFiles} from './ner.js';
import {qaFiles} from './qa.js';
import {srlFiles} from './srl.js';
import {superGlueFiles} from './superglue.js';
import {makeWorld} from './world.js';

export interface CorpusItem {
  textA: string;
  /** The second segment, for SuperGLUE's sentence pairs. */
  textB?: string;
}

export interface CorpusOptions {
  seed?: number;
  /** Size of the freshly generated part, as a multiple of the sample data's size (0 = none). */
  extraScale?: number;
}

const TASK_OF_DIR = new Map<string, SuperGlueTask>(SUPERGLUE_TASKS.map((task) => [SUPERGLUE_DIRS[task], task]));

/** Training files are `train.<ext>` in every layout ptv2 generates. */
export function isTrainingFile(file: SyntheticFile): boolean {
  return /(^|\/)train\.[a-z]+$/.test(file.path);
}

/** Every text a model reads from the sample data sets' dev and test splits. */
export function heldOutTexts(seed = DEFAULT_SEED): Set<string> {
  return new Set(syntheticFiles(seed).filter((file) => !isTrainingFile(file)).flatMap((file) => file.texts));
}

/**
 * A file's items: SuperGLUE records as (first, second) pairs, one per distinct first segment (a
 * MultiRC paragraph or ReCoRD passage would otherwise repeat once per answer candidate; COPA keeps
 * its right choice where the file says which); any other file's distinct texts, one segment each.
 */
function fileItems(file: SyntheticFile): CorpusItem[] {
  const [family, dir] = file.path.split('/');
  const task = family === 'superglue' ? TASK_OF_DIR.get(dir) : undefined;
  if (task === undefined) return [...new Set(file.texts)].map((textA) => ({textA}));
  const byFirst = new Map<string, CorpusItem>();
  for (const example of parseSuperGlue(task, file.content, file.path)) {
    let item: CorpusItem | undefined;
    if (example.kind === 'pair') item = example.textB === undefined ? {textA: example.textA} : {textA: example.textA, textB: example.textB};
    else if (example.kind === 'choice' && example.label !== null) item = {textA: example.context, textB: example.choices[example.label]};
    if (item && !byFirst.has(item.textA)) byFirst.set(item.textA, item);
  }
  return [...byFirst.values()];
}

/** Every file the generators write for the world of `seed`, drawn from the fork `corpus` instead of the sample data's. */
function freshFiles(seed: number, scale: number): SyntheticFile[] {
  const root = new Draw(seed);
  // The sample data's world: its fork name is the one index.ts uses.
  const world = makeWorld(root.fork('world'));
  const fresh = root.fork('corpus');
  return [
    ...superGlueFiles(world, fresh.fork('superglue'), scale),
    ...nerFiles(world, fresh.fork('ner'), scale),
    ...qaFiles(world, fresh.fork('qa'), scale),
    ...srlFiles(world, fresh.fork('srl'), scale),
    ...customFiles(world, fresh.fork('custom'), scale),
  ];
}

/** The pretraining corpus, deduplicated, in a fixed order (the same options give the same items). */
export function pretrainingCorpus(opts: CorpusOptions = {}): CorpusItem[] {
  const seed = opts.seed ?? DEFAULT_SEED;
  const extraScale = opts.extraScale ?? 1;
  const excluded = heldOutTexts(seed);
  const files = [...syntheticFiles(seed).filter(isTrainingFile), ...(extraScale > 0 ? freshFiles(seed, extraScale) : [])];
  const items = new Map<string, CorpusItem>();
  for (const item of files.flatMap(fileItems)) {
    if (excluded.has(item.textA) || (item.textB !== undefined && excluded.has(item.textB))) continue;
    const key = item.textB === undefined ? item.textA : `${item.textA}\u0000${item.textB}`;
    if (!items.has(key)) items.set(key, item);
  }
  return [...items.values()];
}
