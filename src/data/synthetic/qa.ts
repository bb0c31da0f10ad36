/**
 * Synthetic extractive QA in the SQuAD layouts: `qa/squad/{train,dev}.json` (v1.1) and
 * `qa/squad_v2/{train,dev}.json` (v2.0: `is_impossible` on every question, empty answers and, where
 * the paragraph offers one, `plausible_answers` for the unanswerable ones).
 *
 * Each article is one person of the world; each paragraph states some of their facts, sometimes one
 * of a friend's. An answer is the span holding the asked value. Unanswerable questions ask about a
 * fact the paragraph leaves out, or about someone the paragraph never mentions. Train and dev
 * articles are about different people. Dev questions carry several reference answers, as the real
 * dev sets do. Offsets are string indices, equal to code points as the world's text is ASCII.
 * Reference: Rajpurkar et al. 2016 (SQuAD 1.1) and 2018 (SQuAD 2.0), the released JSON files.
 */

import type {Draw} from './draw.js';
import {scaled, type SyntheticFile} from './files.js';
import {ATTRIBUTE_NAMES, PRONOUNS, attribute, capitalise, fill, joinSentences, stateFacts, type Attribute, type Person, type Rendered, type World} from './world.js';

interface Answer {
  text: string;
  answer_start: number;
}

/** One question as the files write it; v2.0 adds is_impossible and, for some, plausible_answers. */
interface SquadQa {
  question: string;
  id: string;
  answers: Answer[];
  is_impossible?: boolean;
  plausible_answers?: Answer[];
}

/** A question the paragraph answers, by its value span. */
interface Fact {
  subject: Person;
  question: string;
  answer: Answer;
  /** The attribute asked, for plausible answers to unanswerable questions. */
  about: Attribute | 'place';
}

interface Paragraph {
  context: string;
  facts: Fact[];
  /** The article person's attributes this paragraph does not state. */
  unstated: Attribute[];
  people: Person[];
}

const ARTICLES = {train: 48, dev: 24};

export function qaFiles(world: World, draw: Draw, scale: number): SyntheticFile[] {
  const cut = Math.round((world.people.length * 2) / 3);
  const pools = {train: world.people.slice(0, cut), dev: world.people.slice(cut)};
  const files: SyntheticFile[] = [];
  for (const version of ['1.1', '2.0'] as const) {
    for (const split of ['train', 'dev'] as const) {
      const path = `qa/${version === '1.1' ? 'squad' : 'squad_v2'}/${split}.json`;
      const fileDraw = draw.fork(path);
      const pool = pools[split];
      const data = Array.from({length: scaled(ARTICLES[split], scale)}, (_, i) => {
        const person = pool[i % pool.length];
        const round = Math.floor(i / pool.length);
        const title = `${person.name.replace(/ /g, '_')}${round > 0 ? `_(${round + 1})` : ''}`;
        return {title, paragraphs: paragraphTopics(fileDraw).map((names) => squadParagraph(fileDraw, world, person, names, version, split))};
      });
      const content = JSON.stringify({version: version === '1.1' ? '1.1' : 'v2.0', data});
      const texts = data.flatMap((article) => article.paragraphs.flatMap((p) => [p.context, ...p.qas.map((qa) => qa.question)]));
      files.push({path, content, texts});
    }
  }
  return files;
}

/** Every attribute once, in groups of two or three: what each paragraph of an article is about. */
function paragraphTopics(draw: Draw): Attribute[][] {
  const groups: Attribute[][] = [];
  for (const name of draw.shuffle(ATTRIBUTE_NAMES)) {
    const last = groups.at(-1);
    if (last === undefined || last.length === 3 || (last.length === 2 && draw.chance(0.5))) groups.push([name]);
    else last.push(name);
  }
  return groups;
}

function squadParagraph(draw: Draw, world: World, person: Person, names: Attribute[], version: '1.1' | '2.0', split: 'train' | 'dev'): {context: string; qas: SquadQa[]} {
  const paragraph = writeParagraph(draw, world, person, names);
  const answerable = draw.sample(paragraph.facts, Math.min(paragraph.facts.length, draw.int(2, 4)));
  const qas: SquadQa[] = answerable.map((fact) => {
    const answers = split === 'dev' ? devAnswers(draw, paragraph.context, fact.answer) : [fact.answer];
    return {question: fact.question, id: draw.hex(24), answers, ...(version === '2.0' ? {is_impossible: false} : {})};
  });
  if (version === '2.0') {
    for (let k = draw.int(1, 2); k > 0; k--) qas.push({...unanswerable(draw, world, paragraph), id: draw.hex(24)});
  }
  return {context: paragraph.context, qas: draw.shuffle(qas)};
}

