/**
 * The invented names and word lists the synthetic world is built from. Every name here is made up
 * for ptv2 (people, towns, countries, rivers, organisations, events); the common nouns are plain
 * English. Changing any list changes every generated data set.
 */

export const FEMALE_NAMES = [
  'Mara', 'Lise', 'Orla', 'Wren', 'Ilsa', 'Nessa', 'Tova', 'Edda', 'Sabel', 'Yara', 'Corra', 'Fenna',
  'Maren', 'Brisa', 'Della', 'Junie', 'Kestra', 'Odile', 'Perra', 'Runa', 'Solveig', 'Talia', 'Vesna', 'Zora',
] as const;

export const MALE_NAMES = [
  'Tobin', 'Arlo', 'Corin', 'Edric', 'Fenn', 'Hollis', 'Ivo', 'Jory', 'Kellan', 'Lorcan', 'Milo', 'Niall',
  'Osric', 'Pell', 'Quin', 'Rafe', 'Soren', 'Tam', 'Ulric', 'Vance', 'Wystan', 'Yannick', 'Bram', 'Dario',
] as const;

export const SURNAMES = [
  'Voss', 'Arkell', 'Ondry', 'Pellham', 'Quarrie', 'Rusk', 'Stennet', 'Tolliver', 'Umbry', 'Varrow',
  'Yarden', 'Brackley', 'Dunmore', 'Elsey', 'Farrant', 'Gossett', 'Hadley', 'Ibbot', 'Jessop', 'Kettering',
  'Lowick', 'Marrable', 'Nettleship', 'Orrin', 'Pennock', 'Quayle', 'Rathbone', 'Sallow', 'Thorley', 'Upcott',
  'Vellacott', 'Wedlake', 'Yeoward', 'Ashdown', 'Blenkin', 'Coverdale', 'Dimmock', 'Everitt', 'Fairweather', 'Grindle',
] as const;

export const COUNTRIES = [
  {name: 'Varnesia', adjective: 'Varnesian'},
  {name: 'Quellmark', adjective: 'Quellish'},
  {name: 'Dorvania', adjective: 'Dorvanian'},
] as const;

export const RIVERS = ['River Selm', 'River Tollen', 'River Wisk', 'River Ambry', 'River Carrow', 'River Lune'] as const;

export const TOWNS = [
  'Delbrook', 'Quillmere', 'Brannock', 'Ostravel', 'Fenmarsh', 'Kettleford', 'Wrenfield', 'Saltby',
  'Port Aldine', 'Harrowmere', 'Marrow Bay', 'Tarnwick', 'Elmsworth', 'Carrowdale', 'Pellbridge', 'Mossgate',
] as const;

export const ORGANISATIONS = [
  'Harlow Mills', 'Brightwater Guild', 'Northgate Works', 'Amberly Trust', 'Kestrel Company', 'Saltmarsh Cooperative',
  'Greyhaven Union', 'Oakhollow Society', 'Tollen Ferry Company', 'Larkfield Partners', 'Pellworth Group', 'Wexley Holdings',
  'Bramblecote Press', 'Silverpine Council',
] as const;

/** Newspapers of the world: the ReCoRD `source` field and bylines. */
export const NEWSPAPERS = ['Delbrook Gazette', 'Quillmere Herald', 'Varnesian Courier'] as const;

export const EVENTS = ['Harvest Cup', 'Lantern Regatta', 'Founders Fair', 'Midwinter Games', 'Selm Boat Race'] as const;

/** A trade, what its people are seen doing (past tense and base form) and the things they do it to. */
export interface Trade {
  name: string;
  verb: string;
  base: string;
  objects: readonly string[];
}

export const TRADES: readonly Trade[] = [
  {name: 'baker', verb: 'baked', base: 'bake', objects: ['bread', 'a pie', 'honey cakes', 'rye loaves']},
  {name: 'carpenter', verb: 'built', base: 'build', objects: ['a bench', 'a cupboard', 'new shelves', 'a gate']},
  {name: 'nurse', verb: 'treated', base: 'treat', objects: ['a sick child', 'a farmer', 'two sailors', 'a neighbour']},
  {name: 'teacher', verb: 'taught', base: 'teach', objects: ['a history class', 'the older pupils', 'a reading lesson', 'arithmetic']},
  {name: 'fisher', verb: 'caught', base: 'catch', objects: ['a pike', 'three trout', 'a large eel', 'a basket of herring']},
  {name: 'potter', verb: 'shaped', base: 'shape', objects: ['a jug', 'six bowls', 'a tall vase', 'clay cups']},
  {name: 'weaver', verb: 'wove', base: 'weave', objects: ['a blanket', 'a rug', 'linen cloth', 'a wool scarf']},
  {name: 'miller', verb: 'ground', base: 'grind', objects: ['the wheat', 'a sack of barley', 'the oats', 'fresh flour']},
  {name: 'gardener', verb: 'planted', base: 'plant', objects: ['rose bushes', 'a row of beans', 'an apple tree', 'tulip bulbs']},
  {name: 'painter', verb: 'painted', base: 'paint', objects: ['a portrait', 'the town hall', 'a harbour scene', 'a shop sign']},
  {name: 'tailor', verb: 'sewed', base: 'sew', objects: ['a coat', 'a wedding dress', 'two shirts', 'a velvet jacket']},
  {name: 'mechanic', verb: 'repaired', base: 'repair', objects: ['a tractor', 'the mill engine', 'a motorbike', 'an old van']},
  {name: 'librarian', verb: 'catalogued', base: 'catalogue', objects: ['the new books', 'a box of maps', 'old letters', 'the atlases']},
  {name: 'blacksmith', verb: 'forged', base: 'forge', objects: ['a horseshoe', 'an iron gate', 'a set of hooks', 'a plough blade']},
  {name: 'sailor', verb: 'steered', base: 'steer', objects: ['the ferry', 'a fishing boat', 'the barge', 'a small yacht']},
];

export const PETS = ['cat', 'dog', 'parrot', 'rabbit', 'goat', 'tortoise', 'hamster', 'ferret', 'canary', 'pony'] as const;

export const PET_NAMES = ['Pip', 'Biscuit', 'Moss', 'Clover', 'Juniper', 'Sprout', 'Pebble', 'Tansy', 'Bramble', 'Nutmeg', 'Wisp', 'Barley'] as const;

export const COLOURS = ['red', 'blue', 'green', 'yellow', 'purple', 'orange', 'grey', 'white', 'black', 'brown'] as const;

export const HOBBIES = ['chess', 'rowing', 'knitting', 'singing', 'climbing', 'juggling', 'cycling', 'archery', 'dancing', 'stargazing', 'fishing', 'pottery'] as const;

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;

export const NUMBER_WORDS = ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'twelve'] as const;
