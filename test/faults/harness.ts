// The fault suite's hooks: a private server per backend (skipped loudly, or failed under
// REQUIRE_SERVICES=1), a prefix, ledger and store per test, and every supervisor a test started
// killed afterwards with its workers. The helpers count jobs as the scenarios assert on them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/lib/config.js';
import { openStore, type Store } from '../../src/lib/store/index.js';
import { fixture } from '../helpers/fork.js';
import { readLedger, startSupervisor, killAll, workerPids, type RunningSupervisor } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { haveServers, privatePostgres, privateRedis, type Server } from './servers.js';

export type Backend = 'redis' | 'postgres';

export interface FaultContext {
  server: Server;
  store: Store;
  env: NodeJS.ProcessEnv;
  ledger: string;
  /** A supervisor on this test's data; killed with its workers after the test. */
  start(extra?: NodeJS.ProcessEnv): RunningSupervisor;
  /** `count` jobs of the sleep fixture on queue ai; `retryMs` for later attempts. */
  enqueue(count: number, ms: number, retryMs?: number): Promise<string[]>;
  allCompleted(ids: string[], timeoutMs?: number): Promise<NonNullable<Awaited<ReturnType<Store['get']>>>[]>;
  startsOf(id: string): number;
  /** Resolves once a worker's heartbeat has named every one of these jobs (its claims in the store; the supervisor got the same beat first). */
  claimed(ids: string[]): Promise<void>;
}

export function useFaults(backend: Backend): FaultContext {
  const t = {} as FaultContext;
  const supervisors: RunningSupervisor[] = [];
  let dir: string;
  before(async function () {
    if (!haveServers()) {
      if (process.env.REQUIRE_SERVICES === '1') throw new Error('fault suite: redis-server and PostgreSQL binaries are required');
      console.warn('SKIPPED: the fault suite needs redis-server and /usr/lib/postgresql/*/bin');
      this.skip();
    }
    t.server = backend === 'redis' ? await privateRedis() : await privatePostgres();
  });
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jv-faults-'));
    t.ledger = path.join(dir, 'ledger.txt');
    const prefix = `f${Date.now().toString(36)}`;
    t.env = {
      ...(backend === 'redis' ? { REDIS_URL: t.server.url } : { REDIS_URL: '', DATABASE_URL: t.server.url }),
      JOBVISOR_PREFIX: prefix, JOB_KEEP_COMPLETED_COUNT: '100000', JOB_KEEP_FAILED_COUNT: '100000',
      WORKER_QUEUES: 'ai', JOBVISOR_HANDLER_MODULE_AI: fixture('sleep'), BACKOFF_BASE_MS: '100',
    };
    t.store = await openStore(loadConfig(t.env));
  });
  afterEach(async () => {
    for (const s of supervisors.splice(0)) killAll([s.child.pid!, ...workerPids(s.logs)]);
    await t.store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  after(async () => {
    await t.server?.destroy();
  });

  t.start = (extra = {}) => {
    const s = startSupervisor({ ...t.env, ...extra });
    supervisors.push(s);
    return s;
  };
  t.enqueue = async (count, ms, retryMs) => (await t.store.enqueueBulk(Array.from({ length: count }, () =>
    ({ queue: 'ai', data: { ledger: t.ledger, ms, ...(retryMs === undefined ? {} : { retryMs }) } })))).map((r) => r.job.id);
  t.allCompleted = (ids, timeoutMs = 60_000) => waitFor(async () => {
    const views = await Promise.all(ids.map((id) => t.store.get('ai', id)));
    return views.every((v) => v?.state === 'completed') && (views as NonNullable<(typeof views)[number]>[]);
  }, { timeoutMs, intervalMs: 200, message: `${ids.length} jobs completed` });
  t.startsOf = (id) => readLedger(t.ledger).filter((l) => l === `start ${id}`).length;
  t.claimed = async (ids) => {
    await waitFor(async () => {
      const held = new Set((await t.store.claimsOf(os.hostname())).flatMap((c) => c.held.map((h) => h.id)));
      return ids.every((id) => held.has(id));
    }, { timeoutMs: 10_000, intervalMs: 50, message: 'a heartbeat naming the jobs' });
  };
  return t;
}