function writeParagraph(draw: Draw, world: World, person: Person, names: Attribute[]): Paragraph {
  const pronoun = capitalise(PRONOUNS[person.gender].subject);
  const sentences: {rendered: Rendered; subject: Person; names: Attribute[]}[] = [
    {rendered: stateFacts(draw, person.name, person, names.slice(0, 2)), subject: person, names: names.slice(0, 2)},
  ];
  if (names.length > 2) sentences.push({rendered: stateFacts(draw, pronoun, person, names.slice(2)), subject: person, names: names.slice(2)});
  const people = [person];
  if (draw.chance(0.5)) {
    const friend = draw.pickOther(world.people, person);
    const about = [draw.pick(names)];
    const subject = `${capitalise(PRONOUNS[person.gender].possessive)} friend ${friend.name}`;
    sentences.push({rendered: stateFacts(draw, subject, friend, about), subject: friend, names: about});
    people.push(friend);
  }
  const place = fill('{T} lies on the {R} in {C}.', {T: person.town.name, R: person.town.river, C: person.town.country.name});
  const withPlace = names.includes('town') && draw.chance(0.6);
  const joined = joinSentences([...sentences.map((s) => s.rendered), ...(withPlace ? [place] : [])]);
  const facts: Fact[] = sentences.flatMap((sentence, i) => sentence.names.map((name, j) => {
    const span = joined.spans[i][`V${j}`];
    return {
      subject: sentence.subject,
      question: fill(draw.pick(attribute(name).questions), {S: sentence.subject.name}).text,
      answer: {text: joined.text.slice(span.start, span.end), answer_start: span.start},
      about: name,
    };
  }));
  if (withPlace) {
    const spans = joined.spans[sentences.length];
    const town = person.town.name;
    facts.push(
      {subject: person, question: `Which river runs through ${town}?`, answer: {text: person.town.river, answer_start: spans.R.start}, about: 'place'},
      {subject: person, question: `In which country is ${town}?`, answer: {text: person.town.country.name, answer_start: spans.C.start}, about: 'place'},
    );
  }
  return {context: joined.text, facts, unstated: ATTRIBUTE_NAMES.filter((name) => !names.includes(name)), people};
}

/** Dev references: the span twice (annotators agree) and, after an article, once with the article. */
function devAnswers(draw: Draw, context: string, answer: Answer): Answer[] {
  const before = context.slice(0, answer.answer_start);
  const article = /\b(an?|the) $/.exec(before);
  const wider = article === null ? answer : {text: article[0] + answer.text, answer_start: answer.answer_start - article[0].length};
  return draw.chance(0.5) ? [answer, answer, wider] : [answer, wider];
}

/** A question the paragraph cannot answer, with a same-kind span as its plausible answer if there is one. */
function unanswerable(draw: Draw, world: World, paragraph: Paragraph): Omit<SquadQa, 'id'> {
  const [person] = paragraph.people;
  const personal = paragraph.facts.filter((fact): fact is Fact & {about: Attribute} => fact.about !== 'place');
  const aboutStranger = personal.length > 0 && draw.chance(0.5);
  let question: string;
  let plausible: Answer[];
  if (aboutStranger) {
    const fact = draw.pick(personal);
    const stranger = draw.pick(world.people.filter((p) => !paragraph.people.includes(p)));
    question = fill(draw.pick(attribute(fact.about).questions), {S: stranger.name}).text;
    plausible = [fact.answer];
  } else {
    const name = draw.pick(paragraph.unstated);
    question = fill(draw.pick(attribute(name).questions), {S: person.name}).text;
    plausible = paragraph.facts.filter((fact) => fact.about === name).map((fact) => fact.answer).slice(0, 1);
  }
  return {question, answers: [], is_impossible: true, ...(plausible.length > 0 ? {plausible_answers: plausible} : {})};
}
