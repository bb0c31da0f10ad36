/**
 * Synthetic named-entity data in three layouts, all drawn from the same templates:
 * - `ner/conll03`: CoNLL-2003, `word POS chunk NER` space-separated, IOB2 PER/LOC/ORG/MISC,
 *   `-DOCSTART- -X- -X- O` before each document, a blank line after each sentence.
 * - `ner/ontonotes`: `token<TAB>tag` with the OntoNotes 5.0 types used here (PERSON, GPE, LOC,
 *   ORG, NORP, EVENT, DATE, CARDINAL, MONEY).
 * - `ner/conll04`: the CoNLL-2003 columns with the CoNLL04 types Peop/Loc/Org/Other.
 *
 * Templates write each literal word as `word/POS`; `{SLOT}` and `{SLOT2}` take the first and the
 * second person's facts. Each slot has one entity kind, which every scheme maps to its own type
 * (or to O), so a tag always follows from what the word is in the world.
 * References: Tjong Kim Sang & De Meulder 2003 (CoNLL-2003); Weischedel et al. 2013 (OntoNotes 5.0);
 * Roth & Yih 2004 (CoNLL04); Penn Treebank POS tags.
 */

import type {Draw} from './draw.js';
import {scaled, type SyntheticFile} from './files.js';
import {EVENTS, MONTHS, NEWSPAPERS, NUMBER_WORDS, WEEKDAYS} from './lexicon.js';
import type {Person, World} from './world.js';

type EntityKind = 'person' | 'town' | 'country' | 'river' | 'org' | 'nationality' | 'event' | 'date' | 'number' | 'money';

/** Words with their POS tags, and the entity kind they name (null: not an entity). */
interface Filler {
  words: readonly [word: string, pos: string][];
  kind: EntityKind | null;
}

const SLOTS: ReadonlyMap<string, (draw: Draw, person: Person) => Filler> = new Map<string, (draw: Draw, person: Person) => Filler>([
  ['PER', (_, p) => named('person', p.name)],
  ['FIRST', (_, p) => named('person', p.first)],
  ['TOWN', (_, p) => named('town', p.town.name)],
  ['COUNTRY', (_, p) => named('country', p.town.country.name)],
  ['RIVER', (_, p) => named('river', p.town.river)],
  ['ORG', (_, p) => named('org', p.org)],
  ['PAPER', (draw) => named('org', draw.pick(NEWSPAPERS))],
  ['NORP', (_, p) => ({words: [[p.town.country.adjective, 'JJ']], kind: 'nationality'})],
  ['EVENT', (draw) => named('event', draw.pick(EVENTS))],
  ['TRADE', (_, p) => ({words: [[p.trade.name, 'NN']], kind: null})],
  ['PET', (_, p) => ({words: [[p.pet, 'NN']], kind: null})],
  ['YEAR', (draw) => ({words: [[String(draw.int(1990, 2023)), 'CD']], kind: 'date'})],
  ['DATE', (draw) => ({words: draw.pick(DATE_SHAPES)(draw), kind: 'date'})],
  ['NUM', (draw) => ({words: [[draw.pick(NUMBER_WORDS), 'CD']], kind: 'number'})],
  ['MONEY', (draw) => ({words: [[String(draw.int(2, 90) * 10), 'CD'], ['crowns', 'NNS']], kind: 'money'})],
]);

const DATE_SHAPES: readonly ((draw: Draw) => [string, string][])[] = [
  (draw) => [[draw.pick(WEEKDAYS), 'NNP']],
  (draw) => [[String(draw.int(1, 28)), 'CD'], [draw.pick(MONTHS), 'NNP']],
  (draw) => [[draw.pick(MONTHS), 'NNP'], [String(draw.int(1990, 2023)), 'CD']],
  (draw) => [['last', 'JJ'], [draw.pick(WEEKDAYS), 'NNP']],
];

function named(kind: EntityKind, name: string): Filler {
  return {words: name.split(' ').map((word) => [word, 'NNP']), kind};
}

