/**
 * `npm run bench`: ms per P-tuning v2 (`pt2`) and fine-tuning (`ft`) training step on every tfjs
 * backend present, against PyTorch on the same model and step when python3 can import torch.
 * Each (config, backend, method) runs in its own child process (bench/run-one.ts,
 * bench/torch_reference.py) so peak RSS belongs to one measurement. How to read the table and
 * how to install the reference: bench/README.md.
 *
 * Flags: --quick (fewer steps, configs a and b), --configs a,b,c,d, --backends blas,wasm,cpu,
 *        --steps N, --rounds N, --no-torch, --json FILE (also write the results as JSON).
 *
 * --rounds N measures every row N times, each round running ptv2's rows and PyTorch's back to
 * back, and reports per row the median over rounds (and each round's ratio to PyTorch). On a
 * shared machine whose speed drifts by 10–30% over minutes, one process after the other can land
 * in a fast and a slow phase; interleaved rounds put both sides in the same ones.
 * PTV2_PYTHON picks the python interpreter for the reference.
 *
 * Two PyTorch rows per config and method: torch.set_num_threads(2), and "best", 1 intra-op
 * thread over a 2-thread OpenBLAS — the reference the ratios use. With Debian's python3-torch and
 * libopenblas0-pthread the first runs 2 OpenMP threads that each call a 2-thread OpenBLAS, which
 * oversubscribes 2 cores; the second is PyTorch at its best on this machine (bench/README.md).
 */
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {BENCH_CONFIGS, matmulFlops, median, METHODS, parseConfigKeys, type BenchConfig, type BenchMethod} from './configs.js';
import {findBlas} from '../src/compute/blas.js';
import type {RunRequest, RunResult} from './run-one.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);

interface Options {
  configs: BenchConfig[];
  backends: string[];
  warmup: number;
  steps: number;
  evals: number;
  rounds: number;
  torch: boolean;
  json?: string;
}

/**
 * The big shapes take seconds per step: fewer steps there (BERT-large shape: 2 after 1). Evals
 * are cheap next to steps, and single eval timings of the same forward pass differed by up to
 * 25%, on a busy host up to 80% (PyTorch's too): 5 on c, 3 on d, 15 elsewhere (b: 1.5 s).
 */
function stepsFor(config: BenchConfig, opts: Options): Pick<Options, 'warmup' | 'steps' | 'evals'> {
  if (config.layers >= 24) return {warmup: 1, steps: Math.min(2, opts.steps), evals: Math.min(3, opts.evals)};
  if (config.layers >= 12) return {warmup: 1, steps: Math.min(3, opts.steps), evals: Math.min(5, opts.evals)};
  return {warmup: opts.warmup, steps: opts.steps, evals: opts.evals};
}

interface Row {
  config: BenchConfig;
  backend: string;
  method: BenchMethod;
  result?: Omit<RunResult, 'config' | 'backend' | 'method'>;
  /** Each round's result, when there was more than one (`result` holds their medians). */
  rounds?: (Row['result'] | undefined)[];
  note?: string;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const configs = value('--configs')
    ? parseConfigKeys(value('--configs')!)
    : [...BENCH_CONFIGS.values()].filter((c) => !c.optional && (!quick || c.key === 'a' || c.key === 'b'));
  const steps = value('--steps') ? Number(value('--steps')) : quick ? 3 : 5;
  return {
    configs,
    backends: value('--backends')?.split(',') ?? availableBackends(),
    warmup: quick ? 1 : 2,
    steps,
    evals: quick ? 2 : 15,
    rounds: Math.max(1, Math.floor(Number(value('--rounds') ?? 1)) || 1),
    torch: !argv.includes('--no-torch'),
    json: value('--json'),
  };
}

/** blas when a BLAS library loads; wasm and cpu always; tensorflow when @tensorflow/tfjs-node happens to be installed. */
function availableBackends(): string[] {
  const backends = findBlas().blas ? ['blas', 'wasm', 'cpu'] : ['wasm', 'cpu'];
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    backends.unshift('tensorflow');
  } catch {
    // Optional: its install needs a download outside the npm registry.
  }
  return backends;
}

/** The first interpreter that can import torch (python3 on PATH may be a pyenv without it). */
function findTorchPython(): {python: string; version: string} | undefined {
  const candidates = [process.env.PTV2_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {encoding: 'utf8'});
    if (probe.status === 0) return {python, version: probe.stdout.trim()};
  }
  return undefined;
}

