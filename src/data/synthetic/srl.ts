/**
 * Synthetic semantic role labelling data, one predicate per line:
 * `<0-based predicate index> w1 … wn ||| t1 … tn`, BIO tags with PropBank roles (ARG0, ARG1, ARG2,
 * ARGM-LOC, ARGM-TMP, ARGM-MNR, ARGM-NEG, ARGM-MOD, ARGM-CAU) and the predicate tagged B-V. A
 * sentence with a reporting verb (`X said that Y baked bread .`) gives one line per predicate.
 *
 * `srl/conll05` mirrors the CoNLL-2005 splits: train, dev and test_wsj share the news style; test_brown
 * is out of domain (story style: pronoun subjects, other modifiers, more negation). `srl/conll12`
 * uses every construction. Roles follow from word order and the function words that introduce each
 * modifier, so they are learnable.
 * References: Carreras & Màrquez 2005 (CoNLL-2005); Pradhan et al. 2013 (CoNLL-2012);
 * He et al. 2017 for the one-predicate-per-line layout.
 */

import type {Draw} from './draw.js';
import {scaled, type SyntheticFile} from './files.js';
import {MONTHS, WEEKDAYS} from './lexicon.js';
import {PRONOUNS, capitalise, type Person, type World} from './world.js';

/** Consecutive words that play one role of one predicate (role null: outside every argument). */
interface Phrase {
  text: string;
  role: string | null;
}

interface Style {
  /** Modifier makers this style draws from. */
  modifiers: readonly ModifierKind[];
  pronounSubjects: boolean;
  /** Chance of `X said that …` with two predicates. */
  reported: number;
  /** Chance of a negated or modal verb group. */
  auxiliaries: number;
}

type ModifierKind = 'LOC' | 'TMP' | 'MNR' | 'CAU' | 'STORY_LOC' | 'STORY_TMP';

const MODIFIERS: ReadonlyMap<ModifierKind, (draw: Draw, person: Person) => Phrase> = new Map<ModifierKind, (draw: Draw, person: Person) => Phrase>([
  ['LOC', (draw, p) => ({text: draw.pick([`in ${p.town.name}`, `near the ${p.town.river}`, `at the market in ${p.town.name}`]), role: 'ARGM-LOC'})],
  ['TMP', (draw) => ({text: draw.pick([`on ${draw.pick(WEEKDAYS)}`, `in ${draw.pick(MONTHS)}`, 'last year', 'yesterday']), role: 'ARGM-TMP'})],
  ['MNR', (draw) => ({text: draw.pick(['carefully', 'quickly', 'with great care', 'in silence']), role: 'ARGM-MNR'})],
  ['CAU', (draw) => ({text: draw.pick(['because of the storm', 'because of the fair', 'for the harvest feast']), role: 'ARGM-CAU'})],
  ['STORY_LOC', (draw) => ({text: draw.pick(['in the forest', 'by the old well', 'under the bridge', 'in the attic']), role: 'ARGM-LOC'})],
  ['STORY_TMP', (draw) => ({text: draw.pick(['at dusk', 'before dawn', 'that night', 'after supper']), role: 'ARGM-TMP'})],
]);

/** Verbs beyond the trades: past and base form, and how their objects are made. */
const GENERIC_VERBS: readonly {past: string; base: string; args: (draw: Draw, other: Person) => Phrase[]}[] = [
  {past: 'visited', base: 'visit', args: (_, o) => [{text: o.town.name, role: 'ARG1'}]},
  {past: 'met', base: 'meet', args: (_, o) => [{text: o.name, role: 'ARG1'}]},
  {past: 'sold', base: 'sell', args: (draw, o) => [{text: draw.pick(['a goat', 'the old boat', 'a basket of apples']), role: 'ARG1'}, {text: `to ${o.first}`, role: 'ARG2'}]},
  {past: 'gave', base: 'give', args: (draw, o) => [{text: o.first, role: 'ARG2'}, {text: draw.pick(['a map', 'some bread', 'a lantern']), role: 'ARG1'}]},
  {past: 'wrote', base: 'write', args: (draw, o) => [{text: draw.pick(['a letter', 'a short note']), role: 'ARG1'}, {text: `to ${o.name}`, role: 'ARG2'}]},
  {past: 'fed', base: 'feed', args: (_, o) => [{text: `the ${o.pet}`, role: 'ARG1'}]},
  {past: 'found', base: 'find', args: (draw) => [{text: draw.pick(['a silver coin', 'the lost key', 'an old map']), role: 'ARG1'}]},
];

const STYLES: ReadonlyMap<string, Style> = new Map<string, Style>([
  ['news', {modifiers: ['LOC', 'TMP'], pronounSubjects: false, reported: 0.25, auxiliaries: 0.1}],
  ['story', {modifiers: ['STORY_LOC', 'STORY_TMP', 'MNR'], pronounSubjects: true, reported: 0.1, auxiliaries: 0.35}],
  ['full', {modifiers: ['LOC', 'TMP', 'MNR', 'CAU', 'STORY_LOC', 'STORY_TMP'], pronounSubjects: true, reported: 0.25, auxiliaries: 0.3}],
]);

