/**
 * Examples as readers produce them: plain data, before tokenisation. One variant per head.
 * Labels are the strings of the task's label list (or null where the split has no labels, e.g.
 * SuperGLUE test files); the feature builder maps them to indices.
 */

export type Split = 'train' | 'dev' | 'test';

/** Sequence (pair) classification: RTE, BoolQ, CB, WiC, WSC, MultiRC/ReCoRD candidates, custom. */
export interface PairExample {
  kind: 'pair';
  /** The `idx` of the release (or a line number), kept for prediction files. */
  id: string | number;
  textA: string;
  textB?: string;
  label: string | null;
  /**
   * Examples scored together (MultiRC question, ReCoRD query); metrics that need it read it here.
   * Anything else a task's scorer or prediction writer needs (e.g. ReCoRD candidate text) goes
   * into `meta`.
   */
  group?: string;
  meta?: Record<string, unknown>;
  /** 1-based line in the source file, for error messages. */
  line?: number;
}

/** Multiple choice: COPA. Each choice is encoded as (context, choice); softmax over choices. */
export interface ChoiceExample {
  kind: 'choice';
  id: string | number;
  context: string;
  choices: string[];
  /** Index of the right choice, or null when unlabelled. */
  label: number | null;
  meta?: Record<string, unknown>;
  line?: number;
}

/** Token classification: NER and SRL. Tags are per word; the first sub-token carries the tag. */
export interface TaggingExample {
  kind: 'tagging';
  id: string | number;
  words: string[];
  tags: string[] | null;
  /** SRL: index of the predicate word, marked in the input. */
  predicateIndex?: number;
  line?: number;
}

export interface AnswerSpan {
  text: string;
  /** Character offset of the answer in the context. */
  start: number;
}

/** Extractive QA: SQuAD 1.1 / 2.0. */
export interface SpanExample {
  kind: 'span';
  id: string;
  question: string;
  context: string;
  answers: AnswerSpan[];
  isImpossible: boolean;
  /** A test question given without answers: predicted, never scored. */
  unlabelled?: boolean;
  line?: number;
}

export type Example = PairExample | ChoiceExample | TaggingExample | SpanExample;

/** Whether an example carries its gold answer; test splits may come without. */
export function isLabelled(example: Example): boolean {
  switch (example.kind) {
    case 'pair':
    case 'choice':
      return example.label !== null;
    case 'tagging':
      return example.tags !== null;
    case 'span':
      return example.unlabelled !== true;
  }
}
