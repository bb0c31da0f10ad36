/**
 * Synthetic data for custom tasks, the ones users define by family from their own files: one file
 * set per family, each in a plain format such files come in, test splits without labels.
 * - `custom/reviews/*.csv`: single-text classification, `review_id,review,rating`. The rating
 *   follows from fixed words: only good words → good, only bad words → bad, both → mixed.
 * - `custom/claims/*.jsonl`: sentence pairs `{uid, claim, evidence, verdict}`. The evidence states
 *   facts of a person; the claim restates one (supported) or changes its value or denies it (refuted).
 * - `custom/parts/*.tsv`: tagging, `index<TAB>token<TAB>tag`, a blank line after each sentence,
 *   IOB2 tags of TOOL (the tools of a person's trade) and PLACE (towns, rivers, countries).
 * - `custom/faq/*.json`: extractive QA in SQuAD 2.0 layout about one person per context, one
 *   question in five unanswerable.
 * Ids run through all three splits of a data set, so no id occurs twice in it.
 * References: RFC 4180 (CSV; records end in `\n` here, as in the other data files); Tjong Kim Sang
 * & De Meulder 2003 (CoNLL columns, IOB2); Rajpurkar et al. 2018 (SQuAD 2.0).
 */

import type {Draw} from './draw.js';
import {scaled, type SyntheticFile} from './files.js';
import {WEEKDAYS} from './lexicon.js';
import {ATTRIBUTE_NAMES, PRONOUNS, article, attribute, capitalise, fill, joinSentences, otherValue, stateFacts, type Attribute, type Person, type Rendered, type World} from './world.js';

const SPLITS = [['train', 160], ['dev', 60], ['test', 40]] as const;

type Split = (typeof SPLITS)[number][0];

/** One data set's three split files: `make` gets each split's draw, size and first id number, in split order. */
function splitFiles(draw: Draw, scale: number, path: (split: Split) => string, make: (draw: Draw, split: Split, count: number, firstId: number) => {content: string; texts: string[]}): SyntheticFile[] {
  let firstId = 1;
  return SPLITS.map(([split, size]) => {
    const count = scaled(size, scale);
    const file = {path: path(split), ...make(draw.fork(path(split)), split, count, firstId)};
    firstId += count;
    return file;
  });
}

