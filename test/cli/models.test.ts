/**
 * `ptv2 models convert`, `inspect` and `encode` as users run them (the built CLI): exit codes,
 * stdout that holds only what it should, errors as one located line without a stack trace.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {PickleWriter, torchZip} from '../../src/model/torch-save.js';
import {ptv2} from '../helpers/cli.js';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-models-'));

test('convert: safetensors → bin → safetensors is byte-identical; inspect reads each; a malicious pickle is refused with nothing run', () => {
  const dir = tempDir();
  const model = path.join(dir, 'model');
  assert.equal(ptv2(['models', 'init', '--out', model, '--type', 'roberta', '--layers', '1', '--hidden', '16', '--heads', '2', '--intermediate', '32'], dir).code, 0);
  const toBin = ptv2(['models', 'convert', model, '--to', 'bin', '--out', path.join(dir, 'bin')], dir);
  assert.equal(toBin.code, 0, toBin.stderr);
  const inspectBin = JSON.parse(ptv2(['models', 'inspect', path.join(dir, 'bin'), '--json'], dir).stdout) as {loadable: boolean; problems: string[]; weightsFile: string};
  assert.equal(inspectBin.weightsFile, 'pytorch_model.bin');
  assert.equal(inspectBin.loadable, false);
  assert.match(inspectBin.problems.join('\n'), /ptv2 models convert/);
  const back = ptv2(['models', 'convert', path.join(dir, 'bin'), '--out', path.join(dir, 'back'), '--json'], dir);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual((JSON.parse(back.stdout) as {copied: string[]}).copied.sort(), ['config.json', 'merges.txt', 'vocab.json']);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'back', 'model.safetensors')), fs.readFileSync(path.join(model, 'model.safetensors')));
  const inspect = ptv2(['models', 'inspect', path.join(dir, 'back')], dir);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /^architecture +RobertaModel \(model_type roberta\)$/m);
  assert.match(inspect.stdout, /^loads +yes$/m);

  const evil = path.join(dir, 'evil');
  fs.mkdirSync(evil);
  const marker = path.join(dir, 'executed');
  const w = new PickleWriter().op(0x80, 0x02).global('posix', 'system').string(`touch ${marker}`).op(0x85, 0x52, 0x2e);
  fs.writeFileSync(path.join(evil, 'pytorch_model.bin'), torchZip(w.bytes(), []));
  const refused = ptv2(['models', 'convert', evil], dir);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^Error: .*pytorch_model\.bin:archive\/data\.pkl: refused: the pickle references posix\.system, which ptv2 does not allow/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(fs.existsSync(marker), false);
  assert.equal(fs.existsSync(path.join(evil, 'model.safetensors')), false);
});

test('encode: JSON lines on stdout only; a bad line is one error at file:line on stderr', () => {
  const dir = tempDir();
  const model = path.join(dir, 'model');
  assert.equal(ptv2(['models', 'init', '--out', model, '--layers', '1', '--hidden', '16', '--heads', '2', '--intermediate', '32'], dir).code, 0);
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"text": "the harbour", "text_pair": "a boat"}\n{"input_ids": [2, 7, 3]}\n');
  const r = ptv2(['models', 'encode', '--model', model, '--input', input], dir);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as {input_ids: number[]; last_hidden_state: number[][]; pooler_output: number[]});
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[1].input_ids, [2, 7, 3]);
  assert.equal(lines[1].last_hidden_state.length, 3);
  assert.equal(lines[1].last_hidden_state[0].length, 16);
  assert.equal(lines[1].pooler_output.length, 16);
  assert.match(r.stderr, /encoded 2 lines/);

  fs.writeFileSync(input, '{"input_ids": [2, 3]}\n\n{"input_ids": [2, -1]}\n');
  const out = path.join(dir, 'out.jsonl');
  const bad = ptv2(['models', 'encode', '--model', model, '--input', input, '--out', out], dir);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr.trim(), `Error: ${input}:3 input_ids: id -1 at position 1 is outside the vocabulary (0–${(JSON.parse(fs.readFileSync(path.join(model, 'config.json'), 'utf8')) as {vocab_size: number}).vocab_size - 1})`);
  assert.equal(fs.existsSync(out), false);
  assert.equal(fs.existsSync(`${out}.tmp`), false);
});
