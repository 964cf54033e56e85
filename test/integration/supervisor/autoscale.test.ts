// Autoscaling on real processes: a real supervisor with QUEUE_DOCUMENT_PROCESSES=1..3
// and short autoscale windows, a flood of slow jobs, and the registry as the witness
// of how many processes fetch. test/unit/supervisor/ covers each decision.
import { expect } from 'chai';
import { fixture } from '../../helpers/fork.js';
import { readLedger, startSupervisor, tally, useDeployment } from '../../helpers/supervisor.js';
import { waitFor } from '../../helpers/wait.js';

const JOBS = 90;

describe('supervisor: autoscaling', function () {
  this.timeout(120_000);
  const t = useDeployment();

  it('rises to the maximum while a flood lasts and falls back to the minimum after idle, running every job once', async () => {
    const { store, ledger } = t.deployment;
    const supervisor = startSupervisor({
      ...t.deployment.env,
      WORKER_QUEUES: 'document', QUEUE_DOCUMENT_PROCESSES: '1..3', QUEUE_DOCUMENT_CONCURRENCY: '2', QUEUE_DOCUMENT_TARGET_WAIT_MS: '1000',
      AUTOSCALE_IDLE_MS: '3000', AUTOSCALE_INTERVAL_MS: '500', AUTOSCALE_JITTER_MS: '200', AUTOSCALE_POLL_MS: '200',
      JOBVISOR_HANDLER_MODULE_DOCUMENT: fixture('sleep'),
    });
    await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'the first worker');
    const fetching = async () => (await store.listProcesses()).filter((p) => p.queue === 'document' && p.state !== 'draining').length;
    expect(await fetching()).to.equal(1);

    const floodAt = Date.now();
    const results = await store.enqueueBulk(Array.from({ length: JOBS }, () => ({ queue: 'document', data: { ledger, ms: 600 } })));
    await waitFor(async () => (await fetching()) === 3, { timeoutMs: 30_000, intervalMs: 100, message: '3 processes fetching during the flood' });
    const ups = supervisor.logs.filter((l) => l.role === 'supervisor' && l.msg?.startsWith('autoscale up'));
    expect(ups.map((l) => [l.from, l.to])).to.deep.equal([[1, 2], [2, 3]]);
    expect((await store.counts('document')).completed, 'the maximum came while the flood lasted').to.be.below(JOBS);

    await waitFor(async () => (await store.counts('document')).completed === JOBS, { timeoutMs: 60_000, intervalMs: 200, message: `${JOBS} completed` });
    await waitFor(async () => (await fetching()) === 1 && supervisor.logs.filter((l) => l.reason === 'scale_down' && l.msg === 'worker exited').length === 2,
      { timeoutMs: 30_000, intervalMs: 100, message: 'back to 1 process, 2 drained' });
    const downs = supervisor.logs.filter((l) => l.role === 'supervisor' && l.msg === 'autoscale down: idle');
    expect(downs.map((l) => [l.from, l.to])).to.deep.equal([[3, 2], [2, 1]]);
    const steps = [...ups, ...downs].map((l) => `${l.to as number} at ${(((l.time as number) - floodAt) / 1000).toFixed(1)} s (${l.reason as string})`);
    console.log(`      processes: ${steps.join(', ')}`);
    for (const exit of supervisor.logs.filter((l) => l.msg === 'worker exited')) expect(exit).to.include({ code: 0, reason: 'scale_down' });
    expect(supervisor.logs.filter((l) => l.action), 'no recycle, kill or crash').to.deep.equal([]);

    const runs = tally(readLedger(ledger).filter((line) => !line.startsWith('start ')));
    expect(runs.size, 'distinct jobs finished').to.equal(JOBS);
    expect([...runs.values()].every((n) => n === 1), 'each job ran once').to.equal(true);
    expect([...runs.keys()].sort()).to.deep.equal(results.map((r) => r.job.id).sort());
    const starts = readLedger(ledger).filter((line) => line.startsWith('start '));
    expect(starts, 'no job started twice').to.have.length(JOBS);

    supervisor.child.kill('SIGTERM');
    expect((await supervisor.exit).code).to.equal(0);
  });
});
