import { expect } from 'chai';
import { fixture } from '../../helpers/fork.js';
import { readLedger, startSupervisor, tally, useDeployment, type RunningSupervisor } from '../../helpers/supervisor.js';
import { waitFor } from '../../helpers/wait.js';

describe('supervisor: other recycle reasons', function () {
  this.timeout(120_000);
  const t = useDeployment();
  let supervisor: RunningSupervisor | undefined;

  const recycles = () => supervisor!.logs.filter((l) => l.role === 'supervisor' && l.action === 'recycle');

  it('recycles a worker after QUEUE_<NAME>_MAX_JOBS jobs, running each job once', async () => {
    const { store, ledger } = t.deployment;
    supervisor = startSupervisor({
      ...t.deployment.env, WORKER_QUEUES: 'rag-sync', QUEUE_RAG_SYNC_CONCURRENCY: '4', QUEUE_RAG_SYNC_MAX_JOBS: '50',
      JOBVISOR_HANDLER_MODULE_RAG_SYNC: fixture('leak'),
    });
    await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'the first worker');
    await store.enqueueBulk(Array.from({ length: 300 }, () => ({ queue: 'rag-sync', data: { ledger, leakBytes: 1, ms: 30 } })));
    await supervisor.waitForLog((l) => l.action === 'recycle', 30_000, 'a recycle');
    await waitFor(async () => (await store.counts('rag-sync')).completed === 300, { timeoutMs: 60_000, message: '300 completed' });
    // The replacement starts a round of concurrency before the 50th job, so the queue keeps a
    // fetching worker; the old one stops fetching at its 50th (test/faults checks the exact count).
    for (const line of recycles()) {
      expect(line.reason).to.equal('max_jobs');
      expect(line.processed as number).to.be.within(50 - 2 * 4, 50);
    }
    const counts = tally(readLedger(ledger));
    expect(counts.size).to.equal(300);
    expect([...counts.values()].every((n) => n === 1)).to.equal(true);
  });

  it('recycles a worker whose handler ignored its aborted signal (reason timeout), replacement first', async () => {
    const { store } = t.deployment;
    supervisor = startSupervisor({ ...t.deployment.env, WORKER_QUEUES: 'ai', JOBVISOR_HANDLER_MODULE_AI: fixture('ignore-signal') });
    const first = await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'the first worker');
    const { job } = await store.enqueue({ queue: 'ai', data: { ms: 60_000 }, timeoutMs: 300, attempts: 1 });
    const recycle = await supervisor.waitForLog((l) => l.action === 'recycle', 30_000, 'a timeout recycle');
    expect(recycle).to.include({ queue: 'ai', reason: 'timeout', pid: first.pid, zombies: 1 });
    expect((await store.get('ai', job.id))?.state).to.equal('failed');
    const replacement = await supervisor.waitForLog((l) => l.msg === 'worker started' && l.pid !== first.pid, 30_000, 'the replacement');
    const exited = await supervisor.waitForLog((l) => l.msg === 'worker exited' && l.pid === first.pid, 30_000, 'the old worker gone');
    expect(exited.time as number, 'the old worker left only after its replacement was up').to.be.at.least(replacement.time as number);
    expect(exited.code).to.equal(0);
  });

  it('kills a draining worker past the queue drain timeout; its job is recovered as stalled and completes', async () => {
    const { store, ledger } = t.deployment;
    supervisor = startSupervisor({
      ...t.deployment.env, WORKER_QUEUES: 'rag-sync', QUEUE_RAG_SYNC_MAX_JOBS: '1', QUEUE_RAG_SYNC_DRAIN_TIMEOUT_MS: '1000',
      JOBVISOR_HANDLER_MODULE_RAG_SYNC: fixture('sleep'), JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000',
    });
    await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'the first worker');
    await store.enqueue({ queue: 'rag-sync', data: { ledger, ms: 50 } });
    await waitFor(() => readLedger(ledger).length === 2, { message: 'the first job done' });
    // Long enough to outlast the replacement's start however loaded the machine; its retry is quick.
    const { job: long } = await store.enqueue({ queue: 'rag-sync', data: { ledger, ms: 120_000, retryMs: 50 } });
    const killed = await supervisor.waitForLog((l) => l.msg?.startsWith('drain timeout') === true, 30_000, 'the drain-timeout kill');
    expect(killed).to.include({ queue: 'rag-sync', reason: 'timeout', stopReason: 'max_jobs', active: 1 });
    await waitFor(async () => (await store.get('rag-sync', long.id))?.state === 'completed', { timeoutMs: 40_000, message: 'the long job completed' });
    expect((await store.get('rag-sync', long.id))?.attempts).to.equal(2);
    const lines = tally(readLedger(ledger));
    expect([lines.get(`start ${long.id}`), lines.get(long.id)], 'started twice, finished once').to.deep.equal([2, 1]);
  });

  it('under host memory pressure, holds the lowest-priority queue and recycles the largest worker', async () => {
    const { store, ledger } = t.deployment;
    supervisor = startSupervisor({
      ...t.deployment.env, WORKER_QUEUES: 'ai,maintenance',
      JOBVISOR_HANDLER_MODULE_AI: fixture('sleep'), JOBVISOR_HANDLER_MODULE_MAINTENANCE: fixture('sleep'),
      MEMORY_PRESSURE_MIN_AVAILABLE_PERCENT: '100', // any host is "short" of memory at 100 %
      MEMORY_PRESSURE_COOLDOWN_MS: '600000',
    });
    await supervisor.waitForLog((l) => l.msg === 'memory pressure: holding fetching', 30_000, 'a hold');
    expect(supervisor.logs.filter((l) => l.msg === 'memory pressure: holding fetching').map((l) => l.queue)).to.deep.equal(['maintenance']);
    const recycle = await supervisor.waitForLog((l) => l.action === 'recycle', 30_000, 'a pressure recycle');
    expect(recycle.reason).to.equal('pressure');
    await supervisor.waitForLog((l) => l.msg === 'worker exited' && l.pid === recycle.pid, 30_000, 'the recycled worker gone');

    const held = (await store.enqueueBulk(Array.from({ length: 3 }, () => ({ queue: 'maintenance', data: { ledger, ms: 50 } })))).map((r) => r.job.id);
    const ai = await store.enqueueBulk(Array.from({ length: 3 }, () => ({ queue: 'ai', data: { ledger, ms: 50 } })));
    await waitFor(async () => (await store.counts('ai')).completed === 3, { timeoutMs: 20_000, message: 'ai jobs done' });
    expect(ai.length).to.equal(3);
    for (const id of held) expect((await store.get('maintenance', id))?.state, 'maintenance held').to.equal('waiting');
    expect(readLedger(ledger).filter((l) => held.some((id) => l.endsWith(id))), 'no maintenance job ran').to.deep.equal([]);
  });
});
