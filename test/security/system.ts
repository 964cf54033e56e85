// A running system for the security suite: the api on a real socket (user and
// admin keys, the dashboard mounted) over a real Redis store, and the real
// handlers of every queue run by the worker runtime, reading from one input
// root. Beside that root, outside it, a secret file is planted; `leaks()`
// looks for the secret (and for this process's environment) in every output
// file, result and error.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/lib/config.js';
import { openDashboard, type Dashboard } from '../../src/lib/store/dashboard.js';
import type { JobView } from '../../src/lib/store/index.js';
import { QUEUE_NAMES } from '../../src/queues/index.js';
import aiHandler from '../../src/queues/ai/handler.js';
import documentHandler from '../../src/queues/document/handler.js';
import maintenanceHandler from '../../src/queues/maintenance/handler.js';
import ragSyncHandler from '../../src/queues/rag-sync/handler.js';
import videoHandler from '../../src/queues/video/handler.js';
import { TEST_JOBS } from '../conformance/describe-store.js';
import { REDIS_URL } from '../helpers/services.js';
import { silent } from '../integration/api/harness.js';
import { useHarness, type Harness } from '../integration/handlers/harness.js';

export const USER = { 'X-API-Key': 'user-key' };
export const ADMIN = { 'X-API-Key': 'admin-key' };

export interface System {
  h: Harness;
  /** The api's base URL. */
  base: string;
  /** The one input root. */
  root: string;
  /** A mode-600 file outside the root, holding `secret` (as a Markdown heading too). */
  secretFile: string;
  secret: string;
  request(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  /** Enqueue as a user key (unless told otherwise) and wait for the job to end. */
  run(queue: string, data: unknown, options?: { headers?: Record<string, string>; name?: string }): Promise<JobView>;
  /** Every place the secret or this process's environment shows up: output files, and the given jobs' results and errors. */
  leaks(jobs: JobView[]): Promise<string[]>;
}

/** `KEY=value` lines of this process's starting environment long enough to be told apart. */
function environment(): string[] {
  return fs.readFileSync('/proc/self/environ', 'utf8').split('\0').filter((entry) => /^\w+=.{8,}/.test(entry));
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

export function useSystem(env: NodeJS.ProcessEnv = {}): System {
  const secret = `jv-secret-${Math.random().toString(36).slice(2)}`;
  const system = { secret } as System;
  system.h = useHarness({
    env: ({ scratch }) => {
      system.root = path.join(scratch, 'input');
      fs.mkdirSync(system.root);
      fs.mkdirSync(path.join(scratch, 'outside'));
      system.secretFile = path.join(scratch, 'outside', 'secret.md');
      fs.writeFileSync(system.secretFile, `# ${secret}\n\n${secret} is what an attacker wants.\n`, { mode: 0o600 });
      return {
        JOBVISOR_INPUT_ROOTS: system.root, JOBVISOR_URL_ALLOWLIST: 'localhost', JOBVISOR_MAX_INPUT_BYTES: '256kb',
        JOBVISOR_MAX_URL_BYTES: '1mb', JOBVISOR_URL_TIMEOUT_MS: '2000', JOBVISOR_MAX_FEED_BYTES: '64kb', JOBVISOR_MAX_FEED_ITEMS: '20', ...env,
      };
    },
  });
  const { h } = system;
  let server: http.Server;
  let dashboard: Dashboard;

  before(async () => {
    for (const [queue, handler] of [['document', documentHandler], ['ai', aiHandler], ['video', videoHandler], ['rag-sync', ragSyncHandler], ['maintenance', maintenanceHandler]] as const) {
      h.start(queue, handler, { concurrency: 2 });
    }
    dashboard = await openDashboard({ mode: 'redis', redisUrl: REDIS_URL, prefix: h.prefix, jobs: TEST_JOBS }, QUEUE_NAMES, '/admin/queues');
    const config = loadConfig({ REDIS_URL, API_KEYS: 'user-key', ADMIN_API_KEYS: 'admin-key', ENQUEUE_RATE_LIMIT: '0', AUTH_FAILURE_LIMIT: '1000' });
    const { app } = createApp({ store: h.store, config, logger: silent, dashboard: dashboard.router });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    system.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await dashboard?.close();
  });

  system.request = async (method, url, body, headers = USER) => {
    const res = await fetch(`${system.base}${url}`, {
      method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch { /* not JSON: kept as text */ }
    return { status: res.status, body: parsed, headers: res.headers };
  };

  system.run = async (queue, data, options = {}) => {
    const res = await system.request('POST', '/api/jobs', { queue, data, attempts: 1, ...(options.name ? { name: options.name } : {}) }, options.headers ?? USER);
    if (res.status !== 202) throw new Error(`enqueue answered ${res.status}: ${JSON.stringify(res.body)}`);
    return h.settled(queue, res.body.id);
  };

  system.leaks = async (jobs) => {
    const markers = [secret, ...environment()];
    const found: string[] = [];
    for (const file of filesUnder(h.output)) {
      const content = fs.readFileSync(file, 'latin1');
      for (const marker of markers) if (content.includes(marker)) found.push(`${file} holds ${marker.slice(0, 20)}…`);
    }
    for (const job of jobs) {
      const shown = JSON.stringify({ result: job.result, error: job.error, progress: job.progress, timeline: job.timeline });
      for (const marker of markers) if (shown.includes(marker)) found.push(`job ${job.queue}/${job.id} shows ${marker.slice(0, 20)}…`);
    }
    return found;
  };

  return system;
}

/** A throwaway HTTP server on 127.0.0.1 that counts its requests. */
export async function localServer(handle: http.RequestListener): Promise<{ port: number; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
