// A host that falls silent, as another host's api sees it: a real worker process
// is frozen (SIGSTOP) while it holds two jobs. queue-stats shows its host
// unreachable and its jobs orphaned, /metrics and readiness say so (readiness
// stays 200), and once BullMQ's stalled check has moved the jobs and a worker
// elsewhere ran them, orphaned is 0 again. A worker that exits cleanly leaves
// no unreachable host behind. On Redis and on PostgreSQL.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import request from 'supertest';
import type { Consumer } from '../../../src/lib/store/index.js';
import { exited, fixture, forkWorker } from '../../helpers/fork.js';
import { DATABASE_URL, REDIS_URL } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import { openApi, postgresBackend, redisBackend, type Backend, type TestApi } from './harness.js';

const ADMIN = 'fleet-admin';
const QUEUE = 'ai';

function workerEnv(backend: Backend): NodeJS.ProcessEnv {
  const { mode, prefix } = backend.storeConfig();
  const store = mode === 'redis' ? { REDIS_URL, DATABASE_URL: '' } : { REDIS_URL: '', DATABASE_URL };
  // A lock longer than the registry's TTL (5 beats of 1 s): the silence shows before anyone may take the jobs.
  return { ...store, JOBVISOR_PREFIX: prefix, QUEUE_AI_CONCURRENCY: '2', JOB_LOCK_MS: '6000', JOB_STALLED_INTERVAL_MS: '1000' };
}

function describeSilence(backend: Backend): void {
  describe(`queue-stats: a host that falls silent [${backend.name}]`, function () {
    this.timeout(90_000);
    let api: TestApi;
    let worker: ChildProcess | undefined;
    let rescuer: Consumer | undefined;
    const stats = async () => (await request(api.app).get('/api/jobs/queue-stats').set('X-API-Key', ADMIN).expect(200)).body;
    const metrics = async () => (await request(api.app).get('/metrics').expect(200)).text;

    before(async function () {
      await backend.require(this);
      api = await openApi(backend, { ADMIN_API_KEYS: ADMIN, WORKER_QUEUES: QUEUE }, { metricsCountsTtlMs: 1 });
    });
    afterEach(async () => {
      worker?.kill('SIGKILL');
      if (worker) await exited(worker);
      await rescuer?.close();
      // What a test left in the registry (a frozen worker's record, a fake live one) is no concern of the next.
      const { live, silent } = await api.store.listFleet();
      for (const record of [...live, ...silent]) await api.store.removeProcess(record.id);
      worker = rescuer = undefined;
    });
    after(async () => {
      await api?.store.close();
      await backend.cleanup();
    });

    it('shows a frozen host unreachable and its jobs orphaned, until the stalled check takes them back', async () => {
      worker = forkWorker(QUEUE, workerEnv(backend), fixture('sleep'));
      const jobs = await api.store.enqueueBulk([1, 2].map(() => ({ queue: QUEUE, data: { ms: 60_000 } })));
      const live = await waitFor(async () => {
        const body = await stats();
        return body.workers.some((w: { pid: number; active: number }) => w.pid === worker!.pid && w.active === 2) && body;
      }, { timeoutMs: 30_000, intervalMs: 200, message: 'the worker to report both jobs' });
      const running = live.workers.find((w: { pid: number }) => w.pid === worker!.pid);
      expect(running).to.include({ state: 'running' });
      expect(live.hosts).to.deep.equal([{ host: os.hostname(), state: 'up', lastSeen: running.lastSeen, workers: 1, unreachableWorkers: 0 }]);
      expect(live.queues.ai).to.include({ orphaned: 0, liveWorkers: 1 });

      // Another host keeps a live worker of the queue, so this api can serve: readiness must stay 200.
      const elsewhere = { id: 'host-a:1:ai', host: 'host-a', pid: 1, queue: QUEUE, state: 'running' as const, rss: 1, heapUsed: 1, active: 0, processed: 0, failed: 0, startedAt: Date.now() };
      await api.store.heartbeat(elsewhere, 60_000);
      const frozenAt = Date.now();
      worker.kill('SIGSTOP');

      const silent = await waitFor(async () => {
        const body = await stats();
        return body.hosts.find((h: { host: string; state: string }) => h.host === os.hostname() && h.state === 'unreachable') ? body : undefined;
      }, { timeoutMs: 20_000, intervalMs: 200, message: 'the frozen host shown unreachable' });
      expect(Date.now() - frozenAt, 'not before its records expired (5 beats)').to.be.above(3000);
      expect(silent.hosts).to.deep.include({ host: 'host-a', state: 'up', lastSeen: silent.hosts.find((h: { host: string }) => h.host === 'host-a').lastSeen, workers: 1, unreachableWorkers: 0 });
      const frozenHost = silent.hosts.find((h: { host: string }) => h.host === os.hostname());
      expect(frozenHost).to.include({ workers: 1, unreachableWorkers: 1 });
      expect(Date.parse(frozenHost.lastSeen), 'last seen before the freeze').to.be.at.most(frozenAt + 1000);
      expect(silent.workers.find((w: { pid: number }) => w.pid === worker!.pid)).to.include({ state: 'unreachable', active: 2 });
      expect(silent.queues.ai, 'both jobs held by no live worker; the silent one is no live worker').to.include({ orphaned: 2, liveWorkers: 1 });
      expect(silent.queues.ai.counts.active, 'BullMQ still counts them active').to.equal(2);

      const text = await metrics();
      expect(text).to.include('jobvisor_jobs_orphaned{queue="ai"} 2');
      expect(text).to.match(/^jobvisor_hosts_unreachable 1$/m);
      const ready = await request(api.app).get('/api/health/ready').expect(200);
      expect(ready.body.unreachableHosts).to.deep.equal([os.hostname()]);

      // A worker elsewhere runs BullMQ's stalled check: once the frozen worker's locks expire, it moves the jobs and runs them.
      rescuer = api.store.consume(QUEUE, async () => ({ kind: 'completed', result: 'rescued' }), { concurrency: 2 });
      await waitFor(async () => (await api.store.counts(QUEUE)).completed === 2, { timeoutMs: 30_000, intervalMs: 200, message: 'the orphaned jobs run elsewhere' });
      for (const { id } of jobs) expect((await api.store.get(QUEUE, id))!.result).to.equal('rescued');
      const after = await stats();
      expect(after.queues.ai).to.include({ orphaned: 0 });
      expect(after.hosts.find((h: { host: string }) => h.host === os.hostname()), 'still silent').to.include({ state: 'unreachable' });
      expect(await metrics()).to.include('jobvisor_jobs_orphaned{queue="ai"} 0');
    });

    it('shows no unreachable host after a worker exits cleanly', async () => {
      worker = forkWorker(QUEUE, workerEnv(backend), fixture('sleep'));
      await waitFor(async () => (await stats()).workers.some((w: { pid: number }) => w.pid === worker!.pid), { timeoutMs: 30_000, intervalMs: 200, message: 'the worker registered' });
      worker.kill('SIGTERM');
      expect(await exited(worker)).to.equal(0);
      // Removed at once, not left to expire into a silent record (that it never returns as silent: describe-registry).
      const body = await stats();
      expect(body.hosts).to.deep.equal([]);
      expect(body.workers).to.deep.equal([]);
      expect(await metrics()).to.match(/^jobvisor_hosts_unreachable 0$/m);
    });
  });
}

describeSilence(redisBackend());
describeSilence(postgresBackend());
