/**
 * BERT's basic pre-tokenisation, to list the words a vocabulary must cover: lower-case, strip
 * accents, split on whitespace, and split every punctuation character off as a word of its own.
 * Reference: Devlin et al. 2019, BasicTokenizer in google-research/bert tokenization.py.
 */

/** ASCII symbols count as punctuation for BERT even where Unicode calls them symbols (`$`, `^`, `` ` ``). */
function isPunctuation(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  if ((code >= 33 && code <= 47) || (code >= 58 && code <= 64) || (code >= 91 && code <= 96) || (code >= 123 && code <= 126)) return true;
  return /\p{P}/u.test(char);
}

export function preTokenize(text: string): string[] {
  const plain = text.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
  const words: string[] = [];
  for (const chunk of plain.split(/\s+/)) {
    let word = '';
    for (const char of chunk) {
      if (isPunctuation(char)) {
        if (word !== '') words.push(word);
        words.push(char);
        word = '';
      } else {
        word += char;
      }
    }
    if (word !== '') words.push(word);
  }
  return words;
}
