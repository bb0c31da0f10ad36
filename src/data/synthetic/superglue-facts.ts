/**
 * Synthetic SuperGLUE tasks answered by the facts a text states: RTE, CB, BoolQ, MultiRC, ReCoRD.
 * Records come out in the release's field layout, labelled; the writer drops labels for test files.
 *
 * The labelling rules a model can learn:
 * - RTE: entailment when the hypothesis restates a premise fact (possibly in other words),
 *   not_entailment when it changes the value of one, denies one, or states one the premise lacks.
 * - CB: entailment when the hypothesis repeats the reported fact with its polarity, contradiction
 *   when it flips the polarity, neutral when it speaks of an attribute the premise never mentions.
 *   Neutral is rare, as in the real CB.
 * - BoolQ: true when the question's value is the passage's value for that attribute.
 * - MultiRC: an option is right when it gives the passage's value for the asked person.
 * - ReCoRD: the query restates a passage fact; the missing entity is the one the passage links to it.
 */

import type {Draw} from './draw.js';
import {EVENTS, NEWSPAPERS, WEEKDAYS} from './lexicon.js';
import {ATTRIBUTE_NAMES, PRONOUNS, attribute, capitalise, fill, joinSentences, otherValue, stateFacts, type Attribute, type Person, type Rendered, type World} from './world.js';

export type JsonRecord = Record<string, unknown>;

/** `count` people who differ pairwise in first name, surname and each of `distinct`. */
export function distinctPeople(draw: Draw, world: World, count: number, distinct: readonly Attribute[]): Person[] {
  const chosen: Person[] = [];
  for (const person of draw.shuffle(world.people)) {
    const clash = chosen.some((other) => other.first === person.first || other.last === person.last || distinct.some((name) => attribute(name).value(other) === attribute(name).value(person)));
    if (!clash) chosen.push(person);
    if (chosen.length === count) return chosen;
  }
  throw new Error(`the world has no ${count} people differing in ${distinct.join(', ')}`);
}

function subjectPronoun(person: Person): string {
  return capitalise(PRONOUNS[person.gender].subject);
}

export function makeRte(world: World, draw: Draw, count: number): JsonRecord[] {
  return draw.balanced(count, ['entailment', 'not_entailment']).map((label, idx) => {
    const [person, neighbour] = distinctPeople(draw, world, 2, ATTRIBUTE_NAMES);
    const names = draw.sample(ATTRIBUTE_NAMES, draw.int(2, 3));
    const sentences = [stateFacts(draw, person.name, person, names.slice(0, 2))];
    if (names.length > 2) sentences.push(stateFacts(draw, subjectPronoun(person), person, names.slice(2)));
    const wordings = new Map(sentences.flatMap((sentence, i) => sentence.wording.map((phrase, j) => [names[2 * i + j], phrase] as const)));
    if (draw.chance(0.5)) {
      const about = draw.pick(ATTRIBUTE_NAMES);
      sentences.push(stateFacts(draw, `${capitalise(PRONOUNS[person.gender].possessive)} neighbour ${neighbour.name}`, neighbour, [about]));
    }
    const target = draw.pick(names);
    // Half the hypotheses keep the premise's wording, so some pairs differ in nothing but the value.
    const wording = draw.chance(0.5) ? [wordings.get(target)!] : undefined;
    const hypothesis = label === 'entailment' ? stateFacts(draw, person.name, person, [target], {wording}) : unsupported(draw, person, target, names, wording);
    return {premise: joinSentences(sentences).text, hypothesis: hypothesis.text, label, idx};
  });
}

/** A hypothesis the premise does not entail: a changed value, a denied fact, or an unmentioned one. */
function unsupported(draw: Draw, person: Person, target: Attribute, mentioned: readonly Attribute[], wording?: string[]): Rendered {
  const kind = draw.weighted([['changed', 5], ['denied', 3], ['unmentioned', 2]] as const);
  if (kind === 'denied') return stateFacts(draw, person.name, person, [target], {negate: true});
  const unmentioned = ATTRIBUTE_NAMES.filter((name) => !mentioned.includes(name));
  if (kind === 'unmentioned') return stateFacts(draw, person.name, person, [draw.pick(unmentioned)]);
  return stateFacts(draw, person.name, person, [target], {values: [otherValue(draw, target, person)], wording});
}

const VERIDICAL_FRAMES = ['{X} knows that', '{X} found out that', 'It is clear to {X} that', '{X} was glad to learn that', '{X} has no doubt that', '{X} noticed that'];

