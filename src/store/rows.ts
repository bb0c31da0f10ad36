/**
 * The rows the store takes and gives: experiments, runs, metrics, artifacts, best scores.
 */

/** `queued`: waiting in the queue of experiments across machines (src/queue). */
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'interrupted';

export interface RunStart {
  experimentId: number;
  task: string;
  method: string;
  stage?: string;
  sweepKey?: string;
  sweepValue?: string;
  params: Record<string, unknown>;
  seed: number;
  backend: string;
  modelPath?: string;
  trainableParams: number;
  totalParams: number;
  keyMetric: string;
}

export interface MetricRow {
  epoch: number;
  step: number;
  split: string;
  name: string;
  value: number;
}

export interface ExperimentRow {
  id: number;
  name: string;
  configPath: string | null;
  configText: string;
  configHash: string;
  createdAt: string;
  status: RunStatus;
  finishedAt: string | null;
  pid: number | null;
  host: string | null;
  /** When its process last showed it was alive (null before schema version 2). */
  heartbeatAt: string | null;
}

export interface RunRow {
  id: number;
  experimentId: number;
  task: string;
  method: string;
  stage: string;
  sweepKey: string | null;
  sweepValue: string | null;
  params: Record<string, unknown>;
  seed: number;
  backend: string;
  modelPath: string | null;
  trainableParams: number;
  totalParams: number;
  keyMetric: string;
  status: RunStatus;
  error: string | null;
  bestEpoch: number | null;
  bestValue: number | null;
  pid: number | null;
  host: string | null;
  startedAt: string;
  finishedAt: string | null;
  seconds: number | null;
  heartbeatAt: string | null;
}

export interface BestScoreRow {
  runId: number;
  task: string;
  method: string;
  stage: string;
  sweepKey: string | null;
  sweepValue: string | null;
  keyMetric: string;
  /** Best value of the key metric on the split, or null when the run recorded none. */
  value: number | null;
  epoch: number | null;
  status: RunStatus;
  /** What 100% is in the task's metric: 1 for fractions, 100 for scorers that print percentages (SQuAD). */
  metricScale: number;
}

export interface ArtifactRow {
  id: number;
  runId: number;
  kind: string;
  path: string;
  sha256: string | null;
}

/** The split whose key metric selects the best epoch and fills the report. */
export const DEV_SPLIT = 'dev';
