/**
 * Classification metrics over parallel prediction and gold lists: accuracy, macro-F1 and binary F1.
 * Labels compare with `===`, so `'1'` and `1` differ. F1 follows scikit-learn's `f1_score` with
 * `zero_division=0`: a class with no true positives scores 0, also when it is never predicted nor gold.
 */

export type ClassLabel = string | number;

export function accuracy(pred: readonly ClassLabel[], gold: readonly ClassLabel[]): number {
  assertSameLength(pred, gold);
  if (gold.length === 0) return 0;
  let right = 0;
  for (let i = 0; i < gold.length; i++) if (pred[i] === gold[i]) right++;
  return right / gold.length;
}

/** Unweighted mean of the per-class F1 over `labels` (scikit-learn `average='macro'` with `labels=`). */
export function macroF1(pred: readonly ClassLabel[], gold: readonly ClassLabel[], labels: readonly ClassLabel[]): number {
  assertSameLength(pred, gold);
  if (labels.length === 0) throw new Error('macroF1 needs at least one label');
  return labels.reduce<number>((sum, label) => sum + classF1(pred, gold, label), 0) / labels.length;
}

/** F1 of the `positive` class. */
export function binaryF1(pred: readonly ClassLabel[], gold: readonly ClassLabel[], positive: ClassLabel): number {
  assertSameLength(pred, gold);
  return classF1(pred, gold, positive);
}

/** 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall written without divisions by zero. */
function classF1(pred: readonly ClassLabel[], gold: readonly ClassLabel[], label: ClassLabel): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < gold.length; i++) {
    const predicted = pred[i] === label;
    const actual = gold[i] === label;
    if (predicted && actual) tp++;
    else if (predicted) fp++;
    else if (actual) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

function assertSameLength(pred: readonly unknown[], gold: readonly unknown[]): void {
  if (pred.length !== gold.length) throw new Error(`${pred.length} predictions for ${gold.length} gold labels`);
}
