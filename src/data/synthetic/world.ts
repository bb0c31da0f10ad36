/**
 * The one made-up world every synthetic data set is drawn from: people with a town, a trade, an
 * employer, a pet, a favourite colour, an age and a hobby, and the ways the world's English states,
 * denies and asks about each of those facts. A fact holds in every data set it appears in, so labels
 * follow from the text by fixed rules a small model can learn.
 */

import type {Draw} from './draw.js';
import {COLOURS, COUNTRIES, FEMALE_NAMES, HOBBIES, MALE_NAMES, ORGANISATIONS, PETS, PET_NAMES, RIVERS, SURNAMES, TOWNS, TRADES, type Trade} from './lexicon.js';

export type Gender = 'female' | 'male';

export interface Country {
  name: string;
  adjective: string;
}

export interface Town {
  name: string;
  country: Country;
  river: string;
}

export interface Person {
  first: string;
  last: string;
  /** `first last`. */
  name: string;
  gender: Gender;
  town: Town;
  trade: Trade;
  /** Employer, an organisation of the world. */
  org: string;
  pet: string;
  petName: string;
  colour: string;
  age: number;
  hobby: string;
}

export interface World {
  /** In random order; the first two thirds and the rest never meet in the SQuAD splits. */
  people: Person[];
}

export const PRONOUNS: Record<Gender, {subject: string; object: string; possessive: string}> = {
  female: {subject: 'she', object: 'her', possessive: 'her'},
  male: {subject: 'he', object: 'him', possessive: 'his'},
};

const AGES = {min: 19, max: 78};

export function makeWorld(draw: Draw, size = 72): World {
  const towns = TOWNS.map((name) => ({name, country: draw.pick(COUNTRIES), river: draw.pick(RIVERS)}));
  const people: Person[] = [];
  const names = new Set<string>();
  while (people.length < size) {
    const gender: Gender = people.length % 2 === 0 ? 'female' : 'male';
    const first = draw.pick(gender === 'female' ? FEMALE_NAMES : MALE_NAMES);
    const last = draw.pick(SURNAMES);
    const name = `${first} ${last}`;
    if (names.has(name)) continue;
    names.add(name);
    people.push({
      first,
      last,
      name,
      gender,
      town: draw.pick(towns),
      trade: draw.pick(TRADES),
      org: draw.pick(ORGANISATIONS),
      pet: draw.pick(PETS),
      petName: draw.pick(PET_NAMES),
      colour: draw.pick(COLOURS),
      age: draw.int(AGES.min, AGES.max),
      hobby: draw.pick(HOBBIES),
    });
  }
  return {people: draw.shuffle(people)};
}

export type Attribute = 'town' | 'trade' | 'org' | 'pet' | 'colour' | 'age' | 'hobby';

/**
 * How the world's English handles one attribute. In templates `{S}` is the subject, `{V}` the value
 * and `{a V}` the value after its indefinite article.
 */
export interface AttributeSpec {
  value: (person: Person) => string;
  /** Every value the attribute can take, for wrong answers and changed facts. */
  choices: readonly string[];
  /** Verb phrases stating the fact. */
  predicates: readonly string[];
  /** Verb phrase denying it. */
  negation: string;
  /** Lower-case yes/no questions, BoolQ style (no question mark). */
  yesNo: readonly string[];
  /** Questions whose answer is the value. */
  questions: readonly string[];
  /** Whether the value is a named entity (a ReCoRD candidate). */
  named: boolean;
}

