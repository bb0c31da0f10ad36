import {Args} from '@oclif/core';
import {Ptv2Command} from '../../cli/base.js';
import type {CheckpointSummary} from '../../model/inspect.js';

export default class ModelsInspect extends Ptv2Command {
  static override description = `Show what a checkpoint directory holds and whether ptv2 can load it.

Architecture, layers × hidden, attention heads, feed-forward size, input positions, vocabulary size and tokenizer kind, tensor dtypes, parameter count, weights file size, the stored tensors outside the encoder (heads such as cls.* or classifier.*, which ptv2 sets aside), and whether ptv2 loads it, with every reason it does not. Only the safetensors header is read, not the weights; a pytorch_model.bin is read (never executed) to list its tensors.`;

  static override examples = [
    '<%= config.bin %> models inspect runs/models/builtin-bert-mlm',
    '<%= config.bin %> models inspect runs/models/builtin-bert-mlm --json',
  ];

  static override args = {
    dir: Args.string({description: 'checkpoint directory', required: true}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<CheckpointSummary> {
    const {args} = await this.parse(ModelsInspect);
    const {inspectCheckpoint} = await import('../../model/inspect.js');
    const summary = inspectCheckpoint(args.dir);
    for (const [key, value] of summaryRows(summary)) this.log(`${key.padEnd(14)}${value}`);
    return summary;
  }
}

function summaryRows(s: CheckpointSummary): [string, string][] {
  const or = (value: unknown, unit = '') => (value === null || value === undefined ? '?' : `${typeof value === 'number' ? value.toLocaleString('en') : String(value)}${unit}`);
  const heads = s.headTensors.length === 0 ? 'none' : s.headTensors.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ');
  return [
    ['directory', s.dir],
    ['architecture', `${or(s.architecture)} (model_type ${or(s.modelType)})`],
    ['layers', `${or(s.layers)} × ${or(s.hidden)} hidden`],
    ['heads', or(s.heads)],
    ['ffn', or(s.ffn)],
    ['positions', or(s.positions)],
    ['vocabulary', `${or(s.vocabSize)} tokens, ${or(s.tokenizer ?? 'no tokenizer files')}`],
    ['weights', `${or(s.weightsFile)}, ${or(s.fileSize, ' bytes')}`],
    ['dtypes', Object.entries(s.dtypes).map(([dtype, n]) => `${n} ${dtype}`).join(', ') || '?'],
    ['parameters', `${or(s.parameters)}${s.encoderParameters === null ? '' : ` (encoder ${s.encoderParameters.toLocaleString('en')}${s.hasPooler ? ' with pooler' : ', no pooler'})`}`],
    ['set aside', heads],
    ['loads', s.loadable ? (s.problems.length > 0 ? `yes, for tokenized input only (${s.problems.join('; ')})` : 'yes') : `no: ${s.problems.join('; ')}`],
  ];
}
