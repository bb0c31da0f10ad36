/**
 * A real redis-server for the queue tests: on 127.0.0.1, a free port, its own temporary directory,
 * append-only persistence (so it can be restarted mid-experiment and keep its jobs), optionally a
 * password. Redis comes from the system (Debian package `redis-server`, installed by `.ci/run`);
 * without it the tests skip with a line naming the package, except under CI=true, where they fail.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function redisServerPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], {encoding: 'utf8'});
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The `skip` option of a queue test: a reason outside CI when redis-server is missing, else false. */
export function skipWithoutRedis(): string | false {
  if (redisServerPath()) return false;
  if (process.env.CI === 'true') throw new Error('redis-server is required under CI=true: apt-get install -y redis-server');
  return 'needs redis-server: apt-get install -y redis-server (Debian package "redis-server")';
}

export interface RedisServer {
  port: number;
  dir: string;
  /** redis://[:password@]127.0.0.1:port */
  url: string;
  stop(): Promise<void>;
  /** Stops it (SIGTERM: the append-only file is flushed) and starts it again on the same port and directory. */
  restart(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Until the server answers PING (+PONG, or -NOAUTH when it wants a password). */
async function waitForRedis(port: number, deadline = Date.now() + 10_000): Promise<void> {
  for (;;) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('error', () => resolve(false));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
      });
      socket.once('connect', () => socket.write('PING\r\n'));
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedis(opts: {password?: string} = {}): Promise<RedisServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-redis-'));
  const port = await freePort();
  let child: ChildProcess;
  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--logfile', path.join(dir, 'redis.log')];
    if (opts.password) args.push('--requirepass', opts.password);
    child = spawn(redisServerPath()!, args, {stdio: 'ignore'});
    await waitForRedis(port);
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  await launch();
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  return {
    port,
    dir,
    url: `redis://${auth}127.0.0.1:${port}`,
    stop: async () => {
      await stop();
      fs.rmSync(dir, {recursive: true, force: true});
    },
    restart: async () => {
      await stop();
      await launch();
    },
  };
}
