import { expect } from 'chai';
import { fixture } from '../../helpers/fork.js';
import { allJobs, readLedger, startSupervisor, tally, useDeployment, type RunningSupervisor } from '../../helpers/supervisor.js';
import { waitFor } from '../../helpers/wait.js';

describe('supervisor: a handler that exits its process mid-job', function () {
  this.timeout(150_000);
  const t = useDeployment();
  let supervisor: RunningSupervisor | undefined;

  it('restarts it with growing backoff, retries the job, marks the queue crash-looping after CRASH_LOOP_CRASHES crashes and clears the mark after healthy uptime', async () => {
    const { store, ledger } = t.deployment;
    supervisor = startSupervisor({
      ...t.deployment.env,
      WORKER_QUEUES: 'ai',
      QUEUE_AI_CONCURRENCY: '1',
      JOBVISOR_HANDLER_MODULE_AI: fixture('crash'),
      BACKOFF_BASE_MS: '200',
      HEALTHY_UPTIME_MS: '3000',
      CRASH_LOOP_WINDOW_MS: '120000',
      // The default 5 and the whole backoff sequence are unit-tested (test/unit/supervisor); 3 real crashes prove the wiring.
      CRASH_LOOP_CRASHES: '3',
      JOB_LOCK_MS: '2000',
      JOB_STALLED_INTERVAL_MS: '1000',
    });
    await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'the first worker');
    const results = await store.enqueueBulk(Array.from({ length: 3 }, (_, i) => ({ queue: 'ai', name: `crash-${i}`, data: { ledger, crash: true } })));
    const ids = results.map((r) => r.job.id);

    const looping = await waitFor(async () => (await store.listProcesses()).find((p) => p.queue === 'ai' && p.crashLooping),
      { timeoutMs: 90_000, intervalMs: 200, message: 'a registry record marking ai crash-looping' });
    expect(looping.restarts?.crash).to.equal(3);
    expect(looping.supervisor).to.match(/:\d+$/);

    const restarts = supervisor.logs.filter((l) => l.role === 'supervisor' && l.action === 'restart');
    expect(restarts.map((l) => l.reason)).to.deep.equal(['crash', 'crash', 'crash']);
    expect(restarts.map((l) => l.delayMs), 'backoff doubles from BACKOFF_BASE_MS').to.deep.equal([200, 400, 800]);
    expect(supervisor.logs.some((l) => l.msg === 'queue is crash-looping' && l.queue === 'ai')).to.equal(true);

    await waitFor(async () => (await store.counts('ai')).completed === 3, { timeoutMs: 60_000, intervalMs: 250, message: 'the crashed jobs retried to completion' });
    const views = await allJobs(store, 'ai', ids);
    expect(views.map((v) => [v.state, v.attempts])).to.deep.equal(ids.map(() => ['completed', 2]));
    const counts = tally(readLedger(ledger));
    for (const id of ids) expect([counts.get(`crash ${id}`), counts.get(id)], `job ${id}`).to.deep.equal([1, 1]);

    await supervisor.waitForLog((l) => l.msg === 'queue is no longer crash-looping', 30_000, 'the mark cleared after healthy uptime');
    await waitFor(async () => (await store.listProcesses()).find((p) => p.queue === 'ai' && p.crashLooping === false && p.restarts?.crash === 3),
      { timeoutMs: 10_000, message: 'the registry record without the mark, the restarts still counted' });

    supervisor.child.kill('SIGTERM');
    expect((await supervisor.exit).code).to.equal(0);
  });
});
