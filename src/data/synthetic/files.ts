/**
 * What each synthetic data set module hands back: file contents keyed by a path relative to the
 * output directory, plus the strings a model reads from them (for the world vocabulary).
 */

export interface SyntheticFile {
  /** Relative, `/`-separated, e.g. `superglue/RTE/train.jsonl`. */
  path: string;
  content: string;
  /** The text a model sees from this file: words, sentences, questions, contexts. */
  texts: string[];
}

/** Items per split at a given scale; never fewer than one. */
export function scaled(count: number, scale: number): number {
  return Math.max(1, Math.round(count * scale));
}
