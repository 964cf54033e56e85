// The fault suite: a real supervisor and its workers against private Redis and PostgreSQL
// servers that the tests kill and restart. Each scenario asserts that every acknowledged job
// completed, that none ran twice where the promise is exactly-once, and the recovery times the
// README's "What happens when…" table states. Times measured here are logged.
import { expect } from 'chai';
import { readLedger, tally, workerPids } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { useFaults } from './harness.js';
import { SupervisorMemory } from '../../src/api/supervisor-memory.js';
import type { ProcessRecord } from '../../src/lib/store/index.js';

const memoryOf = (records: ProcessRecord[]) => {
  const memory = new SupervisorMemory();
  memory.observe(records);
  return memory;
};

const LONG_JOB_MS = 4000;

for (const backend of ['redis', 'postgres'] as const) {
  describe(`faults [${backend}]`, function () {
    this.timeout(120_000);
    const t = useFaults(backend);
    const { start, enqueue, allCompleted, startsOf } = t; // set at once; server, store and ledger per test

    it('SIGKILL of a worker: its jobs start again within 5 s (not after the lock expires), and all complete', async () => {
      const supervisor = start({ QUEUE_AI_CONCURRENCY: '3' });
      await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'a worker');
      const ids = await enqueue(3, LONG_JOB_MS);
      await waitFor(() => ids.every((id) => startsOf(id) === 1), { timeoutMs: 20_000, message: 'all three running' });
      await t.claimed(ids);
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
      const supervisor = start({ QUEUE_AI_MAX_JOBS: '5', QUEUE_AI_CONCURRENCY: '1' });
      const ids = await enqueue(30, 50);
      const views = await allCompleted(ids, 90_000);
      const perWorker = tally(views.map((v) => v!.timeline.find((e) => e.event === 'active')?.detail ?? 'unnamed'));
      expect(perWorker.has('unnamed'), 'every active entry names its worker').to.equal(false);
      expect(Math.max(...perWorker.values()), JSON.stringify([...perWorker])).to.be.at.most(5);
      expect([...tally(readLedger(t.ledger).filter((l) => l.startsWith('start '))).values()].every((n) => n === 1), 'none ran twice').to.equal(true);
      // queue-stats reads restarts from the registry (src/api/supervisor-memory.ts): every recycle counted there too.
      const recycles = supervisor.logs.filter((l) => l.action === 'recycle' && l.reason === 'max_jobs').length;
      expect(recycles).to.be.at.least(5);
      const counted = await waitFor(async () => (await t.store.listProcesses()).find((p) => p.queue === 'ai' && (p.restarts?.max_jobs ?? 0) >= recycles),
        { timeoutMs: 10_000, message: `a registry record counting ${recycles} max_jobs recycles` });
      expect(memoryOf([counted]).queue('ai').restarts.max_jobs, 'as queue-stats sums it').to.be.at.least(recycles);
    });

    it('a store restart under load runs no job twice and loses none', async () => {
      start({ QUEUE_AI_CONCURRENCY: '4' });
      const ids = await enqueue(40, 300);
      await waitFor(() => readLedger(t.ledger).filter((l) => !l.startsWith('start ')).length >= 8, { timeoutMs: 30_000, message: 'some completed' });
      await t.server.stop();
      await new Promise((resolve) => setTimeout(resolve, 1500)); // handlers finish while the store is down
      const upAt = Date.now();
      await t.server.start();
      const before = readLedger(t.ledger).length;
      await waitFor(() => readLedger(t.ledger).length > before, { timeoutMs: 30_000, intervalMs: 50, message: 'work again after the restart' });
      console.log(`      measured [${backend}]: store restart → jobs running again ${Date.now() - upAt} ms after the server is up`);
      await allCompleted(ids, 90_000);
      const twice = [...tally(readLedger(t.ledger).filter((l) => !l.startsWith('start '))).entries()].filter(([, n]) => n > 1);
      expect(twice, 'no handler finished twice').to.deep.equal([]);
    });
  });
}