const TEMPLATES = [
  '{PER} works/VBZ as/IN a/DT {TRADE} in/IN {TOWN} ./.',
  '{PER} ,/, a/DT {TRADE} from/IN {TOWN} ,/, joined/VBD {ORG} in/IN {YEAR} ./.',
  '{ORG} opened/VBD a/DT new/JJ office/NN in/IN {TOWN} on/IN {DATE} ./.',
  'The/DT {NORP} crew/NN won/VBD the/DT {EVENT} ./.',
  '{PER} and/CC {PER2} met/VBD at/IN the/DT {EVENT} in/IN {TOWN} ./.',
  '{TOWN} lies/VBZ on/IN the/DT {RIVER} in/IN {COUNTRY} ./.',
  '{PER} paid/VBD {MONEY} for/IN a/DT {PET} at/IN the/DT market/NN in/IN {TOWN} ./.',
  '{ORG} hired/VBD {NUM} new/JJ workers/NNS in/IN {TOWN} ./.',
  'According/VBG to/TO {PER} ,/, {ORG} will/MD move/VB to/TO {TOWN2} ./.',
  'The/DT {EVENT} drew/VBD {NUM} hundred/CD visitors/NNS to/TO {TOWN} on/IN {DATE} ./.',
  '{PER} ,/, who/WP lives/VBZ in/IN {TOWN} ,/, owns/VBZ a/DT {PET} ./.',
  '{NORP} farmers/NNS sold/VBD {NUM} tonnes/NNS of/IN grain/NN to/TO {ORG} ./.',
  '{PER} told/VBD the/DT {PAPER} that/IN the/DT {RIVER} had/VBD flooded/VBN ./.',
  '{PER2} ,/, a/DT {TRADE2} at/IN {ORG2} ,/, praised/VBD {PER} ./.',
  'Shares/NNS in/IN {ORG} rose/VBD after/IN the/DT {EVENT} ./.',
  '{PER} was/VBD born/VBN in/IN {TOWN} ,/, {COUNTRY} ,/, in/IN {YEAR} ./.',
  '{ORG} and/CC {ORG2} signed/VBD a/DT deal/NN worth/JJ {MONEY} on/IN {DATE} ./.',
  'Rain/NN delayed/VBD the/DT {EVENT} in/IN {TOWN} on/IN {DATE} ./.',
  '{PER} thanked/VBD the/DT {NORP} visitors/NNS ./.',
  'The/DT ferry/NN from/IN {TOWN} to/TO {TOWN2} takes/VBZ {NUM} hours/NNS ./.',
  '{FIRST} and/CC {FIRST2} rowed/VBD down/RP the/DT {RIVER} on/IN {DATE} ./.',
  '{PER} won/VBD {MONEY} at/IN the/DT {EVENT} ./.',
  'Police/NNS in/IN {TOWN} found/VBD the/DT {PET} of/IN {PER} ./.',
  '{ORG} said/VBD on/IN {DATE} that/IN it/PRP would/MD build/VB a/DT school/NN in/IN {TOWN} ./.',
  '{FIRST} ,/, the/DT {TRADE} ,/, has/VBZ lived/VBN in/IN {COUNTRY} since/IN {YEAR} ./.',
  'The/DT {PAPER} reported/VBD that/IN {NUM} {NORP} boats/NNS reached/VBD {TOWN} ./.',
] as const;

/** Entity kind → type name, per scheme; a kind missing from a scheme is tagged O. */
interface Scheme {
  types: ReadonlyMap<EntityKind, string>;
  write: (tokens: readonly Token[]) => string;
  documents: boolean;
}

interface Token {
  word: string;
  pos: string;
  chunk: string;
  tag: string;
}

const SCHEMES: ReadonlyMap<string, Scheme> = new Map<string, Scheme>([
  ['conll03', {
    types: new Map([['person', 'PER'], ['town', 'LOC'], ['country', 'LOC'], ['river', 'LOC'], ['org', 'ORG'], ['nationality', 'MISC'], ['event', 'MISC']]),
    write: (tokens) => tokens.map((t) => `${t.word} ${t.pos} ${t.chunk} ${t.tag}`).join('\n'),
    documents: true,
  }],
  ['ontonotes', {
    types: new Map([['person', 'PERSON'], ['town', 'GPE'], ['country', 'GPE'], ['river', 'LOC'], ['org', 'ORG'], ['nationality', 'NORP'], ['event', 'EVENT'], ['date', 'DATE'], ['number', 'CARDINAL'], ['money', 'MONEY']]),
    write: (tokens) => tokens.map((t) => `${t.word}\t${t.tag}`).join('\n'),
    documents: false,
  }],
  ['conll04', {
    types: new Map([['person', 'Peop'], ['town', 'Loc'], ['country', 'Loc'], ['river', 'Loc'], ['org', 'Org'], ['nationality', 'Other'], ['event', 'Other']]),
    write: (tokens) => tokens.map((t) => `${t.word} ${t.pos} ${t.chunk} ${t.tag}`).join('\n'),
    documents: false,
  }],
]);

