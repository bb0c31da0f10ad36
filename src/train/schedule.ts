/**
 * Learning-rate schedules (pure). Linear warm-up from 0 to the base rate over `warmupSteps`,
 * then linear decay to 0 at `totalSteps` (HF's get_linear_schedule_with_warmup), or constant.
 */

export interface Schedule {
  base: number;
  warmupSteps: number;
  totalSteps: number;
  decay: 'linear' | 'constant';
}

/** Learning rate for the update that follows `step` completed steps (step 0 = first update). */
export function learningRateAt(step: number, s: Schedule): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.base * step) / s.warmupSteps;
  if (s.decay === 'constant') return s.base;
  const remaining = s.totalSteps - step;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  return s.base * Math.max(0, remaining / span);
}

export function warmupSteps(totalSteps: number, ratio: number): number {
  return Math.ceil(totalSteps * ratio);
}
