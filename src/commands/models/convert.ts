import {Args, Flags} from '@oclif/core';
import {Ptv2Command} from '../../cli/base.js';

export default class ModelsConvert extends Ptv2Command {
  static override description = `Write model.safetensors from a checkpoint directory's pytorch_model.bin, executing nothing.

The .bin must be PyTorch's zip format (torch ≥ 1.6); the legacy format is refused. Its pickle is read by ptv2's own interpreter, which allows only what torch.save writes for a state dict (OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter, the storage classes, storage ids): any other Python name is refused, naming it, and nothing is ever run. Tensors keep their names, shapes and dtypes (F32, F16, BF16, I64 buffers such as position_ids, …); views, offsets, strides and storages shared between tensors are written out as contiguous tensors, with the metadata {"format": "pt"} transformers writes. With --out the other files (config.json, tokenizer files) are copied beside it.

--to bin goes the other way, for tools that read only .bin: model.safetensors → pytorch_model.bin as torch.save writes a state dict, dtypes kept.`;

  static override examples = [
    '<%= config.bin %> models convert runs/models/builtin-bert-mlm --to bin --out runs/models/builtin-bin',
    '<%= config.bin %> models convert runs/models/builtin-bin --out runs/models/builtin-converted',
    '<%= config.bin %> models convert runs/models/builtin-bin --force --json',
  ];

  static override args = {
    dir: Args.string({description: 'checkpoint directory holding pytorch_model.bin', required: true}),
  };

  static override flags = {
    out: Flags.string({description: 'directory to write model.safetensors to (default: DIR itself)'}),
    force: Flags.boolean({description: 'overwrite an existing model.safetensors (pytorch_model.bin with --to bin)'}),
    to: Flags.string({description: 'the format to write', options: ['safetensors', 'bin'], default: 'safetensors'}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(ModelsConvert);
    const {convertCheckpoint} = await import('../../model/convert.js');
    const result = convertCheckpoint(args.dir, flags.out ?? args.dir, {force: flags.force, to: flags.to as 'safetensors' | 'bin'});
    const dtypes = Object.entries(result.dtypes).map(([dtype, n]) => `${n} ${dtype}`).join(', ');
    this.log(`wrote ${result.to}: ${result.tensors} tensors (${dtypes}) from ${result.storages} storages, ${result.bytes.toLocaleString('en')} bytes`);
    if (result.copied.length > 0) this.log(`copied ${result.copied.join(', ')}`);
    return result;
  }
}