export function makeCb(world: World, draw: Draw, count: number): JsonRecord[] {
  const labels = draw.balanced(count, ['entailment', 'contradiction', 'neutral'], [0.45, 0.42, 0.13]);
  return labels.map((label, idx) => {
    const [person, speaker] = distinctPeople(draw, world, 2, []);
    const [fact, unmentioned] = draw.sample(ATTRIBUTE_NAMES, 2);
    // A denied fact uses a value the person does not have, so the premise stays true of the world.
    const negated = draw.chance(0.3);
    const value = negated ? otherValue(draw, fact, person) : attribute(fact).value(person);
    const reported = stateFacts(draw, person.name, person, [fact], {values: [value], negate: negated});
    const frame = fill(draw.pick(VERIDICAL_FRAMES), {X: speaker.first}).text;
    const lead = draw.chance(0.4) ? `${speaker.first} and ${person.first} met in ${speaker.town.name} on ${draw.pick(WEEKDAYS)}. ` : '';
    const premise = `${lead}${capitalise(frame)} ${reported.text}`;
    const hypothesis = label === 'neutral'
      ? stateFacts(draw, person.name, person, [unmentioned])
      : stateFacts(draw, person.name, person, [fact], {values: [value], negate: negated === (label === 'entailment')});
    return {premise, hypothesis: hypothesis.text, label, idx};
  });
}

/**
 * A short biography: the name with two facts, then pronoun sentences, then where the town lies.
 * Returns the text and the predicate each attribute was stated with.
 */
function biography(draw: Draw, person: Person, names: readonly Attribute[]): {text: string; wordings: Map<Attribute, string>} {
  const wordings = new Map<Attribute, string>();
  const sentences: Rendered[] = [];
  for (let i = 0; i < names.length; i += 2) {
    const sentence = stateFacts(draw, i === 0 ? person.name : subjectPronoun(person), person, names.slice(i, i + 2));
    sentence.wording.forEach((phrase, j) => wordings.set(names[i + j], phrase));
    sentences.push(sentence);
  }
  if (names.includes('town')) sentences.push(fill('{T} lies on the {R} in {C}.', {T: person.town.name, R: person.town.river, C: person.town.country.name}));
  return {text: joinSentences(sentences).text, wordings};
}

export function makeBoolQ(world: World, draw: Draw, count: number): JsonRecord[] {
  return draw.balanced(count, [true, false]).map((label, idx) => {
    const person = draw.pick(world.people);
    const names = draw.sample(ATTRIBUTE_NAMES, draw.int(2, 4));
    const passage = biography(draw, person, names);
    const asked = draw.pick(names);
    const value = label ? attribute(asked).value(person) : otherValue(draw, asked, person);
    // Half the questions echo the passage's wording, so only the value tells true from false.
    const question = draw.chance(0.5)
      ? `is it true that ${stateFacts(draw, person.name, person, [asked], {values: [value], wording: [passage.wordings.get(asked)!]}).text.slice(0, -1)}`
      : fill(draw.pick(attribute(asked).yesNo), {S: person.name, V: value}).text;
    return {question: question.toLowerCase(), passage: passage.text, idx, label};
  });
}

interface Counters {
  question: number;
  answer: number;
}

export function makeMultiRc(world: World, draw: Draw, count: number): JsonRecord[] {
  // Question and answer idx run through the whole file, as in the release.
  const counters: Counters = {question: 0, answer: 0};
  return Array.from({length: count}, (_, idx) => {
    const people = distinctPeople(draw, world, draw.int(2, 3), []);
    const mentioned = people.map(() => draw.sample(ATTRIBUTE_NAMES, 3));
    const sentences: Rendered[] = [];
    people.forEach((person, i) => {
      sentences.push(stateFacts(draw, person.name, person, mentioned[i].slice(0, 2)));
      sentences.push(stateFacts(draw, subjectPronoun(person), person, mentioned[i].slice(2)));
    });
    const asked = draw.sample(people.flatMap((person, i) => mentioned[i].map((name) => ({person, name}))), draw.int(3, 5));
    const questions = asked.map(({person, name}) => multiRcQuestion(draw, person, name, people, mentioned, counters));
    return {idx, version: 1.1, passage: {text: joinSentences(sentences).text, questions}};
  });
}

