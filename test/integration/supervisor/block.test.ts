import { expect } from 'chai';
import { fixture } from '../../helpers/fork.js';
import { allJobs, isAlive, readLedger, startSupervisor, useDeployment, type RunningSupervisor } from '../../helpers/supervisor.js';
import { waitFor } from '../../helpers/wait.js';

describe('supervisor: a handler that blocks its event loop', function () {
  this.timeout(120_000);
  const t = useDeployment();
  let supervisor: RunningSupervisor | undefined;

  it('kills the silent worker after the heartbeat timeout and replaces it, while another queue goes on', async () => {
    const { store, ledger } = t.deployment;
    supervisor = startSupervisor({
      ...t.deployment.env,
      WORKER_QUEUES: 'ai,document',
      JOBVISOR_HANDLER_MODULE_AI: fixture('block'),
      JOBVISOR_HANDLER_MODULE_DOCUMENT: fixture('sleep'),
      HEARTBEAT_TIMEOUT_MS: '4000',
      JOB_LOCK_MS: '2000',
      JOB_STALLED_INTERVAL_MS: '1000',
    });
    const started = (queue: string) => supervisor!.logs.filter((l) => l.msg === 'worker started' && l.queue === queue);
    await waitFor(() => started('ai').length === 1 && started('document').length === 1, { timeoutMs: 30_000, message: 'both workers' });
    const blockedPid = started('ai')[0]!.pid!;
    const documentPid = started('document')[0]!.pid!;

    const { job: blocking } = await store.enqueue({ queue: 'ai', data: { ledger, block: true } });
    await waitFor(() => readLedger(ledger).includes(`block ${blocking.id}`), { message: 'the ai handler blocking' });
    const blockedAt = Date.now();

    // While the ai worker is stuck, the document worker keeps taking jobs.
    const documents = await store.enqueueBulk(Array.from({ length: 10 }, () => ({ queue: 'document', data: { ledger, ms: 20 } })));
    await waitFor(async () => (await store.counts('document')).completed === 10, { timeoutMs: 20_000, message: 'document jobs done' });
    const documentsDoneAt = Date.now();

    const kill = await supervisor.waitForLog((l) => l.role === 'supervisor' && l.action === 'kill', 30_000, 'the kill');
    expect(kill).to.include({ queue: 'ai', pid: blockedPid, reason: 'heartbeat' });
    const killedAfter = (kill.time as number) - blockedAt;
    expect(killedAfter, 'killed after the heartbeat timeout').to.be.within(3000, 15_000);
    expect(documentsDoneAt, 'document jobs finished while the ai worker was stuck').to.be.below(kill.time as number);
    await waitFor(() => !isAlive(blockedPid), { timeoutMs: 5000, message: 'the blocked process gone' });

    // Replaced, and the job it held is recovered as stalled and completes on its retry.
    await waitFor(() => started('ai').length === 2, { timeoutMs: 30_000, message: 'a replacement ai worker' });
    await waitFor(async () => (await store.get('ai', blocking.id))?.state === 'completed', { timeoutMs: 30_000, message: 'the blocked job retried' });
    expect((await store.get('ai', blocking.id))?.attempts).to.equal(2);

    const views = await allJobs(store, 'document', documents.map((d) => d.job.id));
    expect(views.every((v) => v.state === 'completed')).to.equal(true);
    expect(started('document').map((l) => l.pid), 'the document worker never restarted').to.deep.equal([documentPid]);
    expect(supervisor.logs.filter((l) => l.role === 'supervisor' && l.action && l.queue === 'document')).to.deep.equal([]);

    supervisor.child.kill('SIGTERM');
    expect((await supervisor.exit).code).to.equal(0);
  });
});
