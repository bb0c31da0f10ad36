/**
 * Every example ptv2 shows runs as given: each command's `examples` (as `--help` prints them) and
 * the README's `npx ptv2 …` lines (in ```sh blocks, and inline code spans), after the quick start
 * has run, in a temporary copy of the project.
 *
 * The quick start is stood in for by the same configs made tiny: configs/quickstart.yaml and
 * configs/custom.yaml keep their name, database, output directory, model path, methods and tasks,
 * with a one-layer model, a small pretraining and one epoch on 16 training examples (every dev
 * example kept, so their predictions score against the dev files). Each command's examples run in
 * order in a fresh copy of that state (an example may use files an earlier one of the same command
 * wrote); the README's run in document order in one copy, the quick start command itself excepted.
 * A command that serves until stopped (`ptv2 ui`) must print where it serves, then stop with exit 0
 * on SIGINT.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {parseDocument} from 'yaml';
import {ROOT} from '../helpers/cli.js';
import {skipWithoutRedis, startRedis} from '../queue/redis.js';

const BIN = path.join(ROOT, 'bin/run.js');
const QUICK_START = 'ptv2 run configs/quickstart.yaml';

/** The command classes' examples, with `<%= config.bin %>` as `ptv2`, by command file. */
async function helpExamples(): Promise<{command: string; examples: string[]}[]> {
  const dir = path.join(ROOT, 'src/commands');
  const files = fs.readdirSync(dir, {recursive: true, encoding: 'utf8'}).filter((f) => f.endsWith('.ts')).sort();
  const out = [];
  for (const file of files) {
    const command = (await import(path.join(dir, file))) as {default: {examples?: (string | {command: string})[]}};
    const examples = (command.default.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command).replaceAll('<%= config.bin %>', 'ptv2'));
    out.push({command: file.replace(/\.ts$/, '').replace('/', ' '), examples});
  }
  return out;
}

/** `npx ptv2 …` lines of the README's sh blocks (comments dropped, `\` continuations joined) and inline spans, in order. */
function readmeExamples(): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const found: {at: number; line: string}[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const joined = block[1].replace(/\\\n\s*/g, '');
    let offset = block.index;
    for (const line of joined.split('\n')) {
      const command = line.replace(/\s+#.*$/, '').trim();
      if (command.startsWith('npx ptv2 ')) found.push({at: offset, line: command.slice('npx '.length)});
      offset += 1;
    }
  }
  const blocks = [...text.matchAll(/```[\s\S]*?```/g)].map((m) => [m.index, m.index + m[0].length]);
  for (const span of text.matchAll(/`npx (ptv2 [^`]*)`/g)) {
    if (blocks.some(([start, end]) => span.index >= start && span.index < end)) continue;
    found.push({at: span.index, line: span[1]});
  }
  return found
    .sort((a, b) => a.at - b.at)
    .map((f) => f.line)
    .filter((line) => line !== QUICK_START && !line.includes('<'));
}

/** A config made tiny: the same names and paths, a one-layer model, one epoch on a few examples. */
function tinyVersion(file: string): string {
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  doc.setIn(['model', 'init'], doc.createNode({layers: 1, hidden: 16, heads: 2, intermediate: 32, max_positions: 256, pretrain: {epochs: 1, batch_size: 256, max_length: 16, corpus_scale: 0}}));
  doc.setIn(['model', 'max_length'], 48);
  doc.setIn(['train', 'epochs'], 1);
  doc.setIn(['train', 'max_train_examples'], 16);
  doc.setIn(['method_overrides', 'ft', 'train', 'epochs'], 1);
  return doc.toString();
}

/** Commands that serve until stopped: they must come up, say where (this line), and stop cleanly on Ctrl-C. */
const SERVERS = new Map([
  ['ui', /serving .* at http:\/\//],
  ['worker', /waiting for jobs on redis:\/\//],
]);

async function serve(line: string, words: string[], cwd: string, env: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...words], {cwd, env, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  const ready = SERVERS.get(words[0])!;
  while (!ready.test(stdout) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.match(stdout, ready, `\`${line}\` in ${cwd} did not come up:\n${stderr}\n${stdout}`);
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 0, `\`${line}\` in ${cwd} did not stop cleanly on SIGINT (exit ${code}):\n${stderr}`);
}

