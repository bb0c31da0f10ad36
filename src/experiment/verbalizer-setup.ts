/**
 * What a job needs beyond its config when it scores labels with the verbalizer head or starts a
 * prompt from word embeddings: the checkpoint's MLM head, the label words as token ids, the
 * task's examples written into its template (features of their own; the linear head's features
 * stay as they are), and the token ids a `pt`/`ptv1` prompt starts from. Everything is checked
 * before the experiment writes anything: a word that is not one token, a template without one
 * [MASK], a checkpoint without an MLM head, a task the verbalizer cannot score.
 */
import type {Job} from '../config/plan.js';
import {UserError} from '../errors.js';
import type {Checkpoint} from '../model/checkpoint.js';
import type {VerbalizerSpec} from '../model/model.js';
import {DEFAULT_VERBALIZERS, encodeTemplate, labelWordIds, parseTemplate, readMlmHead, type StoredMlmHead, type TemplateTokenizer} from '../model/verbalizer.js';
import type {PairExample} from '../data/types.js';
import {mulberry32} from '../random.js';
import type {SplitData, TaskData} from './task-data.js';

/** Per task: the verbalizer's spec and the task's data in the template. */
export type VerbalizedTasks = ReadonlyMap<string, {spec: VerbalizerSpec; data: TaskData}>;

type Tokenizer = TemplateTokenizer & {readonly unkId: number; readonly padId: number; readonly vocabSize: number};

/** The tasks some job scores with the verbalizer (a shared MPT-2 stage counts for each of its tasks). */
function verbalizedTaskNames(jobs: readonly Job[]): Set<string> {
  return new Set(jobs.filter((job) => job.config.head === 'verbalizer').flatMap((job) => job.tasks ?? [job.task]));
}

/** Template features for every task a verbalizer job reads; empty when no job uses the verbalizer. */
export function prepareVerbalizers(jobs: readonly Job[], tasks: ReadonlyMap<string, TaskData>, tokenizer: Tokenizer, checkpoint: Pick<Checkpoint, 'heads' | 'config' | 'dir'>, file: string): VerbalizedTasks {
  const names = verbalizedTaskNames(jobs);
  if (names.size === 0) return new Map();
  const stored = readMlmHead(checkpoint.heads ?? new Map(), checkpoint.config, checkpoint.dir);
  const out = new Map<string, {spec: VerbalizerSpec; data: TaskData}>();
  for (const name of names) {
    const data = tasks.get(name)!;
    const job = jobs.find((j) => j.config.head === 'verbalizer' && (j.tasks ?? [j.task]).includes(name))!;
    out.set(name, verbalizeTask(job, data, tokenizer, stored, file));
  }
  return out;
}

function verbalizeTask(job: Job, data: TaskData, tokenizer: Tokenizer, stored: StoredMlmHead, file: string): {spec: VerbalizerSpec; data: TaskData} {
  const name = data.config.name;
  const index = job.config.tasks.findIndex((t) => t.name === name);
  const taskConfig = job.config.tasks[index];
  const settings = {...job.config.verbalizer, ...taskConfig?.verbalizer};
  const field = (key: string) => ({file, field: `tasks[${index}].verbalizer.${key}`});
  if (data.definition.head !== 'classification') {
    throw new UserError(`${name} has a ${data.definition.head} head; the verbalizer scores classification and sentence-pair tasks only`, {file, field: `tasks[${index}].head`}, ['set head: linear for this task']);
  }
  const defaults = DEFAULT_VERBALIZERS.get(name);
  const template = settings.template ?? defaults?.template;
  if (template === undefined) throw new UserError(`${name} has no default verbalizer template; give one, e.g. "{a} ? [MASK] , {b}"`, field('template'));
  const words = {...defaults?.words, ...settings.words};
  const wordIds = labelWordIds(data.labels, words, tokenizer, field('words'));
  const parts = parseTemplate(template, name, field('template'));
  const rewrite = (split: SplitData): SplitData => {
    let truncated = 0;
    const features = split.set.features.map((feature) => {
      const example = split.examples[feature.example] as PairExample;
      const encoded = encodeTemplate(parts, {a: example.textA, ...(example.textB === undefined ? {} : {b: example.textB})}, tokenizer, data.maxLength);
      if (encoded.truncated) truncated++;
      return {inputIds: encoded.inputIds, tokenTypeIds: encoded.tokenTypeIds, label: feature.label, example: feature.example};
    });
    return {...split, set: {...split.set, features, truncated}};
  };
  return {
    spec: {stored, wordIds, maskId: tokenizer.maskId, trainLmHead: settings.train_lm_head ?? false},
    data: {...data, train: rewrite(data.train), dev: rewrite(data.dev), tests: data.tests.map((test) => ({...rewrite(test), name: test.name}))},
  };
}

/**
 * `prompt.init: vocab | words` of a `pt` or `ptv1` job: the token ids whose word embeddings the
 * prompt starts from. vocab: P ids drawn (seeded) from the ordinary tokens, as Lester et al. start
 * from sampled vocabulary; words: the sub-tokens of init_words, repeated to fill P.
 */
export function promptInitIds(job: Job, tokenizer: Tokenizer & {readonly sepId: number; readonly clsId: number; readonly maskId: number}, seed: number, file: string): Int32Array | undefined {
  const prompt = job.config.prompt;
  if ((job.method !== 'pt' && job.method !== 'ptv1') || prompt.init === 'random') return undefined;
  if (prompt.init === 'vocab') {
    const special = new Set([tokenizer.clsId, tokenizer.sepId, tokenizer.padId, tokenizer.unkId, tokenizer.maskId]);
    const ordinary = Array.from({length: tokenizer.vocabSize}, (_, i) => i).filter((id) => !special.has(id));
    const rng = mulberry32(seed);
    return Int32Array.from({length: prompt.length}, () => ordinary[Math.floor(rng() * ordinary.length)]);
  }
  const words = prompt.init_words ?? [];
  const ids = words.flatMap((word) => {
    const encoded = tokenizer.encode(word, undefined, Number.MAX_SAFE_INTEGER).inputIds;
    return encoded.filter((id) => id !== tokenizer.clsId && id !== tokenizer.sepId);
  });
  if (ids.length === 0) throw new UserError(`${job.id}: prompt.init is "words", but init_words gives no tokens`, {file, field: 'prompt.init_words'});
  return Int32Array.from(ids);
}
