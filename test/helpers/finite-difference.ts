/**
 * Directional finite-difference check of one variable's gradient: along a random unit direction d,
 * (L(θ+εd) − L(θ−εd)) / 2ε must match ∇L·d (float32 tolerances). The variable is restored.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {normalArray, type Rng} from '../../src/random.js';

export function checkDirectionalDerivative(
  v: tf.Variable,
  analytic: ArrayLike<number>,
  lossValue: () => number,
  rng: Rng,
  label: string,
): {numeric: number; predicted: number} {
  const values = v.dataSync().slice();
  const direction = normalArray(rng, v.size);
  const norm = Math.hypot(...direction);
  direction.forEach((d, i) => (direction[i] = d / norm));
  const eps = 3e-3;
  const probe = (sign: number) => {
    v.assign(tf.tensor(values.map((x, i) => x + sign * eps * direction[i]), v.shape));
    return lossValue();
  };
  const numeric = (probe(1) - probe(-1)) / (2 * eps);
  v.assign(tf.tensor(values, v.shape));
  const predicted = Array.from(analytic).reduce((sum, g, i) => sum + g * direction[i], 0);
  assert.ok(
    Math.abs(numeric - predicted) <= 3e-4 + 2e-2 * Math.abs(numeric),
    `${label}: ${v.name} directional derivative analytic ${predicted} vs numeric ${numeric}`,
  );
  return {numeric, predicted};
}