function multiRcQuestion(draw: Draw, person: Person, name: Attribute, people: Person[], mentioned: Attribute[][], counters: Counters): JsonRecord {
  const spec = attribute(name);
  const truth = spec.value(person);
  // Naming the person by a trade only they have in the passage makes the question span two sentences.
  const i = people.indexOf(person);
  const tradeUnique = mentioned[i].includes('trade') && people.filter((p) => p.trade === person.trade).length === 1;
  const subject = name !== 'trade' && tradeUnique && draw.chance(0.4) ? `the ${person.trade.name}` : person.name;
  const pronoun = subjectPronoun(person);
  const options: [string, 0 | 1][] = [[truth, 1]];
  if (draw.chance(0.5)) options.push([stateFacts(draw, pronoun, person, [name]).text.slice(0, -1), 1]);
  const others = people.filter((p) => p !== person && spec.value(p) !== truth).map((p) => spec.value(p));
  const wrong = new Set(others.slice(0, 1));
  while (wrong.size < 2) wrong.add(otherValue(draw, name, person));
  for (const value of wrong) options.push([value, 0]);
  if (draw.chance(0.5)) options.push([stateFacts(draw, pronoun, person, [name], {values: [otherValue(draw, name, person)]}).text.slice(0, -1), 0]);
  const answers = draw.shuffle(options).map(([text, label]) => ({text, idx: counters.answer++, label}));
  return {question: fill(draw.pick(spec.questions), {S: subject}).text, answers, idx: counters.question++};
}

const RECORD_QUERY_ATTRIBUTES: readonly Attribute[] = ['town', 'org', 'trade', 'pet'];

export function makeRecord(world: World, draw: Draw, count: number): JsonRecord[] {
  let queryIdx = 0;
  return Array.from({length: count}, (_, idx) => {
    const people = distinctPeople(draw, world, draw.int(2, 3), RECORD_QUERY_ATTRIBUTES);
    const [lead, second] = people;
    const event = draw.pick(EVENTS);
    const paper = draw.pick(NEWSPAPERS);
    const stated = people.map(() => draw.sample(RECORD_QUERY_ATTRIBUTES, 2));
    const body = [
      `${lead.town.name} (${paper}) -- ${lead.name} won the ${event} on ${draw.pick(WEEKDAYS)}.`,
      ...people.map((person, i) => stateFacts(draw, i === 0 ? subjectPronoun(person) : person.name, person, stated[i]).text),
      `${second.name} said the prize money would go to ${lead.org}.`,
    ];
    const highlights = [`${lead.name} wins the ${event}`, `${second.name} praises the winner from ${lead.town.name}`];
    const text = [body.join(' '), ...highlights].join('\n@highlight\n');
    const names = [...people.map((p) => p.name), ...people.map((p) => p.town.name), ...people.map((p) => p.org), event, paper];
    const entities = findEntities(text, names);
    const qas = Array.from({length: draw.int(1, 2)}, () => {
      const i = draw.int(0, people.length - 1);
      const fact = draw.pick(stated[i]);
      const {query, answer} = recordQuery(draw, people[i], fact);
      const answers = entities.filter((e) => text.slice(e.start, e.end + 1) === answer).map((e) => ({...e, text: answer}));
      return {query, answers, idx: queryIdx++};
    });
    return {source: paper, passage: {text, entities}, qas, idx};
  });
}

/** The query hides either the person (behind a fact only they have) or a named value of theirs. */
function recordQuery(draw: Draw, person: Person, fact: Attribute): {query: string; answer: string} {
  const spec = attribute(fact);
  if (spec.named && draw.chance(0.5)) {
    const stated = stateFacts(draw, person.name, person, [fact], {values: ['@placeholder']});
    return {query: stated.text, answer: spec.value(person)};
  }
  return {query: stateFacts(draw, '@placeholder', person, [fact]).text, answer: person.name};
}

/** Every occurrence of the names as `{start, end}` with an inclusive end, longest names first. */
function findEntities(text: string, names: readonly string[]): {start: number; end: number}[] {
  const taken = new Array<boolean>(text.length).fill(false);
  const found: {start: number; end: number}[] = [];
  for (const name of [...new Set(names)].sort((a, b) => b.length - a.length)) {
    for (let at = text.indexOf(name); at >= 0; at = text.indexOf(name, at + 1)) {
      const end = at + name.length;
      if (/\w/.test(text[at - 1] ?? '') || /\w/.test(text[end] ?? '') || taken.slice(at, end).some(Boolean)) continue;
      taken.fill(true, at, end);
      found.push({start: at, end: end - 1});
    }
  }
  return found.sort((a, b) => a.start - b.start);
}
