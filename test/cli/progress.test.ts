/**
 * What the progress display says, from trainer events: plain lines name their run and show
 * scores in percent (SQuAD's own percentages are not multiplied again), the live status line has
 * epoch, step, rate, times, loss and the best dev score, and clocks read as m:ss.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {clock, ExperimentClock, percentOf, TrainingView} from '../../src/ui/progress.js';

const CLOCKS = [
  {seconds: 0, expected: '0:00'},
  {seconds: 59.6, expected: '1:00'},
  {seconds: 95, expected: '1:35'},
  {seconds: 3723, expected: '1:02:03'},
  {seconds: NaN, expected: '-'},
];
for (const c of CLOCKS) test(`clock(${c.seconds}) = ${c.expected}`, () => assert.equal(clock(c.seconds), c.expected));

test('percentOf: fractions ×100, scores already in percent (scale 100) as they are', () => {
  assert.equal(percentOf(0.61), '61.0');
  assert.equal(percentOf(83.25, 100), '83.3');
});

test('TrainingView: plain lines name the run, dev scores in percent; the status line carries the live numbers', () => {
  const view = new TrainingView('rte/pt2', 'accuracy', 90, (_metric, value) => percentOf(value));
  assert.equal(view.update({type: 'start', epochs: 30, stepsPerEpoch: 3, totalSteps: 90}), undefined);
  assert.equal(view.update({type: 'progress', epoch: 3, step: 7, totalSteps: 90, loss: 0.69314}), undefined);
  assert.equal(view.update({type: 'step', epoch: 3, step: 7, totalSteps: 90, loss: 0.69314, lr: 0.01, gradNorm: 1}), 'rte/pt2 epoch 3/30 step 7/90 loss 0.6931 lr 1.00e-2');
  assert.equal(
    view.update({type: 'eval', epoch: 3, step: 9, split: 'dev', metrics: {accuracy: 0.61, macro_f1: 0.5}, keyMetric: 'accuracy', isBest: true}),
    'rte/pt2 epoch 3/30 dev accuracy 61.0 macro_f1 50.0 (best)',
  );
  assert.match(view.status(), /^epoch 3\/30 · step 7\/90 · [\d.]+ steps\/s · 0:0\d, ETA [-\d:]+ · loss 0\.6931 · best dev accuracy 61\.0 \(epoch 3\)$/);
  view.update({type: 'eval', epoch: 4, step: 12, split: 'dev', metrics: {accuracy: 0.55, macro_f1: 0.5}, keyMetric: 'accuracy', isBest: false});
  assert.match(view.status(), /best dev accuracy 61\.0 \(epoch 3\)$/, 'the best so far, not the latest');
  assert.equal(view.update({type: 'end', bestEpoch: 3, bestValue: 0.61, stoppedEarly: true}), 'rte/pt2 stopped early; best epoch 3');
});

test('ExperimentClock: the share of planned steps done over all runs', () => {
  const overall = new ExperimentClock(200);
  overall.inJob = 50;
  assert.match(overall.describe(), /^experiment 25% · /);
  overall.endJob(100);
  overall.inJob = 50;
  assert.match(overall.describe(), /^experiment 75% · /);
});
