import {Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';

export default class Score extends Ptv2Command {
  static override description = `Score a prediction file against gold data with ptv2's metric code.

Both files are in the task's official format: SuperGLUE leaderboard jsonl ({"idx", "label"}; MultiRC nested by passage and question), CoNLL column files for NER (predicted tag last), "<predicate> words ||| tags" lines for SRL, and {id: answer} JSON for SQuAD. Prints one "name: value" line per metric.

With --config, the task is the config's entry of that name: a task defined there by family is scored from the files a run writes for it ({"idx", "label"} jsonl, CoNLL lines with the predicted tag last, {id: answer} JSON), its gold file read with the config's format, fields and columns; a named task takes its entry's options.`;

  static override examples = [
    '<%= config.bin %> score --task cb --gold datasets/superglue/CB/val.jsonl --pred runs/quickstart-1/cb_pt2/dev_predictions.jsonl',
    '<%= config.bin %> score --task rte --gold datasets/superglue/RTE/val.jsonl --pred runs/quickstart-1/rte_ft/dev_predictions.jsonl --json',
    '<%= config.bin %> score --task conll03 --gold datasets/ner/conll03/dev.txt --pred datasets/ner/conll03/dev.txt',
    '<%= config.bin %> score --config configs/quickstart.yaml --task boolq --gold datasets/superglue/BoolQ/val.jsonl --pred runs/quickstart-1/boolq_pt2/dev_predictions.jsonl',
  ];

  static override flags = {
    task: Flags.string({description: 'task name, e.g. rte, multirc, conll03, conll05, squad_v2', required: true}),
    gold: Flags.string({description: 'gold file with labels', required: true}),
    pred: Flags.string({description: 'prediction file', required: true}),
    'na-prob': Flags.string({description: 'squad_v2: JSON of no-answer probabilities per question id'}),
    config: Flags.string({description: 'experiment config; --task names one of its tasks, e.g. one defined by family'}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<Record<string, number>> {
    const {flags} = await this.parse(Score);
    const {scoreFiles} = await import('../score/index.js');
    const scores = scoreFiles({task: flags.task, gold: flags.gold, pred: flags.pred, naProb: flags['na-prob'], config: flags.config});
    for (const [name, value] of Object.entries(scores)) this.log(`${name}: ${value}`);
    return scores;
  }
}
