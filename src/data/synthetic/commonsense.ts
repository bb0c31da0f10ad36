/**
 * Hand-written knowledge for the synthetic COPA, WiC and WSC: cause/effect pairs, words with two
 * senses, and two-person schemas whose pronoun the verb resolves. Placeholders: {N} a first name,
 * {pos} that person's possessive pronoun, {T} a town, {R} a river, {A}/{B} the two people of a schema
 * and {p} the pronoun.
 */

/** A cause and the effect it has, each a sentence. */
export const CAUSES_AND_EFFECTS: readonly (readonly [cause: string, effect: string])[] = [
  ['{N} left the kitchen window open all night.', 'The kitchen was cold in the morning.'],
  ['{N} forgot to water the garden for a week.', 'The beans in the garden dried out.'],
  ['{N} missed the early ferry.', '{N} arrived late at the market.'],
  ['{N} dropped a glass jug on the stone floor.', 'The jug shattered.'],
  ['{N} ate a large bowl of stew.', '{N} was no longer hungry.'],
  ['{N} stayed up until dawn reading.', '{N} was tired the next day.'],
  ['A storm blew across {T}.', 'Branches lay all over the streets of {T}.'],
  ['{N} lost the key to the shed.', '{N} could not open the shed.'],
  ['The river flooded the lower fields.', 'The farmers moved their sheep uphill.'],
  ['{N} practised the violin every evening.', '{N} played well at the concert.'],
  ['The tyre of the bicycle of {N} went flat.', '{N} walked to work.'],
  ['The bakery ran out of flour.', 'The bakery closed early.'],
  ['{N} told a funny story at dinner.', 'Everyone at the table laughed.'],
  ['{N} touched the hot stove.', '{N} burned a finger.'],
  ['The lamp oil ran out.', 'The room went dark.'],
  ['{N} sowed seeds in the spring.', 'Flowers grew in the summer.'],
  ['{N} won the rowing race.', '{N} received a silver cup.'],
  ['{N} spilled ink on the letter.', '{N} wrote the letter again.'],
  ['The ferry engine broke down.', 'The passengers waited on the pier.'],
  ['{N} forgot {pos} umbrella at home.', '{N} got soaked in the rain.'],
  ['{N} saved money for a whole year.', '{N} bought a new boat.'],
  ['The goat escaped through a gap in the fence.', '{N} searched the hills for the goat.'],
  ['{N} caught a cold.', '{N} stayed in bed all day.'],
  ['The milk was left out in the sun.', 'The milk turned sour.'],
  ['{N} moved to {T}.', '{N} had to find a new doctor.'],
  ['The bridge over the river collapsed.', 'The villagers crossed by boat.'],
  ['{N} sharpened the old axe.', '{N} split the logs easily.'],
  ['{N} found a wallet in the street.', '{N} took the wallet to the constable.'],
  ['A dog howled outside all night.', '{N} could not sleep.'],
  ['The well dried up in the summer heat.', 'The villagers carried water from the river.'],
  ['{N} wore new boots on a long walk.', '{N} got blisters on {pos} feet.'],
  ['The harvest was poor this year.', 'The price of bread rose.'],
  ['{N} studied the maps carefully.', '{N} found the way through the forest.'],
  ['The chimney was blocked with soot.', 'Smoke filled the living room.'],
  ['{N} trained hard all winter.', '{N} finished the mountain race first.'],
  ['The baby woke up crying.', '{N} rocked the cradle gently.'],
];

/** A word and, per sense, sentences that use the word in that sense exactly once. */
export interface TwoSenses {
  word: string;
  senses: readonly [readonly string[], readonly string[]];
}