export const ATTRIBUTES: ReadonlyMap<Attribute, AttributeSpec> = new Map<Attribute, AttributeSpec>([
  ['town', {
    value: (p) => p.town.name,
    choices: TOWNS,
    predicates: ['lives in {V}', 'has a house in {V}', 'makes a home in {V}'],
    negation: 'does not live in {V}',
    yesNo: ['does {S} live in {V}', 'is {S} a resident of {V}'],
    questions: ['Where does {S} live?', 'In which town does {S} live?'],
    named: true,
  }],
  ['trade', {
    value: (p) => p.trade.name,
    choices: TRADES.map((trade) => trade.name),
    predicates: ['works as {a V}', 'is {a V} by trade', 'earns a living as {a V}'],
    negation: 'does not work as {a V}',
    yesNo: ['is {S} {a V}', 'does {S} work as {a V}'],
    questions: ['What does {S} do for a living?', 'What is the trade of {S}?'],
    named: false,
  }],
  ['org', {
    value: (p) => p.org,
    choices: ORGANISATIONS,
    predicates: ['works for {V}', 'is employed by {V}'],
    negation: 'does not work for {V}',
    yesNo: ['does {S} work for {V}', 'is {S} employed by {V}'],
    questions: ['Who employs {S}?', 'Which organisation does {S} work for?'],
    named: true,
  }],
  ['pet', {
    value: (p) => p.pet,
    choices: PETS,
    predicates: ['owns {a V}', 'keeps {a V} as a pet', 'looks after {a V}'],
    negation: 'does not own {a V}',
    yesNo: ['does {S} own {a V}', 'does {S} keep {a V}'],
    questions: ['What animal does {S} own?', 'Which pet does {S} keep?'],
    named: false,
  }],
  ['colour', {
    value: (p) => p.colour,
    choices: COLOURS,
    predicates: ['likes the colour {V} best', 'is fond of the colour {V}'],
    negation: 'does not like the colour {V}',
    yesNo: ['does {S} like the colour {V} best', 'is {V} the favourite colour of {S}'],
    questions: ['Which colour does {S} like best?', 'What is the favourite colour of {S}?'],
    named: false,
  }],
  ['age', {
    value: (p) => String(p.age),
    choices: Array.from({length: AGES.max - AGES.min + 1}, (_, i) => String(AGES.min + i)),
    predicates: ['is {V} years old', 'turned {V} this year'],
    negation: 'is not {V} years old',
    yesNo: ['is {S} {V} years old', 'did {S} turn {V} this year'],
    questions: ['How old is {S}?', 'What age did {S} turn this year?'],
    named: false,
  }],
  ['hobby', {
    value: (p) => p.hobby,
    choices: HOBBIES,
    predicates: ['enjoys {V}', 'spends free evenings on {V}'],
    negation: 'does not enjoy {V}',
    yesNo: ['does {S} enjoy {V}', 'is {V} a pastime of {S}'],
    questions: ['What does {S} enjoy in the evenings?', 'Which pastime does {S} enjoy?'],
    named: false,
  }],
]);

export const ATTRIBUTE_NAMES: readonly Attribute[] = [...ATTRIBUTES.keys()];

export function attribute(name: Attribute): AttributeSpec {
  const spec = ATTRIBUTES.get(name);
  if (spec === undefined) throw new Error(`no attribute ${name}`);
  return spec;
}

/** A value of the attribute that differs from the person's own: the changed fact. */
export function otherValue(draw: Draw, name: Attribute, person: Person): string {
  const spec = attribute(name);
  return draw.pickOther(spec.choices, spec.value(person));
}

export interface Span {
  start: number;
  end: number;
}

/** Text with the character spans its placeholders took. */
export interface Rendered {
  text: string;
  spans: Record<string, Span>;
}

/** Fills `{NAME}` and `{a NAME}` placeholders, recording where each value lands. */
export function fill(template: string, vars: Record<string, string>): Rendered {
  const spans: Record<string, Span> = {};
  let text = '';
  let last = 0;
  for (const match of template.matchAll(/\{(a )?([A-Za-z0-9]+)\}/g)) {
    const value = vars[match[2]];
    if (value === undefined) throw new Error(`no value for {${match[2]}} in "${template}"`);
    text += template.slice(last, match.index);
    if (match[1] !== undefined) text += `${article(value)} `;
    spans[match[2]] = {start: text.length, end: text.length + value.length};
    text += value;
    last = match.index + match[0].length;
  }
  return {text: text + template.slice(last), spans};
}

export function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * One sentence stating facts about a person: `Mara Voss lives in Delbrook and owns a goat.` Value
 * spans are named V0, V1, …; the subject's span is S. `values` overrides the true values (to state
 * a changed fact), `negate` denies the facts instead, and `wording` picks the predicates (else drawn
 * at random); the result says which predicates it used.
 */
export function stateFacts(
  draw: Draw,
  subject: string,
  person: Person,
  names: readonly Attribute[],
  opts: {values?: readonly string[]; negate?: boolean; wording?: readonly string[]} = {},
): Rendered & {wording: string[]} {
  const vars: Record<string, string> = {S: subject};
  const wording = names.map((name, i) => {
    const spec = attribute(name);
    vars[`V${i}`] = opts.values?.[i] ?? spec.value(person);
    return opts.wording?.[i] ?? (opts.negate ? spec.negation : draw.pick(spec.predicates));
  });
  const phrases = wording.map((phrase, i) => phrase.replace(/\{(a )?V\}/, `{$1V${i}}`));
  const joined = phrases.length <= 2 ? phrases.join(' and ') : `${phrases.slice(0, -1).join(', ')} and ${phrases.at(-1)}`;
  return {...fill(`{S} ${joined}.`, vars), wording};
}

/** Joins sentences with single spaces, shifting each sentence's spans to its place in the whole. */
export function joinSentences(sentences: readonly Rendered[]): {text: string; spans: Record<string, Span>[]} {
  let text = '';
  const spans = sentences.map((sentence) => {
    if (text !== '') text += ' ';
    const shift = text.length;
    text += sentence.text;
    return Object.fromEntries(Object.entries(sentence.spans).map(([k, s]) => [k, {start: s.start + shift, end: s.end + shift}]));
  });
  return {text, spans};
}
