/**
 * The `ptv2 ui` web server: node:http, a JSON API over the store opened read-only, the page's
 * static files (and Vega's browser build from node_modules, so it works offline), a run's
 * recorded files, and server-sent events that say when another process wrote the database.
 *
 * Loopback only unless the caller explicitly allows another address; on loopback, requests whose
 * Host header names another machine are refused (DNS rebinding).
 *
 * References: nodejs.org/api/http.html; html.spec.whatwg.org/multipage/server-sent-events.html;
 * sqlite.org/pragma.html#pragma_data_version.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {UserError} from '../errors.js';
import {Store} from '../store/index.js';
import {curveCharts, sweepChart} from './charts.js';
import {allRuns, curves, experimentView, listExperiments, runDetail} from './data.js';

export interface DashboardOptions {
  dbPath: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** A non-loopback host is refused unless this is set (`--host` given on the command line). */
  allowNonLoopback?: boolean;
  /** How often the database is checked for writes by other processes (ms). */
  pollMs?: number;
}

export interface Dashboard {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** The page's own files: `web/` at the package root (beside `src/` and `dist/`). */
export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

/** Vega's browser build, from the installed package. */
export function vegaBrowserBuild(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.resolve('vega'))), 'vega.min.js');
}

const STATIC = new Map<string, {file: () => string; type: string}>([
  ['/', {file: () => path.join(WEB_DIR, 'index.html'), type: 'text/html; charset=utf-8'}],
  ['/static/app.js', {file: () => path.join(WEB_DIR, 'app.js'), type: 'text/javascript; charset=utf-8'}],
  ['/static/style.css', {file: () => path.join(WEB_DIR, 'style.css'), type: 'text/css; charset=utf-8'}],
  ['/static/vega.min.js', {file: vegaBrowserBuild, type: 'text/javascript; charset=utf-8'}],
]);

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

class NotFound extends Error {}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store'});
  res.end(text);
}

function idOf(text: string): number {
  if (!/^\d+$/.test(text)) throw new NotFound(`not an id: ${text}`);
  return Number(text);
}

/** The JSON API; every answer is built from the read-only store. */
async function api(store: Store, dbPath: string, route: string, query: URLSearchParams): Promise<unknown> {
  const parts = route.split('/').filter(Boolean);
  if (parts[0] === 'experiments' && parts.length === 1) return listExperiments(store);
  if (parts[0] === 'experiments' && parts.length === 2) {
    const experiment = store.findExperiment(parts[1]);
    if (!experiment || String(experiment.id) !== parts[1]) throw new NotFound(`no experiment ${parts[1]}`);
    const view = experimentView(store, experiment, query.get('split') ?? 'dev');
    const runIds = view.runs.map((r) => r.run);
    const charts = [...(view.sweep ? [await sweepChart(view.sweep)] : []), ...(await curveCharts(curves(store, runIds)))];
    return {...view, charts};
  }
  if (parts[0] === 'runs' && parts.length === 1) return allRuns(store);
  if (parts[0] === 'runs' && parts.length === 2) {
    const detail = runDetail(store, idOf(parts[1]), dbPath);
    if (!detail) throw new NotFound(`no run ${parts[1]}`);
    return {...detail, charts: await curveCharts(curves(store, [detail.run.run]))};
  }
  if (parts[0] === 'curves' && parts.length === 1) {
    const ids = (query.get('runs') ?? '').split(',').filter(Boolean).map(idOf);
    const data = curves(store, ids);
    return {...data, charts: await curveCharts(data)};
  }
  throw new NotFound(`no such endpoint: /api/${route}`);
}

/** A recorded artifact of a run, by run and artifact id: only files the database lists are served. */
function sendArtifact(store: Store, res: http.ServerResponse, runId: string, artifactId: string): void {
  const artifact = store.artifacts(idOf(runId)).find((a) => a.id === idOf(artifactId));
  if (!artifact) throw new NotFound(`run ${runId} has no artifact ${artifactId}`);
  if (!fs.existsSync(artifact.path)) throw new NotFound(`${artifact.path} is no longer there`);
  const binary = artifact.path.endsWith('.safetensors');
  res.writeHead(200, {
    'content-type': binary ? 'application/octet-stream' : 'text/plain; charset=utf-8',
    'content-disposition': `${binary ? 'attachment' : 'inline'}; filename="${path.basename(artifact.path).replaceAll('"', '')}"`,
  });
  fs.createReadStream(artifact.path).pipe(res);
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && !opts.allowNonLoopback) {
    throw new UserError(`refusing to serve on ${host}: ptv2 ui listens on loopback only unless --host is given`, {}, ['ptv2 ui --host 0.0.0.0 to serve other machines (anyone who can reach it reads your results)']);
  }
  const store = Store.openReadOnly(opts.dbPath);
  const dbPath = opts.dbPath;
  const listeners = new Set<http.ServerResponse>();
  let version = store.dataVersion();
  const poll = setInterval(() => {
    const now = store.dataVersion();
    if (now === version) return;
    version = now;
    for (const res of listeners) res.write(`event: change\ndata: ${JSON.stringify({version})}\n\n`);
  }, opts.pollMs ?? 500);
  const keepAlive = setInterval(() => {
    for (const res of listeners) res.write(': keep-alive\n\n');
  }, 15_000);

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      try {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, {allow: 'GET, HEAD'});
          res.end('ptv2 ui only reads');
          return;
        }
        const requestHost = (req.headers.host ?? '').replace(/:\d+$/, '');
        if (isLoopback(host) && !isLoopback(requestHost)) {
          res.writeHead(403, {'content-type': 'text/plain'});
          res.end(`ptv2 ui serves loopback clients only, not Host ${requestHost}`);
          return;
        }
        const asset = STATIC.get(url.pathname);
        if (asset) {
          res.writeHead(200, {'content-type': asset.type, 'cache-control': 'no-cache'});
          res.end(fs.readFileSync(asset.file()));
          return;
        }
        if (url.pathname === '/api/events') {
          res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive'});
          res.write(`event: hello\ndata: ${JSON.stringify({version})}\n\n`);
          listeners.add(res);
          req.on('close', () => listeners.delete(res));
          return;
        }
        if (url.pathname.startsWith('/api/')) {
          sendJson(res, 200, await api(store, dbPath, url.pathname.slice('/api/'.length), url.searchParams));
          return;
        }
        const file = /^\/files\/(\d+)\/(\d+)$/.exec(url.pathname);
        if (file) {
          sendArtifact(store, res, file[1], file[2]);
          return;
        }
        throw new NotFound(`no page ${url.pathname}`);
      } catch (error) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const status = error instanceof NotFound ? 404 : 500;
        sendJson(res, status, {error: (error as Error).message});
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      clearInterval(poll);
      clearInterval(keepAlive);
      store.close();
      reject(error.code === 'EADDRINUSE' ? new UserError(`port ${opts.port} on ${host} is in use`, {}, ['pick another with --port N, or --port 0 for any free one']) : error);
    });
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(poll);
        clearInterval(keepAlive);
        for (const res of listeners) res.end();
        listeners.clear();
        server.closeAllConnections();
        server.close(() => {
          store.close();
          resolve();
        });
      }),
  };
}