function parseResult<T>(stdout: string): T | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return line ? (JSON.parse(line.slice('RESULT '.length)) as T) : undefined;
}

/** The first telling stderr line (WASM aborts print the XNNPACK status before a wall of minified code). */
function failure(run: ReturnType<typeof spawnSync>): string {
  const lines = String(run.stderr ?? '').split('\n').map((l) => l.trim()).filter((l) => l && l.length < 300);
  const telling = lines.find((l) => /XNN status|Aborted|out of memory|Error:|GiB of WASM heap|GiB of memory on/i.test(l)) ?? lines.pop() ?? '';
  if (/GiB of WASM heap|GiB of memory on/.test(telling)) return `refused up front: ${telling.replace(/^UserError: (train\.batch_size: )?/, '').slice(0, 160)}`;
  const how = run.signal ? `killed by ${run.signal}` : `exit ${run.status}`;
  return `failed (${how}): ${telling.slice(0, 160)}`;
}

function runTfjs(config: BenchConfig, backend: string, method: BenchMethod, opts: Options): Row {
  // The pure-JS CPU backend takes about a minute per step on b: one step, no warm-up, there.
  const slow = backend === 'cpu' && config.key !== 'a';
  const steps = stepsFor(config, opts);
  const request: RunRequest = {
    config: config.key,
    backend: backend as RunRequest['backend'],
    method,
    warmup: slow ? 0 : steps.warmup,
    steps: slow ? 1 : steps.steps,
    evals: slow ? 1 : steps.evals,
  };
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'run-one.ts'), JSON.stringify(request)], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const result = parseResult<RunResult>(run.stdout);
  return result ? {config, backend: result.backend, method, result} : {config, backend, method, note: failure(run)};
}

const TORCH_SETTINGS = new Map([
  ['pytorch', {threads: 2, env: {}}],
  ['pytorch-tuned', {threads: 1, env: {OPENBLAS_NUM_THREADS: '2'}}],
]);

function runTorch(python: string, config: BenchConfig, method: BenchMethod, opts: Options, setting: string): Row {
  const {threads, env} = TORCH_SETTINGS.get(setting)!;
  const request = {...config, method, ...stepsFor(config, opts), threads};
  const run = spawnSync(python, [path.join(here, 'torch_reference.py'), JSON.stringify(request)], {encoding: 'utf8', env: {...process.env, ...env}});
  const result = parseResult<NonNullable<Row['result']>>(run.stdout);
  return result ? {config, backend: setting, method, result} : {config, backend: setting, method, note: failure(run)};
}

const fixed = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

function table(rows: Row[], torchVersion: string): string {
  const labels = new Map([
    ['pytorch', `pytorch ${torchVersion}, set_num_threads(2)`],
    ['pytorch-tuned', `pytorch ${torchVersion} best (1 thread + OpenBLAS 2)`],
  ]);
  const byRound = rows.some((r) => r.rounds);
  const header = `| config | backend | method | ms/step | eval ms | tokens/s | GFLOP/s | peak RSS MB | step × best | eval × best | RSS × best | step × torch(2) |${byRound ? ' step × best by round | eval × best by round |' : ''}`;
  const lines = [header, `|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|${byRound ? '---|---|' : ''}`];
  for (const row of rows) {
    const label = labels.get(row.backend) ?? row.backend;
    if (!row.result) {
      lines.push(`| ${row.config.key} | ${label} | ${row.method} | ${row.note} | | | | | | | | |${byRound ? ' | |' : ''}`);
      continue;
    }
    const r = row.result;
    const reference = (setting: string) => rows.find((t) => t.backend === setting && t.config === row.config && t.method === row.method)?.result;
    const torch = reference('pytorch');
    const best = reference('pytorch-tuned');
    const tokens = row.config.batch * row.config.seq;
    const flops = matmulFlops(row.config, row.method).step;
    const ratio = (ours: number, theirs?: number) => (theirs && !labels.has(row.backend) ? `${fixed(ours / theirs, 2)}×` : '');
    const bestRounds = rows.find((t) => t.backend === 'pytorch-tuned' && t.config === row.config && t.method === row.method)?.rounds;
    const perRound = (key: 'stepMs' | 'evalMs') =>
      row.rounds && bestRounds && !labels.has(row.backend) ? row.rounds.map((x, i) => (x && bestRounds[i] ? fixed(x[key] / bestRounds[i]![key], 2) : '—')).join(' ') : '';
    lines.push(
      `| ${row.config.key} | ${label} | ${row.method} | ${fixed(r.stepMs)} | ${fixed(r.evalMs)} | ${fixed(tokens / (r.stepMs / 1000))} | ` +
        `${fixed(flops / r.stepMs / 1e6, 1)} | ${fixed(r.peakRssMb)} | ${ratio(r.stepMs, best?.stepMs)} | ${ratio(r.evalMs, best?.evalMs)} | ` +
        `${ratio(r.peakRssMb, best?.peakRssMb)} | ${ratio(r.stepMs, torch?.stepMs)} |${byRound ? ` ${perRound('stepMs')} | ${perRound('evalMs')} |` : ''}`,
    );
  }
  return lines.join('\n');
}

