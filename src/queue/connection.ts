/**
 * Where the queue lives: a Redis URL (`redis://[user:password@]host:port[/db]`, `rediss://` for
 * TLS) from `--queue URL`, or from the environment (`--queue env`, or no `--queue` for
 * `ptv2 worker` and `ptv2 collect`) so that a password need not appear in a process list.
 *
 * The URL is parsed here once into ioredis options; everything that prints or records where the
 * queue is uses `masked`, which never holds the password. bullmq (and its ioredis) is imported
 * dynamically, only by the commands that talk to the queue, so `ptv2 --help` and local runs never
 * load it.
 *
 * References: https://docs.bullmq.io/guide/connections, https://github.com/redis/ioredis#connect-to-redis
 */
import type {RedisOptions} from 'ioredis';
import {UserError} from '../errors.js';

/** The environment variable `--queue env` reads. */
export const QUEUE_URL_ENV = 'PTV2_QUEUE_URL';

/** The one BullMQ queue every ptv2 job goes through (its Redis keys are `bull:ptv2:…`). */
export const QUEUE_NAME = 'ptv2';

export interface QueueTarget {
  /** The URL with any password replaced by `***`: safe to print, never stored with the password. */
  masked: string;
  /** Options for ioredis (and so bullmq); holds the password, never printed. */
  redis: RedisOptions;
}

/**
 * `--queue VALUE`: a URL, or `env` (or undefined, when `fallBackToEnv`) for PTV2_QUEUE_URL.
 * A bad URL is a UserError that names the flag and shows the URL masked.
 */
export function queueTarget(value: string | undefined, opts: {fallBackToEnv?: boolean} = {}): QueueTarget {
  const fromEnv = value === 'env' || (value === undefined && opts.fallBackToEnv);
  const raw = fromEnv ? process.env[QUEUE_URL_ENV] : value;
  const source = fromEnv ? QUEUE_URL_ENV : '--queue';
  if (raw === undefined || raw === '') {
    throw new UserError(fromEnv ? 'not set' : 'no queue given', {field: fromEnv ? QUEUE_URL_ENV : '--queue'}, [
      `pass --queue redis://host:6379, or export ${QUEUE_URL_ENV}=redis://:password@host:6379 and use --queue env`,
    ]);
  }
  return parseQueueUrl(raw, source);
}

export function parseQueueUrl(raw: string, source = '--queue'): QueueTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`not a Redis URL: ${maskUrl(raw)}`, {field: source}, ['expected redis://[user:password@]host:port[/db] or rediss://… for TLS']);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UserError(`expected a redis:// or rediss:// URL, got ${url.protocol}//…`, {field: source}, ['e.g. redis://127.0.0.1:6379']);
  }
  const db = url.pathname === '' || url.pathname === '/' ? 0 : Number(url.pathname.slice(1));
  if (!Number.isInteger(db) || db < 0) {
    throw new UserError(`the database number in ${maskUrl(raw)} is not an integer >= 0`, {field: source}, ['e.g. redis://127.0.0.1:6379/2']);
  }
  const redis: RedisOptions = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: url.port === '' ? 6379 : Number(url.port),
    db,
    // bullmq's blocking connections need unlimited retries: a restarted Redis is waited for.
    maxRetriesPerRequest: null,
    ...(url.username ? {username: decodeURIComponent(url.username)} : {}),
    ...(url.password ? {password: decodeURIComponent(url.password)} : {}),
    ...(url.protocol === 'rediss:' ? {tls: {servername: url.hostname}} : {}),
  };
  return {masked: maskUrl(raw), redis};
}

/** `redis://user:secret@host:6379/1` → `redis://user:***@host:6379/1`; text that is no URL keeps only its scheme. */
export function maskUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString().replace(/\/$/, '');
  } catch {
    const scheme = /^[a-z]+:\/\//i.exec(raw);
    return scheme ? `${scheme[0]}…` : '…';
  }
}

/** bullmq, loaded on first use. */
export async function loadBullmq(): Promise<typeof import('bullmq')> {
  return import('bullmq');
}

/**
 * Connects once and pings, failing within `timeoutMs` with a UserError that says how to fix it
 * (the commands then talk through bullmq, whose connections wait for Redis instead of failing).
 */
export async function checkReachable(target: QueueTarget, timeoutMs = 5000): Promise<void> {
  const {Redis} = await import('ioredis');
  const client = new Redis({...target.redis, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false});
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    const reason = (error as Error).message.replaceAll(target.redis.password ?? '\u0000', '***');
    throw new UserError(`cannot reach the queue at ${target.masked}: ${reason}`, {field: '--queue'}, [
      'start Redis there (redis-server --appendonly yes), or check the host, port and password',
    ]);
  } finally {
    client.disconnect();
  }
}
