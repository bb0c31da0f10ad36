/**
 * Is a row marked 'running' really running? A ptv2 process stamps `heartbeat_at` on its experiment
 * and its current run every HEARTBEAT_SECONDS while it trains. A row is taken as abandoned (and
 * read as 'interrupted' by every command) when
 *   - its heartbeat (or, for rows written before heartbeats, its start) is older than the stale
 *     limit, wherever it ran: another host, another container or PID namespace; or
 *   - it ran on a host of this name under a pid that does not exist here, and has missed two
 *     heartbeats (10 s). The grace matters: containers often share a host name ("vm") while each
 *     has its own PID namespace, so a pid missing here may be alive next door, still beating.
 *     Rows without heartbeats (written before schema version 2) are judged by the pid alone.
 * The limit is 60 s, or PTV2_STALE_SECONDS; it must be longer than the longest pause between two
 * heartbeats (one training step or one evaluation batch), or a live run on a slow machine would
 * be taken for a dead one.
 */
import {UserError} from '../errors.js';

/** How often a training process stamps its heartbeat. */
export const HEARTBEAT_SECONDS = 5;
/** A dead pid on this host counts once its row has been silent this long (two missed beats). */
export const PID_GRACE_SECONDS = 2 * HEARTBEAT_SECONDS;
export const DEFAULT_STALE_SECONDS = 60;
export const STALE_ENV = 'PTV2_STALE_SECONDS';

/** The stale limit in seconds: PTV2_STALE_SECONDS when set (a positive number), else 60. */
export function staleSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[STALE_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_STALE_SECONDS;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new UserError(`expected a number of seconds > 0, got ${JSON.stringify(raw)}`, {field: STALE_ENV}, [
      `unset it for the default (${DEFAULT_STALE_SECONDS}), or set e.g. ${STALE_ENV}=300 when single steps take minutes`,
    ]);
  }
  return value;
}

/** What liveness needs of an experiment or run row. */
export interface Liveness {
  status: string;
  pid: number | null;
  host: string | null;
  heartbeatAt: string | null;
  /** started_at of a run, created_at of an experiment: the heartbeat of rows that have none. */
  since: string;
}

/** Why a 'running' row is abandoned, or undefined when it may still be running (or is not 'running'). */
export function abandonedBecause(row: Liveness, ctx: {host: string; staleSeconds: number; now?: number}): string | undefined {
  if (row.status !== 'running') return undefined;
  const last = Date.parse(row.heartbeatAt ?? row.since);
  const silent = ((ctx.now ?? Date.now()) - last) / 1000;
  const graceOver = row.heartbeatAt === null || !(silent <= PID_GRACE_SECONDS);
  if (row.host === ctx.host && graceOver && !isProcessAlive(row.pid)) return `process ${row.pid ?? '?'} on ${ctx.host} exited without finishing`;
  if (Number.isFinite(last) && silent > ctx.staleSeconds) {
    return `no heartbeat from process ${row.pid ?? '?'} on ${row.host ?? '?'} for ${Math.round(silent)} s (limit ${ctx.staleSeconds} s, ${STALE_ENV})`;
  }
  return undefined;
}

/** Seconds since the row's last sign of life, for messages. */
export function secondsSilent(row: Pick<Liveness, 'heartbeatAt' | 'since'>, now = Date.now()): number {
  return Math.max(0, Math.round((now - Date.parse(row.heartbeatAt ?? row.since)) / 1000));
}

/** Signal 0 only probes: ESRCH means no such process, EPERM means it exists under another user. */
export function isProcessAlive(pid: number | null): boolean {
  if (pid === null || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