export const WORD_SENSES: readonly TwoSenses[] = [
  {word: 'bank', senses: [
    ['{N} sat on the bank and watched the boats on the {R}.', 'Reeds grow thick along the bank near {T}.', 'The children slid down the muddy bank into the water.'],
    ['{N} borrowed money from the bank to buy a boat.', 'The bank in {T} opens at nine.', '{N} keeps {pos} savings in the bank.'],
  ]},
  {word: 'bark', senses: [
    ['{N} peeled the bark from a fallen birch.', 'Moss covered the bark of the old oak.', 'The bark of this tree is rough and grey.'],
    ['The dog gave a sharp bark at the stranger.', '{N} heard a bark from the yard next door.', 'A single bark woke the whole house in {T}.'],
  ]},
  {word: 'bat', senses: [
    ['A bat flew out of the barn at dusk.', '{N} saw a bat hanging from the roof of the cave.', 'The bat hunts moths at night.'],
    ['{N} swung the bat and hit the ball over the wall.', 'The cricket bat was made of willow.', '{N} bought a new bat for the summer matches.'],
  ]},
  {word: 'letter', senses: [
    ['{N} wrote a long letter to a friend in {T}.', 'The letter arrived a week late.', '{N} sealed the letter and took it to the post office.'],
    ['The word ends with a silent letter.', '{N} taught the children every letter of the alphabet.', 'Write each letter clearly inside its box.'],
  ]},
  {word: 'match', senses: [
    ['{N} struck a match to light the stove.', 'The match burned down to the fingers of {N}.', 'Keep a match and a candle by the door.'],
    ['{N} won the chess match in {T}.', 'The football match ended in a draw.', 'Crowds came to watch the match on Saturday.'],
  ]},
  {word: 'spring', senses: [
    ['The orchards in {T} blossom every spring.', '{N} plants beans in the spring.', 'Last spring was wet and cold.'],
    ['{N} filled a jug at the spring in the hills.', 'The spring behind the farm never runs dry.', 'Cold water bubbles from a spring near {T}.'],
  ]},
  {word: 'pitch', senses: [
    ['The players ran onto the pitch.', 'Rain turned the pitch in {T} into mud.', '{N} marked the lines on the pitch with chalk.'],
    ['{N} sang the note at the right pitch.', 'The pitch of the whistle was very high.', 'The tuner checked the pitch of every string.'],
  ]},
  {word: 'seal', senses: [
    ['A seal rested on the rocks near {T}.', '{N} watched a seal catch a fish.', 'The grey seal swam under the boat.'],
    ['The seal on the jar was broken.', '{N} pressed the wax seal onto the envelope.', 'The council seal appears on every permit.'],
  ]},
  {word: 'ring', senses: [
    ['{N} wore a silver ring on {pos} left hand.', 'The ring was too small for the finger of {N}.', '{N} lost a gold ring in the garden.'],
    ['The boxers stepped into the ring.', 'The horses trotted around the ring at the fair.', '{N} watched the wrestlers from the edge of the ring.'],
  ]},
  {word: 'trunk', senses: [
    ['{N} leaned against the trunk of the elm.', 'The trunk of the old oak was hollow.', 'Ivy climbed up the trunk toward the branches.'],
    ['{N} packed {pos} clothes in a wooden trunk.', 'The trunk was too heavy to lift onto the cart.', 'Old papers were stored in a trunk in the attic.'],
  ]},
  {word: 'scale', senses: [
    ['{N} scraped every scale off the trout.', 'A shiny scale stuck to the knife.', 'Each scale on the fish caught the light.'],
    ['{N} weighed the flour on the kitchen scale.', 'The scale at the market in {T} was not accurate.', 'Put the parcel on the scale before posting it.'],
  ]},
  {word: 'plant', senses: [
    ['{N} watered the plant on the windowsill.', 'This plant needs plenty of sun.', 'A climbing plant covered the wall of the cottage.'],
    ['The power plant near {T} employs many workers.', '{N} got a job at the steel plant.', 'The plant closed after the river flooded it.'],
  ]},
  {word: 'key', senses: [
    ['{N} turned the key and opened the door.', 'The key to the barn hangs on a nail.', '{N} lost the key to {pos} bicycle lock.'],
    ['The song is written in a major key.', '{N} played the tune in a minor key.', 'The choir changed key in the last verse.'],
  ]},
  {word: 'crane', senses: [
    ['A crane waded through the marsh near {T}.', '{N} photographed a crane standing on one leg.', 'The crane spread its wings and flew off.'],
    ['The crane lifted the crates onto the ship.', '{N} operates the crane at the harbour.', 'A tall crane stood beside the new hall in {T}.'],
  ]},
  {word: 'current', senses: [
    ['The current pulled the boat downstream.', '{N} swam against the strong current of the {R}.', 'The current is gentle near the mill.'],
    ['The electric current flows through the copper wire.', '{N} switched off the current before fixing the lamp.', 'A weak current lit the small bulb.'],
  ]},
  {word: 'pen', senses: [
    ['{N} signed the form with a blue pen.', 'The pen ran out of ink.', '{N} keeps a pen in {pos} coat pocket.'],
    ['The sheep were kept in a pen behind the barn.', '{N} built a pen for the goats.', 'The pigs escaped from their pen.'],
  ]},
  {word: 'bill', senses: [
    ['The duck dipped its bill into the pond.', 'The heron has a long sharp bill.', 'The bird cracked the seed with its bill.'],
    ['{N} paid the bill at the inn.', 'The bill for the repairs was high.', '{N} asked the waiter for the bill.'],
  ]},
  {word: 'note', senses: [
    ['{N} held the last note for a long time.', 'The flute played a high note.', 'Every note of the song rang clear.'],
    ['{N} left a note on the kitchen table.', 'The note said the shop would open late.', '{N} wrote a short note to the teacher.'],
  ]},
];