/**
 * One row from the rounds of a measurement: the median step, eval and peak RSS over the rounds
 * that succeeded (the rounds kept beside it); a row that never succeeded keeps its first note.
 */
function combineRounds(rounds: Row[]): Row {
  if (rounds.length === 1) return rounds[0];
  const results = rounds.map((r) => r.result).filter((r): r is NonNullable<Row['result']> => !!r);
  if (results.length === 0) return rounds[0];
  const mid = (key: 'stepMs' | 'evalMs' | 'peakRssMb') => median(results.map((r) => r[key]));
  const typical = results.reduce((a, b) => (Math.abs(b.stepMs - mid('stepMs')) < Math.abs(a.stepMs - mid('stepMs')) ? b : a));
  return {...rounds[0], result: {...typical, stepMs: mid('stepMs'), evalMs: mid('evalMs'), peakRssMb: mid('peakRssMb')}, rounds: rounds.map((r) => r.result)};
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const torch = opts.torch ? findTorchPython() : undefined;
  if (opts.torch && !torch) {
    process.stderr.write('PyTorch reference skipped: no python3 here can import torch (see bench/README.md)\n');
  }
  const rows: Row[] = [];
  const started = Date.now();
  const writeJson = () => opts.json && fs.writeFileSync(opts.json, JSON.stringify(rows.map(({config, ...rest}) => ({config: config.key, ...rest})), null, 2));
  // Each row is written as it finishes, so an interrupted run keeps what it measured.
  const report = (row: Row) => {
    process.stderr.write(`${row.result ? `${fixed(row.result.stepMs)} ms/step` : row.note}\n`);
    return row;
  };
  const record = (row: Row) => {
    rows.push(row);
    writeJson();
  };
  for (const config of opts.configs) {
    for (const method of METHODS) {
      const measured: Row[][] = [];
      for (let round = 1; round <= opts.rounds; round++) {
        const tag = opts.rounds > 1 ? ` (round ${round}/${opts.rounds})` : '';
        const runs: Row[] = [];
        for (const backend of opts.backends) {
          if (backend === 'cpu' && config.skipCpu) {
            runs.push({config, backend, method, note: 'skipped: the pure-JS CPU backend takes minutes per step here'});
            continue;
          }
          process.stderr.write(`${config.key} ${backend} ${method}${tag} … `);
          runs.push(report(runTfjs(config, backend, method, opts)));
        }
        for (const setting of torch ? TORCH_SETTINGS.keys() : []) {
          process.stderr.write(`${config.key} ${setting} ${method}${tag} … `);
          runs.push(report(runTorch(torch!.python, config, method, opts, setting)));
        }
        measured.push(runs);
      }
      for (let i = 0; i < measured[0].length; i++) record(combineRounds(measured.map((runs) => runs[i])));
    }
  }
  const configs = opts.configs.map((c) => `- ${c.label}: ffn ${c.ffn}, vocab ${c.vocab}, prompt length ${c.prompt}`).join('\n');
  process.stdout.write(
    `\n${table(rows, torch?.version ?? '')}\n\n${configs}\n\n` +
      `${opts.rounds > 1 ? `Median over ${opts.rounds} interleaved rounds of: ` : ''}Median of ${opts.steps} steps after ${opts.warmup} warm-up steps and of ${opts.evals} eval passes (c: 3 steps after 1, 5 evals; d: 2 after 1, 3 evals; pure-JS CPU on b: one step, no warm-up); ` +
      `step = forward + backward + clipping + AdamW; GFLOP/s counts matmul FLOPs of the step analytically ` +
      `(bench/configs.ts); tokens/s = batch·seq per training step. Total time ${fixed((Date.now() - started) / 1000)} s.\n`,
  );
  writeJson();
}

await main();
