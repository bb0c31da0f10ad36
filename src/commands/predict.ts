import {Args, Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {BACKEND_CHOICES} from '../compute/backend.js';

export default class Predict extends Ptv2Command {
  static override description = `Apply a completed run to new examples: labels with probabilities, tags per word, or answers with score and character span.

The run is rebuilt as it trained (its experiment's stored config, checkpoint, labels and input length) with its best epoch's trained state. The input is a file in the task's own format (read as a test file: labels not needed) or JSON lines of plain text: {"text", "text_pair"?} for classification, {"text", "choices"} for multiple choice, {"text"} split on spaces (with "predicate_index" for SRL) for tagging, {"question", "context"} (or text and text_pair) for QA; an "id" is kept when given.

Each output record is {"id", "label", "probabilities"} (classification: a probability per label; multiple choice: per choice), {"id", "words", "tags", "probabilities"} (tagging) or {"id", "answer", "score", "start", "end"} (QA; answer null for no answer on SQuAD 2.0, decided with the run's null threshold, with "na_prob") — the records runs write beside their prediction files as <split>_scores.jsonl. --format csv gives one row per record.`;

  static override examples = [
    '<%= config.bin %> predict 2 --input datasets/superglue/RTE/val.jsonl --out runs/rte-val-predictions.jsonl',
    '<%= config.bin %> predict 2 --input datasets/superglue/RTE/test.jsonl --format csv',
  ];

  static override args = {
    run: Args.integer({description: 'run id (ptv2 report --runs lists them)', required: true}),
  };

  static override flags = {
    input: Flags.string({description: 'examples in the task\'s format, or plain JSON lines ({"text", "text_pair"}, …)', required: true}),
    out: Flags.string({description: 'output file (default: stdout)'}),
    format: Flags.string({description: 'output format', options: ['jsonl', 'csv'], default: 'jsonl'}),
    db: Flags.string({description: 'SQLite database', default: 'runs/ptv2.db'}),
    model: Flags.string({description: 'the run\'s checkpoint directory, when its recorded path does not resolve from here'}),
    backend: Flags.string({description: 'tfjs backend', options: [...BACKEND_CHOICES]}),
  };

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Predict);
    const fs = await import('node:fs');
    const {UserError} = await import('../errors.js');
    if (!fs.existsSync(flags.db)) throw new UserError('no database here', {file: flags.db}, ['pass --db PATH: the database the run was recorded in']);
    const {initBackend, resolveBackendChoice} = await import('../compute/backend.js');
    const {tf} = await initBackend(resolveBackendChoice(flags.backend));
    tf.enableProdMode();
    const {Store} = await import('../store/index.js');
    const {predictWithRun} = await import('../experiment/apply-run.js');
    const {formatPredictions} = await import('../data/scores.js');
    const store = Store.openReadOnly(flags.db);
    try {
      const result = await predictWithRun(tf, store, {runId: args.run, input: flags.input, db: flags.db, model: flags.model});
      const text = formatPredictions(result.records, result.head, result.labels, flags.format as 'jsonl' | 'csv');
      if (flags.out) fs.writeFileSync(flags.out, text);
      else process.stdout.write(text);
      const cut = result.truncated > 0 ? `, ${result.truncated} inputs cut to the run's input length` : '';
      this.logToStderr(`run ${result.run.id} (${result.run.task}/${result.run.method}): ${result.records.length} predictions from ${result.inputKind === 'plain' ? 'plain' : 'task-format'} input${flags.out ? ` to ${flags.out}` : ''}${cut}`);
    } finally {
      store.close();
    }
  }
}