/**
 * `{A} thanked {B} because {p} …`: the pronoun refers to A or B by what the verb implies. A, B and
 * p stand alone between spaces so their word indices are easy to count.
 */
export const PRONOUN_SCHEMAS: readonly {text: string; referent: 'A' | 'B'}[] = [
  {text: '{A} thanked {B} because {p} had repaired the fence.', referent: 'B'},
  {text: '{A} thanked {B} because {p} was grateful for the help.', referent: 'A'},
  {text: '{A} called {B} because {p} needed advice about a goat.', referent: 'A'},
  {text: '{A} called {B} because {p} knew a lot about goats.', referent: 'B'},
  {text: '{A} could not lift the crate for {B} because {p} was too weak.', referent: 'A'},
  {text: '{A} could not lift the crate for {B} because {p} had hurt a hand.', referent: 'A'},
  {text: '{A} paid {B} because {p} had painted the barn.', referent: 'B'},
  {text: '{A} paid {B} because {p} owed money from the fair.', referent: 'A'},
  {text: '{A} lent {B} a bicycle because {p} had none.', referent: 'B'},
  {text: '{A} lent {B} a bicycle because {p} had two.', referent: 'A'},
  {text: '{A} beat {B} at chess because {p} played carefully.', referent: 'A'},
  {text: '{A} beat {B} at chess because {p} was tired.', referent: 'B'},
  {text: '{A} asked {B} for directions because {p} was lost in {T}.', referent: 'A'},
  {text: '{A} asked {B} for directions because {p} had lived in {T} for years.', referent: 'B'},
  {text: '{A} waited for {B} because {p} was late.', referent: 'B'},
  {text: '{A} waited for {B} because {p} was early.', referent: 'A'},
  {text: '{A} congratulated {B} because {p} had won the race.', referent: 'B'},
  {text: '{A} comforted {B} because {p} was sad.', referent: 'B'},
  {text: '{A} apologised to {B} because {p} had broken the jug.', referent: 'A'},
  {text: '{A} visited {B} in the clinic because {p} was worried.', referent: 'A'},
];
