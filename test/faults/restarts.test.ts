// Faults of the supervisor and of the whole host: SIGKILL of the supervisor (its orphans drain
// beside a new one), SIGKILL of the whole process group then a restart on the same data, SIGTERM
// past SHUTDOWN_TIMEOUT_MS then a restart. Every acknowledged job completes; the jobs of dead
// workers start again within 5 s of the new supervisor starting (README, What happens when…).
import { expect } from 'chai';
import { isAlive, killAll, readLedger, workerPids, type RunningSupervisor } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { useFaults } from './harness.js';

/** Long enough that nothing in a scenario could wait for it; later attempts take `RETRY_MS`. */
const STUCK_MS = 120_000;
const RETRY_MS = 300;

for (const backend of ['redis', 'postgres'] as const) {
  describe(`faults: supervisor and host restarts [${backend}]`, function () {
    this.timeout(120_000);
    const t = useFaults(backend);
    const finished = (id: string) => readLedger(t.ledger).includes(id);
    const running = (supervisor: RunningSupervisor) => supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'a worker started');
    const startedAt = async (supervisor: RunningSupervisor) => {
      await supervisor.waitForLog((l) => l.msg === 'supervisor started', 30_000, 'the supervisor started');
      return Date.now();
    };
    /** Three jobs held by a worker whose heartbeat has named them (the claims a restart reads). */
    const holdThree = async (supervisor: RunningSupervisor) => {
      await running(supervisor);
      const ids = await t.enqueue(3, STUCK_MS, RETRY_MS);
      await waitFor(() => ids.every((id) => t.startsOf(id) === 1), { timeoutMs: 20_000, message: 'three jobs running' });
      await t.claimed(ids);
      return ids;
    };
    /**
     * Timed from the new supervisor's start (logged) and asserted from its first worker's start:
     * forking a worker through tsx takes seconds on a loaded 2-core machine, which no release shortens.
     */
    const restartedWithin = async (ids: string[], second: RunningSupervisor, what: string) => {
      const since = await startedAt(second);
      await running(second);
      const workerAt = Date.now();
      await waitFor(() => ids.every((id) => t.startsOf(id) === 2), { timeoutMs: 30_000, intervalMs: 50, message: 'the jobs started again' });
      const now = Date.now();
      console.log(`      measured [${backend}]: ${what} → jobs running again ${now - since} ms after the new supervisor started (${now - workerAt} ms after its worker)`);
      expect(now - workerAt).to.be.below(5000);
      const views = await t.allCompleted(ids);
      for (const view of views) {
        const events = view.timeline.map((e) => e.event);
        expect(events.filter((e) => e === 'active'), `every attempt has its active entry: ${events.join(',')}`).to.have.length(2);
        expect(events.slice(events.lastIndexOf('active')), 'no stalled after the attempt that ran').to.not.include('stalled');
      }
    };

    it('SIGKILL of the supervisor: its orphans finish their jobs while a new supervisor runs new ones at once; nothing runs twice', async () => {
      const first = t.start({ QUEUE_AI_CONCURRENCY: '2' });
      await running(first);
      const orphaned = await t.enqueue(2, 20_000); // longer than a supervisor takes to start on a loaded machine
      await waitFor(() => orphaned.every((id) => t.startsOf(id) === 1), { timeoutMs: 20_000, message: 'two jobs running' });
      await t.claimed(orphaned); // the new supervisor must leave a live orphan's claims alone
      process.kill(first.child.pid!, 'SIGKILL');
      const second = t.start({ QUEUE_AI_CONCURRENCY: '2' });
      const since = await startedAt(second);
      await running(second);
      const fresh = await t.enqueue(2, 100);
      await waitFor(() => fresh.every((id) => t.startsOf(id) === 1), { timeoutMs: 10_000, intervalMs: 50, message: 'new jobs started' });
      console.log(`      measured [${backend}]: supervisor SIGKILL → new jobs running ${Date.now() - since} ms after the new supervisor started`);
      expect(orphaned.some(finished), 'new jobs started while the orphans still ran theirs').to.equal(false);
      await t.allCompleted([...orphaned, ...fresh]);
      expect([...orphaned, ...fresh].map(t.startsOf), 'none ran twice').to.deep.equal([1, 1, 1, 1]);
      await waitFor(() => workerPids(first.logs).every((pid) => !isAlive(pid)), { timeoutMs: 10_000, message: 'the orphans exited' });
    });

    it('SIGKILL of the whole group, then a restart on the same data: the dead workers\' jobs start again within 5 s', async () => {
      const first = t.start({ QUEUE_AI_CONCURRENCY: '3' });
      const ids = await holdThree(first);
      const pids = [first.child.pid!, ...workerPids(first.logs)];
      killAll(pids);
      await waitFor(() => pids.every((pid) => !isAlive(pid)), { timeoutMs: 5000, message: 'the group is dead' });
      const second = t.start({ QUEUE_AI_CONCURRENCY: '3' });
      await restartedWithin(ids, second, 'group SIGKILL and restart');
    });

    it('SIGTERM past SHUTDOWN_TIMEOUT_MS, then a restart: the killed workers\' jobs start again within 5 s', async () => {
      const first = t.start({ QUEUE_AI_CONCURRENCY: '3', SHUTDOWN_TIMEOUT_MS: '1000' });
      const ids = await holdThree(first);
      first.child.kill('SIGTERM');
      await first.exit;
      const second = t.start({ QUEUE_AI_CONCURRENCY: '3' });
      await restartedWithin(ids, second, 'shutdown deadline and restart');
    });
  });
}
