/**
 * Synthetic SuperGLUE tasks answered by world knowledge rather than stated facts: COPA, WiC, WSC,
 * drawn from the hand-written tables of commonsense.ts and peopled from the world. Records come out
 * in the release's field layout, labelled.
 *
 * The labelling rules a model can learn:
 * - COPA: the right alternative is the other half of the premise's cause/effect pair; the wrong
 *   one belongs to another pair.
 * - WiC: true when both sentences come from the same sense's list.
 * - WSC: true when span1 is the person the schema's verb makes the pronoun refer to; in half the
 *   examples the two people also differ in gender, so the pronoun alone decides.
 */

import type {Draw} from './draw.js';
import {CAUSES_AND_EFFECTS, PRONOUN_SCHEMAS, WORD_SENSES} from './commonsense.js';
import type {JsonRecord} from './superglue-facts.js';
import {PRONOUNS, fill, type Person, type World} from './world.js';

function personVars(person: Person): Record<string, string> {
  return {N: person.first, pos: PRONOUNS[person.gender].possessive, T: person.town.name, R: person.town.river};
}

export function makeCopa(world: World, draw: Draw, count: number): JsonRecord[] {
  const questions = draw.balanced(count, ['cause', 'effect'] as const);
  const labels = draw.balanced(count, [0, 1]);
  return questions.map((question, idx) => {
    const vars = personVars(draw.pick(world.people));
    const pair = draw.pick(CAUSES_AND_EFFECTS);
    const decoy = draw.pickOther(CAUSES_AND_EFFECTS, pair);
    // The premise is the known half; the choices are the asked half of the true pair and of a decoy.
    const [known, asked] = question === 'effect' ? [0, 1] : [1, 0];
    const right = fill(pair[asked], vars).text;
    const wrong = fill(decoy[asked], vars).text;
    const label = labels[idx];
    const [choice1, choice2] = label === 0 ? [right, wrong] : [wrong, right];
    return {premise: fill(pair[known], vars).text, choice1, choice2, question, idx, label};
  });
}

export function makeWic(world: World, draw: Draw, count: number): JsonRecord[] {
  return draw.balanced(count, [true, false]).map((label, idx) => {
    const {word, senses} = draw.pick(WORD_SENSES);
    const first = draw.int(0, 1);
    const [template1, template2] = label
      ? draw.sample(senses[first], 2)
      : [draw.pick(senses[first]), draw.pick(senses[1 - first])];
    const [sentence1, sentence2] = [template1, template2].map((t) => fill(t, personVars(draw.pick(world.people))).text);
    const [start1, start2] = [sentence1, sentence2].map((sentence) => onlyOccurrence(sentence, word));
    return {word, sentence1, sentence2, idx, label, start1, start2, end1: start1 + word.length, end2: start2 + word.length, version: 1.1};
  });
}

function onlyOccurrence(sentence: string, word: string): number {
  const hits = [...sentence.matchAll(new RegExp(`\\b${word}\\b`, 'g'))];
  if (hits.length !== 1) throw new Error(`"${word}" occurs ${hits.length} times in "${sentence}"`);
  return hits[0].index;
}

export function makeWsc(world: World, draw: Draw, count: number): JsonRecord[] {
  const genderCues = draw.balanced(count, [true, false]);
  return draw.balanced(count, [true, false]).map((label, idx) => {
    const schema = draw.pick(PRONOUN_SCHEMAS);
    const a = draw.pick(world.people);
    const b = draw.pick(world.people.filter((p) => p.first !== a.first && (p.gender !== a.gender) === genderCues[idx]));
    const referent = schema.referent === 'A' ? a : b;
    const candidate = label ? referent : referent === a ? b : a;
    const pronoun = PRONOUNS[referent.gender].subject;
    const values: Record<string, string> = {'{A}': a.first, '{B}': b.first, '{p}': pronoun};
    const words: string[] = [];
    const at: Record<string, number> = {};
    for (const token of schema.text.split(' ')) {
      if (token in values) at[token] = words.length;
      words.push(...fill(values[token] ?? token, {T: a.town.name}).text.split(' '));
    }
    const span1 = candidate === a ? '{A}' : '{B}';
    return {
      text: words.join(' '),
      target: {span2_index: at['{p}'], span1_index: at[span1], span1_text: candidate.first, span2_text: pronoun},
      idx,
      label,
    };
  });
}