async function run(line: string, cwd: string): Promise<void> {
  const words = line.split(/\s+/);
  const env: Record<string, string> = {...process.env, PTV2_BACKEND: 'wasm'} as Record<string, string>;
  while (/^[A-Z][A-Z0-9_]*=/.test(words[0])) {
    const [name, value] = words.shift()!.split('=');
    env[name] = value;
  }
  assert.equal(words.shift(), 'ptv2', line);
  if (SERVERS.has(words[0])) return serve(line, words, cwd, env);
  const r = spawnSync(process.execPath, [BIN, ...words], {cwd, encoding: 'utf8', env, timeout: 300_000});
  assert.equal(r.status, 0, `\`${line}\` in ${cwd} exited ${r.status}:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
}

function copyOf(base: string, name: string): string {
  const dir = path.join(path.dirname(base), name);
  fs.cpSync(base, dir, {recursive: true, verbatimSymlinks: true});
  return dir;
}

test('every --help and README example runs as given after the quick start', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-examples-'));
  const base = path.join(root, 'clone');
  fs.mkdirSync(path.join(base, 'configs'), {recursive: true});
  fs.symlinkSync(path.join(ROOT, 'datasets'), path.join(base, 'datasets'));
  for (const name of fs.readdirSync(path.join(ROOT, 'configs'), {recursive: true, encoding: 'utf8'})) {
    const from = path.join(ROOT, 'configs', name);
    if (fs.statSync(from).isDirectory()) fs.mkdirSync(path.join(base, 'configs', name), {recursive: true});
    else fs.writeFileSync(path.join(base, 'configs', name), tinyVersion(from));
  }
  await run(QUICK_START, base);
  // `ptv2 worker` serves a queue: a redis-server of the test's own, named by PTV2_QUEUE_URL.
  const redis = skipWithoutRedis() === false ? await startRedis() : undefined;
  if (redis) process.env.PTV2_QUEUE_URL = redis.url;

  try {
    const groups = await helpExamples();
    assert.ok(groups.every((g) => g.examples.length > 0), `every command has examples: ${groups.filter((g) => g.examples.length === 0).map((g) => g.command)}`);
    for (const {command, examples} of groups) {
      const dir = copyOf(base, command.replace(' ', '-'));
      for (const example of examples) {
        if (command === 'worker' && !redis) continue;
        await run(example, dir);
      }
    }
  } finally {
    await redis?.stop();
  }
  const readme = readmeExamples();
  assert.ok(readme.length >= 9, `README examples found: ${readme.join(' | ')}`);
  const dir = copyOf(base, 'readme');
  for (const example of readme) await run(example, dir);
  fs.rmSync(root, {recursive: true, force: true});
});

test('help texts are written for oclif\'s wrapping: no hard-wrapped lines, a summary that is a whole sentence', async () => {
  const dir = path.join(ROOT, 'src/commands');
  for (const file of fs.readdirSync(dir, {recursive: true, encoding: 'utf8'}).filter((f) => f.endsWith('.ts'))) {
    const command = (await import(path.join(dir, file))) as {default: {description?: string; summary?: string}};
    const description = command.default.description ?? '';
    for (const paragraph of description.split('\n\n')) assert.ok(!paragraph.includes('\n'), `${file}: a paragraph of the description is hard-wrapped: ${paragraph.slice(0, 80)}…`);
    const summary = command.default.summary ?? description.split('\n')[0];
    assert.match(summary, /[.)]$/, `${file}: the summary ends mid-sentence: ${summary}`);
  }
});
