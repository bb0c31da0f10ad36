import {Flags} from '@oclif/core';
import {Ptv2Command} from '../cli/base.js';
import {BACKEND_CHOICES} from '../compute/backend.js';

export default class Doctor extends Ptv2Command {
  static override description = `Show what ptv2 run would compute with, and how fast.

Prints the compute backend that auto (or --backend, or PTV2_BACKEND) picks, the BLAS library it calls (path, version and build string, threads; PTV2_BLAS and PTV2_THREADS choose them), the CPU's SIMD and estimated fp32 peak (cores × flops per cycle × MHz), whether @tensorflow/tfjs-node(-gpu) is installed, and a GEMM self-test (1024×1024×1024 and the BERT-base FFN shape 1024×768×3072) in GFLOP/s against that peak.`;

  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json', 'PTV2_THREADS=1 <%= config.bin %> doctor --no-gemm', 'PTV2_BLAS=none <%= config.bin %> doctor'];

  static override flags = {
    backend: Flags.string({description: 'compute backend (default: PTV2_BACKEND, else auto)', options: [...BACKEND_CHOICES]}),
    gemm: Flags.boolean({description: 'run the GEMM self-test', default: true, allowNo: true}),
  };

  static override enableJsonFlag = true;

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Doctor);
    const {resolveBackendChoice} = await import('../compute/backend.js');
    const {diagnose, formatDoctor} = await import('../compute/doctor.js');
    const report = await diagnose({backend: resolveBackendChoice(flags.backend), gemm: flags.gemm});
    for (const line of formatDoctor(report)) this.log(line);
    return report;
  }
}
