// The fault suite: a real supervisor and its workers against private Redis and PostgreSQL
// servers that the tests kill and restart. Each scenario asserts that every acknowledged job
// completed, that none ran twice where the promise is exactly-once, and the recovery times the
// README's "What happens when…" table states. Times measured here are logged.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/lib/config.js';
import { openStore, type Store } from '../../src/lib/store/index.js';
import { fixture } from '../helpers/fork.js';
import { readLedger, startSupervisor, tally, killAll, workerPids, type RunningSupervisor } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { haveServers, privatePostgres, privateRedis, type Server } from './servers.js';

const LONG_JOB_MS = 4000;

for (const backend of ['redis', 'postgres'] as const) {
  describe(`faults [${backend}]`, function () {
    this.timeout(120_000);
    let server: Server;
    let store: Store;
    let env: NodeJS.ProcessEnv;
    let dir: string;
    let ledger: string;
    const supervisors: RunningSupervisor[] = [];

    before(async function () {
      if (!haveServers()) {
        if (process.env.REQUIRE_SERVICES === '1') throw new Error('fault suite: redis-server and PostgreSQL binaries are required');
        console.warn('SKIPPED: the fault suite needs redis-server and /usr/lib/postgresql/*/bin');
        this.skip();
      }
      server = backend === 'redis' ? await privateRedis() : await privatePostgres();
    });
    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jv-faults-'));
      ledger = path.join(dir, 'ledger.txt');
      const prefix = `f${Date.now().toString(36)}`;
      env = {
        ...(backend === 'redis' ? { REDIS_URL: server.url } : { REDIS_URL: '', DATABASE_URL: server.url }),
        JOBVISOR_PREFIX: prefix, JOB_KEEP_COMPLETED_COUNT: '100000', JOB_KEEP_FAILED_COUNT: '100000',
        WORKER_QUEUES: 'ai', JOBVISOR_HANDLER_MODULE_AI: fixture('sleep'), BACKOFF_BASE_MS: '100',
      };
      store = await openStore(loadConfig(env));
    });
    afterEach(async () => {
      for (const s of supervisors.splice(0)) killAll([s.child.pid!, ...workerPids(s.logs)]);
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    after(async () => {
      await server?.destroy();
    });

    const start = (extra: NodeJS.ProcessEnv = {}) => {
      const s = startSupervisor({ ...env, ...extra });
      supervisors.push(s);
      return s;
    };
    const enqueue = async (count: number, ms: number) =>
      (await store.enqueueBulk(Array.from({ length: count }, () => ({ queue: 'ai', data: { ledger, ms } })))).map((r) => r.job.id);
    const allCompleted = (ids: string[], timeoutMs = 60_000) => waitFor(async () => {
      const views = await Promise.all(ids.map((id) => store.get('ai', id)));
      return views.every((v) => v?.state === 'completed') && views;
    }, { timeoutMs, intervalMs: 200, message: `${ids.length} jobs completed` });
    const startsOf = (id: string) => readLedger(ledger).filter((l) => l === `start ${id}`).length;

    it('SIGKILL of a worker: its jobs start again within 5 s (not after the lock expires), and all complete', async () => {
      const supervisor = start({ QUEUE_AI_CONCURRENCY: '3' });
      await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'a worker');
      const ids = await enqueue(3, LONG_JOB_MS);
      await waitFor(() => ids.every((id) => startsOf(id) === 1), { timeoutMs: 20_000, message: 'all three running' });
      await new Promise((resolve) => setTimeout(resolve, 1200)); // a heartbeat names them
      const [pid] = workerPids(supervisor.logs);
      const killedAt = Date.now();
      process.kill(pid!, 'SIGKILL');
      await waitFor(() => ids.every((id) => startsOf(id) === 2), { timeoutMs: 20_000, intervalMs: 50, message: 'the jobs started again' });
      const recoveredMs = Date.now() - killedAt;
      console.log(`      measured [${backend}]: worker SIGKILL → its jobs running again in ${recoveredMs} ms`);
      expect(recoveredMs).to.be.below(5000);
      const views = await allCompleted(ids);
      expect(views.map((v) => v!.timeline.filter((e) => e.event === 'active').length), 'each attempt has its active entry').to.deep.equal([2, 2, 2]);
    });

    it('max-jobs 5: no worker process starts more than 5 jobs, and all complete', async () => {
      start({ QUEUE_AI_MAX_JOBS: '5', QUEUE_AI_CONCURRENCY: '1' });
      const ids = await enqueue(30, 50);
      const views = await allCompleted(ids, 90_000);
      const perWorker = tally(views.map((v) => v!.timeline.find((e) => e.event === 'active')?.detail ?? 'unnamed'));
      expect(perWorker.has('unnamed'), 'every active entry names its worker').to.equal(false);
      expect(Math.max(...perWorker.values()), JSON.stringify([...perWorker])).to.be.at.most(5);
      expect([...tally(readLedger(ledger).filter((l) => l.startsWith('start '))).values()].every((n) => n === 1), 'none ran twice').to.equal(true);
    });

    it('a store restart under load runs no job twice and loses none', async () => {
      start({ QUEUE_AI_CONCURRENCY: '4' });
      const ids = await enqueue(40, 300);
      await waitFor(() => readLedger(ledger).filter((l) => !l.startsWith('start ')).length >= 8, { timeoutMs: 30_000, message: 'some completed' });
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, 1500)); // handlers finish while the store is down
      const upAt = Date.now();
      await server.start();
      const before = readLedger(ledger).length;
      await waitFor(() => readLedger(ledger).length > before, { timeoutMs: 30_000, intervalMs: 50, message: 'work again after the restart' });
      console.log(`      measured [${backend}]: store restart → jobs running again ${Date.now() - upAt} ms after the server is up`);
      await allCompleted(ids, 90_000);
      const twice = [...tally(readLedger(ledger).filter((l) => !l.startsWith('start '))).entries()].filter(([, n]) => n > 1);
      expect(twice, 'no handler finished twice').to.deep.equal([]);
    });
  });
}