function numbered(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(4, '0')}`;
}

export function customFiles(world: World, draw: Draw, scale: number): SyntheticFile[] {
  const cut = Math.round((world.people.length * 2) / 3);
  return [
    ...splitFiles(draw, scale, (split) => `custom/reviews/${split}.csv`, (d, split, count, first) => reviewsFile(world, d, split, count, first)),
    ...splitFiles(draw, scale, (split) => `custom/claims/${split}.jsonl`, (d, split, count, first) => claimsFile(world, d, split, count, first)),
    ...splitFiles(draw, scale, (split) => `custom/parts/${split}.tsv`, (d, split, count) => partsFile(world, d, split, count)),
    // Train contexts and dev/test contexts are about different people, as in qa/squad_v2.
    ...splitFiles(draw, scale, (split) => `custom/faq/${split}.json`, (d, split, count, first) =>
      faqFile(world.people.slice(...(split === 'train' ? [0, cut] : [cut])), world, d, split, count, first)),
  ];
}

// ---- reviews.csv -------------------------------------------------------------------------------

export type Rating = 'good' | 'bad' | 'mixed';

/** The words a rating follows from; no other word of a review is good or bad. */
export const RATING_WORDS = {
  good: ['excellent', 'wonderful', 'superb', 'delightful', 'splendid', 'lovely'],
  bad: ['terrible', 'awful', 'dreadful', 'dismal', 'shoddy', 'poor'],
} as const;

/** What a review is about: an opening sentence, the thing as a subject, and parts it can praise or fault. */
interface Reviewed {
  intro: string;
  main: string;
  aspects: readonly string[];
}

const REVIEWED: readonly ((draw: Draw, person: Person) => Reviewed)[] = [
  (_, p) => ({
    intro: `${p.name} keeps ${article(p.pet)} ${p.pet} called "${p.petName}".`,
    main: `The ${p.pet}`,
    aspects: ['its temper', 'its singing', 'its coat', 'its appetite'],
  }),
  (draw, p) => ({
    intro: `${p.name}, the ${p.trade.name} from ${p.town.name}, ${p.trade.verb} ${draw.pick(p.trade.objects)} for us.`,
    main: 'The work',
    aspects: ['the price', 'the wait', 'the finish', 'the service'],
  }),
  (draw, p) => ({
    intro: `We spent ${draw.pick(WEEKDAYS)} in ${p.town.name} on the ${p.town.river}.`,
    main: 'The town',
    aspects: ['the market', 'the harbour', 'the inn', 'the weather'],
  }),
  (draw, p) => ({
    intro: `We hired ${p.org} on the advice of ${p.name}.`,
    main: p.org,
    aspects: ['the staff', 'the paperwork', 'the delivery', 'the service'],
  }),
];

function review(draw: Draw, world: World, rating: Rating): string {
  const [person, speaker] = draw.sample(world.people, 2);
  const thing = draw.pick(REVIEWED)(draw, person);
  const words = ratingWords(draw, rating);
  const aspect = draw.pick(thing.aspects);
  const verdict = words.length === 1
    ? `${thing.main} was ${words[0]}.`
    : `${thing.main} was ${words[0]}, ${rating === 'mixed' ? 'but' : 'and'} ${aspect} was ${words[1]}.`;
  // A quoted remark repeats a word already used, so it never changes the rating.
  const remark = draw.chance(0.35) ? ` ${speaker.first} called it "${draw.pick(words)}".` : '';
  return `${thing.intro} ${verdict}${remark}`;
}

/** One or two good words, one or two bad words, or one of each in either order. */
function ratingWords(draw: Draw, rating: Rating): string[] {
  if (rating === 'mixed') return draw.shuffle([draw.pick(RATING_WORDS.good), draw.pick(RATING_WORDS.bad)]);
  return draw.sample(RATING_WORDS[rating], draw.int(1, 2));
}

/** One CSV field, quoted as RFC 4180 requires when it holds a comma, a double quote or a line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function reviewsFile(world: World, draw: Draw, split: Split, count: number, firstId: number): {content: string; texts: string[]} {
  const rows = draw.balanced(count, ['good', 'bad', 'mixed'] as const).map((rating, i) => ({id: numbered('r', firstId + i), text: review(draw, world, rating), rating}));
  const labelled = split !== 'test';
  const lines = [labelled ? 'review_id,review,rating' : 'review_id,review', ...rows.map((row) => [row.id, row.text, ...(labelled ? [row.rating] : [])].map(csvField).join(','))];
  return {content: `${lines.join('\n')}\n`, texts: rows.map((row) => row.text)};
}

// ---- claims.jsonl ------------------------------------------------------------------------------

export type Verdict = 'supported' | 'refuted';

/** Evidence of one or two facts (and where the town lies); a claim about one of them. */
function claim(draw: Draw, world: World, verdict: Verdict): {claim: string; evidence: string} {
  const person = draw.pick(world.people);
  const names = draw.sample(ATTRIBUTE_NAMES, draw.int(1, 2));
  const sentences: Rendered[] = [stateFacts(draw, person.name, person, names)];
  if (names.includes('town') && draw.chance(0.5)) sentences.push(fill('{T} lies on the {R} in {C}.', {T: person.town.name, R: person.town.river, C: person.town.country.name}));
  const target = draw.pick(names);
  let stated: Rendered;
  if (verdict === 'supported') stated = stateFacts(draw, person.name, person, [target]);
  else if (draw.chance(0.6)) stated = stateFacts(draw, person.name, person, [target], {values: [otherValue(draw, target, person)]});
  else stated = stateFacts(draw, person.name, person, [target], {negate: true});
  return {claim: stated.text, evidence: joinSentences(sentences).text};
}

function claimsFile(world: World, draw: Draw, split: Split, count: number, firstId: number): {content: string; texts: string[]} {
  const records = draw.balanced(count, ['supported', 'refuted'] as const).map((verdict, i) => ({uid: numbered('c', firstId + i), ...claim(draw, world, verdict), verdict}));
  const lines = records.map(({verdict, ...rest}) => JSON.stringify(split === 'test' ? rest : {...rest, verdict}));
  return {content: `${lines.join('\n')}\n`, texts: records.flatMap((r) => [r.claim, r.evidence])};
}

// ---- parts.tsv ---------------------------------------------------------------------------------

/** The tools of each trade (by trade name), the first its main one: TOOL entities, many two words long. */
export const TOOLS: ReadonlyMap<string, readonly string[]> = new Map([
  ['baker', ['rolling pin', 'bread peel', 'dough scraper']],
  ['carpenter', ['claw hammer', 'hand plane', 'chisel']],
  ['nurse', ['stethoscope', 'thermometer', 'bandage scissors']],
  ['teacher', ['blackboard', 'pointer', 'school bell']],
  ['fisher', ['fishing rod', 'landing net', 'lobster pot']],
  ['potter', ['pottery wheel', 'wire cutter', 'kiln']],
  ['weaver', ['hand loom', 'shuttle', 'spindle']],
  ['miller', ['millstone', 'grain scoop', 'flour sieve']],
  ['gardener', ['spade', 'pruning shears', 'watering can']],
  ['painter', ['paintbrush', 'palette knife', 'easel']],
  ['tailor', ['sewing machine', 'tape measure', 'thimble']],
  ['mechanic', ['spanner', 'socket wrench', 'grease gun']],
  ['librarian', ['date stamp', 'card index', 'book trolley']],
  ['blacksmith', ['anvil', 'forge tongs', 'sledge hammer']],
  ['sailor', ['compass', 'boat hook', 'sea chart']],
]);

export type PartType = 'TOOL' | 'PLACE';

function toolsOf(person: Person): readonly string[] {
  const tools = TOOLS.get(person.trade.name);
  if (tools === undefined) throw new Error(`no tools for the trade ${person.trade.name}`);
  return tools;
}

/**
 * Slot fillers: words and their entity type (null: not an entity). `{TOOL}` is the person's main tool,
 * `{TOOLB}` another of theirs, so the two never coincide; `{X2}` takes the second person.
 */
type PartFiller = (draw: Draw, person: Person) => {words: string[]; type: PartType | null};

const PART_SLOTS: ReadonlyMap<string, PartFiller> = new Map<string, PartFiller>([
  ['PER', (_, p) => ({words: p.name.split(' '), type: null})],
  ['TRADE', (_, p) => ({words: [p.trade.name], type: null})],
  ['POSS', (_, p) => ({words: [PRONOUNS[p.gender].possessive], type: null})],
  ['DAY', (draw) => ({words: [draw.pick(WEEKDAYS)], type: null})],
  ['TOOL', (_, p) => ({words: toolsOf(p)[0].split(' '), type: 'TOOL'})],
  ['TOOLB', (draw, p) => ({words: draw.pick(toolsOf(p).slice(1)).split(' '), type: 'TOOL'})],
  ['TOWN', (_, p) => ({words: p.town.name.split(' '), type: 'PLACE'})],
  ['RIVER', (_, p) => ({words: p.town.river.split(' '), type: 'PLACE'})],
  ['COUNTRY', (_, p) => ({words: [p.town.country.name], type: 'PLACE'})],
]);

const PART_TEMPLATES = [
  '{PER} bought a new {TOOL} in {TOWN} .',
  'The {TRADE} from {TOWN} left {POSS} {TOOLB} by the {RIVER} .',
  '{PER} lent {POSS} {TOOL} to {PER2} of {TOWN2} .',
  'A {TOOL} went missing from a workshop in {TOWN} , {COUNTRY} .',
  '{PER} keeps a {TOOL} and a {TOOLB} in {POSS} shed .',
  'Every {TRADE} in {COUNTRY} needs a good {TOOLB} .',
  '{PER} mended the {TOOLB} before leaving {TOWN} for {TOWN2} .',
  'Nobody in {TOWN} sells a {TOOL} any more .',
  '{PER} walked along the {RIVER} on {DAY} .',
  '{PER2} borrowed a {TOOL} from {PER} and never returned it .',
  'The {TOOLB} that {PER} uses came from {TOWN2} .',
  '{PER} stayed at home on {DAY} .',
  'On {DAY} , {PER} sold {POSS} old {TOOL} at the market in {TOWN} .',
] as const;

interface TaggedWord {
  word: string;
  tag: string;
}

function partsSentence(draw: Draw, world: World): TaggedWord[] {
  const [first, second] = draw.sample(world.people, 2);
  const out: TaggedWord[] = [];
  for (const part of draw.pick(PART_TEMPLATES).split(' ')) {
    const slot = /^\{([A-Z]+?)(2?)\}$/.exec(part);
    if (slot === null) {
      out.push({word: part, tag: 'O'});
      continue;
    }
    const make = PART_SLOTS.get(slot[1]);
    if (make === undefined) throw new Error(`no parts slot ${slot[1]}`);
    const {words, type} = make(draw, slot[2] === '2' ? second : first);
    words.forEach((word, i) => out.push({word, tag: type === null ? 'O' : `${i === 0 ? 'B' : 'I'}-${type}`}));
  }
  // `a` before a vowel becomes `an`, once the tools are in place.
  out.forEach((token, i) => {
    if (token.word === 'a' && /^[aeiou]/.test(out[i + 1]?.word ?? '')) token.word = 'an';
  });
  return out;
}

function partsFile(world: World, draw: Draw, split: Split, count: number): {content: string; texts: string[]} {
  const sentences = Array.from({length: count}, () => partsSentence(draw, world));
  const row = (token: TaggedWord, i: number) => [String(i + 1), token.word, ...(split === 'test' ? [] : [token.tag])].join('\t');
  const content = sentences.map((tokens) => `${tokens.map(row).join('\n')}\n\n`).join('');
  return {content, texts: sentences.map((tokens) => tokens.map((t) => t.word).join(' '))};
}

// ---- faq.json ----------------------------------------------------------------------------------

interface FaqQa {
  id: string;
  question: string;
  answers: {text: string; answer_start: number}[];
  is_impossible: boolean;
}

/** A few sentences about one person stating `names`, and a question for each value they give. */
function faqContext(draw: Draw, person: Person, names: readonly Attribute[]): {context: string; facts: {question: string; text: string; start: number}[]} {
  const sentences: {rendered: Rendered; names: readonly Attribute[]}[] = [];
  for (let i = 0; i < names.length;) {
    const group = names.slice(i, i + draw.int(1, 2));
    const subject = i === 0 ? person.name : draw.chance(0.7) ? capitalise(PRONOUNS[person.gender].subject) : person.first;
    sentences.push({rendered: stateFacts(draw, subject, person, group), names: group});
    i += group.length;
  }
  const withPlace = names.includes('town') && draw.chance(0.5);
  if (withPlace) sentences.push({rendered: fill('{T} lies on the {R} in {C}.', {T: person.town.name, R: person.town.river, C: person.town.country.name}), names: []});
  const joined = joinSentences(sentences.map((s) => s.rendered));
  const facts = sentences.flatMap((sentence, i) => sentence.names.map((name, j) => {
    const span = joined.spans[i][`V${j}`];
    return {question: fill(draw.pick(attribute(name).questions), {S: person.name}).text, text: joined.text.slice(span.start, span.end), start: span.start};
  }));
  if (withPlace) {
    const spans = joined.spans[sentences.length - 1];
    const town = person.town.name;
    facts.push(
      {question: `Which river runs through ${town}?`, text: person.town.river, start: spans.R.start},
      {question: `In which country is ${town}?`, text: person.town.country.name, start: spans.C.start},
    );
  }
  return {context: joined.text, facts};
}

/**
 * Questions come in paragraphs of three to five; the file's answerable/unanswerable mix is fixed in
 * advance (four to one) so its share holds exactly. An unanswerable question asks for a fact the
 * context leaves out, or about someone it never mentions.
 */
function faqFile(pool: readonly Person[], world: World, draw: Draw, split: Split, count: number, firstId: number): {content: string; texts: string[]} {
  const impossible = draw.balanced(count, [false, true], [4, 1]);
  const data: {title: string; paragraphs: {context: string; qas: (FaqQa | Pick<FaqQa, 'id' | 'question'>)[]}[]}[] = [];
  const texts: string[] = [];
  let id = firstId;
  for (let at = 0; at < count;) {
    const flags = impossible.slice(at, at + draw.int(3, 5));
    at += flags.length;
    const person = pool[data.length % pool.length];
    const answerable = flags.filter((flag) => !flag).length;
    const names = draw.sample(ATTRIBUTE_NAMES, Math.max(answerable, draw.int(2, 4)));
    const {context, facts} = faqContext(draw, person, names);
    const asked = draw.sample(facts, answerable);
    const unstated = draw.shuffle(ATTRIBUTE_NAMES.filter((name) => !names.includes(name)));
    const strangers = draw.shuffle(world.people.filter((p) => p !== person));
    const qas = flags.map((flag): FaqQa => {
      const qaId = numbered('faq', id++);
      if (!flag) {
        const fact = asked.pop()!;
        return {id: qaId, question: fact.question, answers: [{text: fact.text, answer_start: fact.start}], is_impossible: false};
      }
      const question = unstated.length === 0 || draw.chance(0.3)
        ? fill(draw.pick(attribute(draw.pick(names)).questions), {S: strangers.pop()!.name}).text
        : fill(draw.pick(attribute(unstated.pop()!).questions), {S: person.name}).text;
      return {id: qaId, question, answers: [], is_impossible: true};
    });
    const round = Math.floor(data.length / pool.length);
    const title = `${person.name.replace(/ /g, '_')}${round > 0 ? `_(${round + 1})` : ''}`;
    texts.push(context, ...qas.map((qa) => qa.question));
    data.push({title, paragraphs: [{context, qas: split === 'test' ? qas.map(({id: qaId, question}) => ({id: qaId, question})) : qas}]});
  }
  return {content: JSON.stringify({version: 'v2.0', data}), texts};
}
