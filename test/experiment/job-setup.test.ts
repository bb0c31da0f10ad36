/**
 * `model.use_pooler: true` on a checkpoint without a pooler: refused before anything runs, naming
 * the config's line and both fixes, for every job whose head reads [CLS]; and TaskModel itself
 * never falls back to [CLS] silently.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {parseConfig} from '../../src/config/load.js';
import {planJobs} from '../../src/config/plan.js';
import {checkPooler} from '../../src/experiment/job-setup.js';
import {EncoderWeights} from '../../src/model/encoder.js';
import {TaskModel} from '../../src/model/model.js';
import {tinyCheckpoint} from '../helpers/tiny.js';

const TEXT = `name: p
model:
  path: m
  use_pooler: true
methods: [ft, pt2]
tasks:
  - {name: rte, data: d/RTE}
  - {name: conll03, data: d/conll03}
`;

describe('checkPooler', () => {
  const loaded = parseConfig(TEXT, 'p.yaml');
  const jobs = planJobs(loaded.config);

  test('a pooled head on a checkpoint without a pooler is refused at the line that sets use_pooler, with both fixes', () => {
    assert.throws(
      () => checkPooler(jobs, new Map([['rte', 'classification'], ['conll03', 'token']]), {dir: 'm', hasPooler: false}, loaded),
      (error: Error & {suggestions?: string[]}) => {
        assert.equal(error.message, 'p.yaml:4 model.use_pooler: is true, but the checkpoint in m has no pooler (bert.pooler.dense / roberta.pooler.dense), so the head of rte/ft has nothing to read');
        assert.match(error.suggestions![0], /set model\.use_pooler: false/);
        assert.match(error.suggestions![1], /delete m and ptv2 writes it again/);
        return true;
      },
    );
  });

  test('no refusal with a pooler, with use_pooler: false, or when no head reads [CLS]', () => {
    const heads = new Map([['rte', 'classification' as const], ['conll03', 'token' as const]]);
    checkPooler(jobs, heads, {dir: 'm', hasPooler: true}, loaded);
    const off = parseConfig(TEXT.replace('use_pooler: true', 'use_pooler: false'), 'p.yaml');
    checkPooler(planJobs(off.config), heads, {dir: 'm', hasPooler: false}, off);
    const tagging = parseConfig(TEXT.replace('  - {name: rte, data: d/RTE}\n', ''), 'p.yaml');
    checkPooler(planJobs(tagging.config), heads, {dir: 'm', hasPooler: false}, tagging);
    // The verbalizer reads the mask through the MLM head (RobertaForMaskedLM files have no pooler).
    const verbalizer = parseConfig(`${TEXT}head: verbalizer\n`, 'p.yaml');
    checkPooler(planJobs(verbalizer.config), heads, {dir: 'm', hasPooler: false}, verbalizer);
  });

  test('TaskModel refuses usePooler on a pooler-less checkpoint instead of reading [CLS] directly', () => {
    const checkpoint = tinyCheckpoint();
    const weights = new Map([...checkpoint.weights].filter(([name]) => !name.includes('pooler')));
    const encoder = new EncoderWeights({...checkpoint, weights, hasPooler: false});
    const spec = {prompt: {method: 'pt2', length: 2, reparameterize: false, reparamHidden: 4, dropout: 0, depthOrder: 'ascending' as const, shiftPositions: true, initStd: 0.02, seed: 1}, numLabels: 2, dropout: 0, seed: 1};
    assert.throws(() => new TaskModel(encoder, {...spec, usePooler: true, head: 'classification'}), /usePooler is set, but the checkpoint has no pooler weights/);
    // A token head does not read [CLS], so use_pooler does not concern it.
    new TaskModel(encoder, {...spec, usePooler: true, head: 'token'}).dispose();
    encoder.dispose();
  });
});
