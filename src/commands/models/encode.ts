import {Flags} from '@oclif/core';
import {Ptv2Command} from '../../cli/base.js';
import {BACKEND_CHOICES} from '../../compute/backend.js';

export default class ModelsEncode extends Ptv2Command {
  static override description = `Write a checkpoint's hidden states for each line of a JSON-lines file.

Each input line is {"text": …, "text_pair"?: …} (tokenized with the checkpoint's tokenizer, cut longest-first to its positions) or already tokenized {"input_ids": […], "token_type_ids"?: […], "attention_mask"?: […]}, which needs no tokenizer files. Each output line is {"input_ids", "last_hidden_state": [seq][hidden], "pooler_output"?: [hidden]} (the pooler when the checkpoint has one), as transformers' model(**inputs) returns them.

--adapter applies a PEFT prompt adapter as PEFT does: PREFIX_TUNING as keys and values in every layer with the real tokens' positions starting at the number of virtual tokens; PROMPT_TUNING as vectors before the input embeddings, whose rows then come first in last_hidden_state ("prompt_rows" says how many). Every line is checked before any is encoded; errors name the file and line on stderr, and stdout holds JSON only.`;

  static override examples = [
    '<%= config.bin %> models encode --model runs/models/builtin-bert-mlm --input datasets/superglue/WSC/val.jsonl --out runs/wsc-states.jsonl',
    '<%= config.bin %> models encode --model runs/models/builtin-bert-mlm --input runs/wsc-states.jsonl --out runs/wsc-states-again.jsonl',
  ];

  static override flags = {
    model: Flags.string({description: 'checkpoint directory', required: true}),
    input: Flags.string({description: 'JSON lines: {"text", "text_pair"?} or {"input_ids", "token_type_ids"?, "attention_mask"?}', required: true}),
    out: Flags.string({description: 'output file (default: stdout)'}),
    adapter: Flags.string({description: 'PEFT adapter directory (PREFIX_TUNING or PROMPT_TUNING) to apply'}),
    backend: Flags.string({description: 'tfjs backend', options: [...BACKEND_CHOICES]}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(ModelsEncode);
    const fs = await import('node:fs');
    const {initBackend, resolveBackendChoice} = await import('../../compute/backend.js');
    const {encodeFile} = await import('../../experiment/encode.js');
    const {tf} = await initBackend(resolveBackendChoice(flags.backend));
    tf.enableProdMode();
    const fd = flags.out ? fs.openSync(`${flags.out}.tmp`, 'w') : 1;
    try {
      const summary = await encodeFile(tf, {model: flags.model, input: flags.input, adapter: flags.adapter, write: (line) => fs.writeSync(fd, `${line}\n`)});
      if (flags.out) {
        fs.closeSync(fd);
        fs.renameSync(`${flags.out}.tmp`, flags.out);
      }
      const notes = summary.truncated > 0 ? `; ${summary.truncated} texts cut to the model's positions` : '';
      this.logToStderr(`encoded ${summary.lines} lines${flags.out ? ` to ${flags.out}` : ''}${notes}`);
    } catch (error) {
      if (flags.out) {
        fs.closeSync(fd);
        fs.rmSync(`${flags.out}.tmp`, {force: true});
      }
      throw error;
    }
  }
}