const SPLITS = [['train', 400], ['dev', 100], ['test', 100]] as const;

export function nerFiles(world: World, draw: Draw, scale: number): SyntheticFile[] {
  const files: SyntheticFile[] = [];
  for (const [name, scheme] of SCHEMES) {
    for (const [split, size] of SPLITS) {
      const path = `ner/${name}/${split}.txt`;
      const splitDraw = draw.fork(path);
      const sentences = Array.from({length: scaled(size, scale)}, () => sentence(splitDraw, world, scheme));
      files.push({path, content: layout(splitDraw, sentences, scheme), texts: sentences.map((tokens) => tokens.map((t) => t.word).join(' '))});
    }
  }
  return files;
}

function layout(draw: Draw, sentences: readonly Token[][], scheme: Scheme): string {
  let out = '';
  let left = 0;
  for (const tokens of sentences) {
    if (scheme.documents && left-- === 0) {
      out += '-DOCSTART- -X- -X- O\n\n';
      left = draw.int(3, 8) - 1;
    }
    out += `${scheme.write(tokens)}\n\n`;
  }
  return out;
}

function sentence(draw: Draw, world: World, scheme: Scheme): Token[] {
  const [first, second] = draw.sample(world.people, 2);
  const words: [string, string][] = [];
  const tags: string[] = [];
  for (const part of draw.pick(TEMPLATES).split(' ')) {
    const slot = /^\{([A-Z]+?)(2?)\}$/.exec(part);
    if (slot === null) {
      const cut = part.lastIndexOf('/');
      words.push([part.slice(0, cut), part.slice(cut + 1)]);
      tags.push('O');
      continue;
    }
    const make = SLOTS.get(slot[1]);
    if (make === undefined) throw new Error(`no NER slot ${slot[1]}`);
    const filler = make(draw, slot[2] === '2' ? second : first);
    const type = filler.kind === null ? undefined : scheme.types.get(filler.kind);
    filler.words.forEach((word, i) => {
      words.push([...word]);
      tags.push(type === undefined ? 'O' : `${i === 0 ? 'B' : 'I'}-${type}`);
    });
  }
  fixArticles(words);
  const chunks = chunkTags(words.map(([, pos]) => pos));
  return words.map(([word, pos], i) => ({word, pos, chunk: chunks[i], tag: tags[i]}));
}

/** `a` before a vowel becomes `an`. */
function fixArticles(words: [string, string][]): void {
  for (let i = 0; i + 1 < words.length; i++) {
    if (words[i][0] === 'a' && /^[aeiou]/i.test(words[i + 1][0])) words[i][0] = 'an';
  }
}

/** Phrase type per POS tag; consecutive words of one type form a chunk, a determiner opens a new one. */
const CHUNK_OF_POS: ReadonlyMap<string, string> = new Map([
  ...['DT', 'JJ', 'NN', 'NNS', 'NNP', 'NNPS', 'CD', 'PRP', 'PRP$', 'WP'].map((pos) => [pos, 'NP'] as const),
  ...['VB', 'VBD', 'VBZ', 'VBN', 'VBG', 'VBP', 'MD'].map((pos) => [pos, 'VP'] as const),
  ['IN', 'PP'], ['TO', 'PP'], ['RP', 'PRT'], ['RB', 'ADVP'],
]);

function chunkTags(pos: readonly string[]): string[] {
  return pos.map((tag, i) => {
    // `to` before a verb belongs to the verb phrase.
    const type = tag === 'TO' && /^VB/.test(pos[i + 1] ?? '') ? 'VP' : CHUNK_OF_POS.get(tag);
    if (type === undefined) return 'O';
    const previousType = i === 0 ? undefined : pos[i - 1] === 'TO' && /^VB/.test(tag) ? 'VP' : CHUNK_OF_POS.get(pos[i - 1]);
    const continues = previousType === type && type !== 'PP' && !(type === 'NP' && (tag === 'DT' || tag === 'WP'));
    return `${continues ? 'I' : 'B'}-${type}`;
  });
}
