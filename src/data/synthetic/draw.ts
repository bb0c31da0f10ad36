/**
 * Seeded random choices for the synthetic data generator, on top of ptv2's mulberry32 stream.
 * Every data set draws from its own named fork of the seed, so adding or resizing one data set
 * leaves the bytes of all the others unchanged.
 */

import {deriveSeed, mulberry32, shuffled, type Rng} from '../../random.js';

export class Draw {
  private readonly rng: Rng;

  constructor(readonly seed: number) {
    this.rng = mulberry32(seed);
  }

  /** An independent stream for a named part, e.g. `superglue/RTE/train`. */
  fork(name: string): Draw {
    return new Draw(deriveSeed(this.seed, name));
  }

  /** Uniform [0, 1). */
  next(): number {
    return this.rng();
  }

  /** Integer in [low, high]. */
  int(low: number, high: number): number {
    return low + Math.floor(this.rng() * (high - low + 1));
  }

  chance(p: number): boolean {
    return this.rng() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('cannot pick from an empty list');
    return items[Math.floor(this.rng() * items.length)];
  }

  /** An item drawn with probability proportional to its weight. */
  weighted<T>(choices: readonly (readonly [item: T, weight: number])[]): T {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
    let left = this.rng() * total;
    for (const [item, weight] of choices) {
      left -= weight;
      if (left < 0) return item;
    }
    return choices[choices.length - 1][0];
  }

  /** An item other than `not` (compared with ===). */
  pickOther<T>(items: readonly T[], not: T): T {
    return this.pick(items.filter((item) => item !== not));
  }

  shuffle<T>(items: readonly T[]): T[] {
    return shuffled(items, this.rng);
  }

  /** `count` distinct items, in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items).slice(0, count);
  }

  /**
   * `count` labels in random order with the given shares (default: equal), so class balance holds
   * exactly rather than on average.
   */
  balanced<T>(count: number, labels: readonly T[], shares?: readonly number[]): T[] {
    const weights = shares ?? labels.map(() => 1);
    const total = weights.reduce((a, b) => a + b, 0);
    const out: T[] = [];
    labels.forEach((label, i) => {
      const n = i === labels.length - 1 ? count - out.length : Math.round((count * weights[i]) / total);
      for (let k = 0; k < n; k++) out.push(label);
    });
    return this.shuffle(out);
  }

  /** Lower-case hexadecimal string of `length` digits (SQuAD-style question ids). */
  hex(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += Math.floor(this.rng() * 16).toString(16);
    return out;
  }
}
