import {Args, Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {UserError} from '../errors.js';
import type {PeftAdapter} from '../peft.js';
import type {MetricRow, RunRow, Store} from '../store/index.js';

export default class Export extends Ptv2Command {
  static override description = `Write a finished pt, ptv1, prefix, pt2 or mpt2 run as a HuggingFace PEFT adapter directory.

The directory holds adapter_config.json and adapter_model.safetensors, which peft.PeftModel.from_pretrained(base_model, DIR) loads onto the run's checkpoint, opened with the matching transformers AutoModelFor{SequenceClassification,TokenClassification,QuestionAnswering}. Deep prompts become PREFIX_TUNING, pt becomes PROMPT_TUNING, and so does ptv1, whose prompt is its prompt encoder's output as the run's best epoch fed it to the input layer; the head goes in under transformers' module names. ptv2_export.json beside them gives the run, its labels (id2label, label2id), its metrics and, for ptv1, the encoder the prompt was materialised from.

Runs PEFT cannot express are refused with the reason: ft, a prompt in fewer than all layers, deep prompts trained without shifted positions, input prompts (pt, ptv1) on classification, multiple-choice heads, the verbalizer head, and heads that are not transformers' head for the task.`;

  static override examples = [
    '<%= config.bin %> export 2 --out runs/adapters/rte-pt2',
    '<%= config.bin %> export 2 --out runs/adapters/rte-pt2 --db runs/ptv2.db --force --json',
  ];

  static override args = {
    run: Args.integer({description: 'run id (ptv2 report --runs lists them)', required: true}),
  };

  static override flags = {
    out: Flags.string({description: 'adapter directory to write', required: true}),
    db: Flags.string({description: 'SQLite database', default: 'runs/ptv2.db'}),
    model: Flags.string({description: 'the run\'s checkpoint directory, when its recorded path does not resolve from here'}),
    force: Flags.boolean({description: 'overwrite an adapter already in --out'}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<Record<string, unknown>> {
    const {args, flags} = await this.parse(Export);
    const fs = await import('node:fs');
    if (!fs.existsSync(flags.db)) {
      throw new UserError('no database here', {file: flags.db}, ['pass --db PATH: the database the run was recorded in']);
    }
    const {Store} = await import('../store/index.js');
    const store = Store.open(flags.db);
    try {
      const result = await exportRun(store, args.run, flags);
      this.log(`wrote run ${args.run} (${result.task}/${result.method}) as a ${result.peft_type} ${result.task_type} adapter to ${flags.out}`);
      return result;
    } finally {
      store.close();
    }
  }
}

/** Find the run, check it, gather its tensors and checkpoint, write the adapter; returns what was written. */
async function exportRun(store: Store, runId: number, flags: {out: string; db: string; model?: string; force: boolean}): Promise<Record<string, unknown>> {
  const peft = await import('../peft.js');
  const row = store.run(runId) ?? notFound(store, runId, flags.db);
  const run = {...row, source: flags.db};
  // Refusals that need only the row come before any large file is read.
  const plan = peft.planExport(run);
  const modelDir = flags.model ?? row.modelPath;
  if (!modelDir) throw new UserError(`run ${runId} records no checkpoint path`, {file: flags.db}, ['pass --model DIR: the checkpoint it trained on']);
  const fs = await import('node:fs');
  if (!fs.existsSync(modelDir)) {
    // The adapter's sizes and the pretrained pooler come from the checkpoint, not from the run row.
    throw new UserError(`checkpoint directory of run ${runId} not found`, {file: modelDir}, ['pass --model DIR: the checkpoint directory the run trained on']);
  }
  const {loadCheckpoint} = await import('../model/checkpoint.js');
  const checkpoint = loadCheckpoint(modelDir);
  const state = store.artifacts(runId).find((a) => a.kind === 'trainable_state');
  if (!state) throw new UserError(`run ${runId} recorded no trainable_state artifact`, {file: flags.db});
  const {readSafetensors} = await import('../model/safetensors.js');
  const prefix = checkpoint.config.modelType;
  const poolerWeight = checkpoint.weights.get(`${prefix}.pooler.dense.weight`);
  const poolerBias = checkpoint.weights.get(`${prefix}.pooler.dense.bias`);
  const adapter = peft.buildPeftAdapter({
    run,
    encoder: checkpoint.config,
    pooler: poolerWeight && poolerBias ? {weight: poolerWeight, bias: poolerBias} : undefined,
    trainable: readSafetensors(state.path).tensors,
    trainableFile: state.path,
    baseModel: modelDir,
  }, plan);
  const info = exportInfo(row, plan, adapter, store.metrics(runId), peft.labelMaps(plan.labels));
  const files = peft.writePeftAdapter(flags.out, adapter, info, {force: flags.force});
  return {...info, files};
}

function notFound(store: Store, runId: number, db: string): never {
  const ids = store.experiments().flatMap((e) => store.runs(e.id).map((r) => r.id));
  const range = ids.length > 0 ? `runs ${Math.min(...ids)}–${Math.max(...ids)}` : 'no runs';
  throw new UserError(`no run ${runId} (the database has ${range})`, {file: db}, ['ptv2 report --runs lists the runs of an experiment with their ids']);
}

/** ptv2_export.json: where the adapter came from, its labels and the run's metrics at its best epoch. */
function exportInfo(
  run: RunRow,
  plan: {labels: string[]},
  adapter: Pick<PeftAdapter, 'config' | 'outputOffset' | 'materialisedFrom'>,
  metrics: MetricRow[],
  labels: {id2label: Record<string, string>; label2id: Record<string, number>},
): Record<string, unknown> {
  const atBest = (split: string) =>
    Object.fromEntries(metrics.filter((m) => m.split === split && m.epoch === run.bestEpoch).map((m) => [m.name, m.value]));
  const test = atBest('test');
  return {
    run_id: run.id,
    experiment_id: run.experimentId,
    task: run.task,
    method: run.method,
    stage: run.stage,
    peft_type: adapter.config.peft_type,
    task_type: adapter.config.task_type,
    base_model: run.modelPath,
    labels: plan.labels,
    ...labels,
    // The prompt section the run trained with, in config keys.
    prompt: run.params.prompt ?? null,
    // PROMPT_TUNING prepends the prompt to the input, so PEFT's per-token outputs start with it.
    output_offset: adapter.outputOffset,
    // ptv1: PEFT loads a plain [P, h] table; this says which trained network produced it.
    ...(adapter.materialisedFrom ? {materialised_from: {method: run.method, ...adapter.materialisedFrom}} : {}),
    key_metric: run.keyMetric,
    best_epoch: run.bestEpoch,
    best_value: run.bestValue,
    metrics: {dev: atBest('dev'), ...(Object.keys(test).length > 0 ? {test} : {})},
  };
}