const FILES: readonly {path: string; size: number; style: string}[] = [
  {path: 'srl/conll05/train.txt', size: 400, style: 'news'},
  {path: 'srl/conll05/dev.txt', size: 100, style: 'news'},
  {path: 'srl/conll05/test_wsj.txt', size: 100, style: 'news'},
  {path: 'srl/conll05/test_brown.txt', size: 60, style: 'story'},
  {path: 'srl/conll12/train.txt', size: 400, style: 'full'},
  {path: 'srl/conll12/dev.txt', size: 100, style: 'full'},
  {path: 'srl/conll12/test.txt', size: 100, style: 'full'},
];

export function srlFiles(world: World, draw: Draw, scale: number): SyntheticFile[] {
  return FILES.map(({path, size, style}) => {
    const fileDraw = draw.fork(path);
    const chosen = STYLES.get(style);
    if (chosen === undefined) throw new Error(`no SRL style ${style}`);
    const lines: string[] = [];
    const texts: string[] = [];
    // Sentences are added whole, so a reported sentence's two lines stay together.
    while (lines.length < scaled(size, scale)) {
      const frames = sentenceFrames(fileDraw, world, chosen);
      texts.push(frames[0].words.join(' '));
      for (const frame of frames) lines.push(`${frame.predicate} ${frame.words.join(' ')} ||| ${frame.tags.join(' ')}`);
    }
    return {path, content: `${lines.join('\n')}\n`, texts};
  });
}

interface Frame {
  predicate: number;
  words: string[];
  tags: string[];
}

/** One sentence and a frame per predicate in it. */
function sentenceFrames(draw: Draw, world: World, style: Style): Frame[] {
  const [actor, other, reporter] = draw.sample(world.people, 3);
  const clause = clausePhrases(draw, actor, other, style);
  if (!draw.chance(style.reported)) {
    const [opening, ...rest] = clause;
    return [frame([{...opening, text: capitalise(opening.text)}, ...rest, {text: '.', role: null}])];
  }
  // `R said that <clause> .`: for `said` the whole clause is ARG1; for the inner verb `R said that` is outside.
  const lead: Phrase[] = [{text: reporter.name, role: 'ARG0'}, {text: 'said', role: 'V'}];
  const clauseText = ['that', ...clause.map((phrase) => phrase.text)].join(' ');
  return [
    frame([...lead, {text: clauseText, role: 'ARG1'}, {text: '.', role: null}]),
    frame([...lead.map((phrase) => ({...phrase, role: null})), {text: 'that', role: null}, ...clause, {text: '.', role: null}]),
  ];
}

/** A clause in lower case (its first word is capitalised by the caller when it opens the sentence). */
function clausePhrases(draw: Draw, actor: Person, other: Person, style: Style): Phrase[] {
  const generic = draw.chance(0.5) ? draw.pick(GENERIC_VERBS) : undefined;
  const verb = generic ?? {past: actor.trade.verb, base: actor.trade.base};
  const objects = generic?.args(draw, other) ?? [{text: draw.pick(actor.trade.objects), role: 'ARG1'}];
  const subject = style.pronounSubjects && draw.chance(0.4) ? PRONOUNS[actor.gender].subject : actor.name;
  const verbGroup: Phrase[] = !draw.chance(style.auxiliaries)
    ? [{text: verb.past, role: 'V'}]
    : draw.pick([
      [{text: 'did', role: null}, {text: 'not', role: 'ARGM-NEG'}, {text: verb.base, role: 'V'}],
      [{text: 'will', role: 'ARGM-MOD'}, {text: verb.base, role: 'V'}],
      [{text: 'could', role: 'ARGM-MOD'}, {text: 'not', role: 'ARGM-NEG'}, {text: verb.base, role: 'V'}],
    ]);
  const modifiers = draw.sample(style.modifiers, draw.int(0, 2)).map((kind) => {
    const make = MODIFIERS.get(kind);
    if (make === undefined) throw new Error(`no SRL modifier ${kind}`);
    return make(draw, actor);
  });
  // A time modifier may open the clause, set off by a comma.
  if (modifiers.length > 0 && modifiers[0].role === 'ARGM-TMP' && draw.chance(0.3)) {
    const [time, ...rest] = modifiers;
    return [time, {text: ',', role: null}, {text: subject, role: 'ARG0'}, ...verbGroup, ...objects, ...rest];
  }
  return [{text: subject, role: 'ARG0'}, ...verbGroup, ...objects, ...modifiers];
}

function frame(phrases: readonly Phrase[]): Frame {
  const words: string[] = [];
  const tags: string[] = [];
  let predicate = -1;
  for (const phrase of phrases) {
    phrase.text.split(' ').forEach((word, i) => {
      if (phrase.role === 'V') predicate = words.length;
      words.push(word);
      tags.push(phrase.role === null ? 'O' : `${i === 0 ? 'B' : 'I'}-${phrase.role}`);
    });
  }
  if (predicate < 0) throw new Error('an SRL frame without a predicate');
  return {predicate, words, tags};
}
