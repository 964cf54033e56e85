import { expect } from 'chai';
import { fixture } from '../../helpers/fork.js';
import { redisAnswers, requireService } from '../../helpers/services.js';
import { allJobs, isAlive, killAll, readLedger, startSupervisor, tally, testDeployment, workerPids, type RunningSupervisor } from '../../helpers/supervisor.js';
import { waitFor } from '../../helpers/wait.js';

describe('supervisor: shutdown', function () {
  this.timeout(150_000);
  let deployment: Awaited<ReturnType<typeof testDeployment>>;
  const supervisors: RunningSupervisor[] = [];

  before(async function () {
    await requireService(this, 'Redis', redisAnswers);
  });
  beforeEach(async () => {
    deployment = await testDeployment();
  });
  afterEach(async () => {
    for (const s of supervisors.splice(0)) killAll([s.child.pid!, ...workerPids(s.logs)]);
    await deployment.cleanup();
  });

  function start(env: NodeJS.ProcessEnv): RunningSupervisor {
    const supervisor = startSupervisor({ ...deployment.env, WORKER_QUEUES: 'video', JOBVISOR_HANDLER_MODULE_VIDEO: fixture('sleep'), ...env });
    supervisors.push(supervisor);
    return supervisor;
  }

  const started = (s: RunningSupervisor) => s.logs.filter((l) => l.msg === 'worker started' && l.queue === 'video');

  it('on SIGTERM with 200 jobs of 2 s in flight, finishes them all and exits 0 within SHUTDOWN_TIMEOUT_MS, leaving no process', async () => {
    const { store, ledger } = deployment;
    const shutdownTimeoutMs = 20_000;
    const supervisor = start({ QUEUE_VIDEO_PROCESSES: '4', QUEUE_VIDEO_CONCURRENCY: '50', SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs) });
    await waitFor(() => started(supervisor).length === 4, { timeoutMs: 60_000, message: '4 video workers' });
    const ids = (await store.enqueueBulk(Array.from({ length: 200 }, () => ({ queue: 'video', data: { ledger, ms: 2000 } })))).map((r) => r.job.id);
    await waitFor(() => readLedger(ledger).filter((l) => l.startsWith('start ')).length === 200, { timeoutMs: 20_000, message: '200 jobs in flight' });

    const signalledAt = Date.now();
    supervisor.child.kill('SIGTERM');
    const { code } = await supervisor.exit;
    const tookMs = Date.now() - signalledAt;
    expect(code).to.equal(0);
    expect(tookMs, 'exit within SHUTDOWN_TIMEOUT_MS').to.be.below(shutdownTimeoutMs);

    const done = tally(readLedger(ledger).filter((l) => !l.startsWith('start ')));
    expect(done.size).to.equal(200);
    expect([...done.values()].every((n) => n === 1)).to.equal(true);
    const views = await allJobs(store, 'video', ids);
    expect(views.filter((v) => v.state === 'completed' && v.attempts === 1).length).to.equal(200);
    expect(supervisor.logs.some((l) => l.msg?.startsWith('shutdown: killing'))).to.equal(false);
    for (const pid of workerPids(supervisor.logs)) expect(isAlive(pid), `worker ${pid}`).to.equal(false);
  });

  it('on a second SIGINT stops at once: workers killed, exit 1', async () => {
    const { store, ledger } = deployment;
    const supervisor = start({ QUEUE_VIDEO_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_MS: '60000' });
    await waitFor(() => started(supervisor).length === 1, { timeoutMs: 30_000, message: 'a video worker' });
    await store.enqueueBulk(Array.from({ length: 2 }, () => ({ queue: 'video', data: { ledger, ms: 60_000 } })));
    await waitFor(() => readLedger(ledger).length === 2, { message: 'both jobs running' });
    supervisor.child.kill('SIGINT');
    await supervisor.waitForLog((l) => l.msg === 'draining', 10_000, 'the worker draining');
    const forcedAt = Date.now();
    supervisor.child.kill('SIGINT');
    expect((await supervisor.exit).code).to.equal(1);
    expect(Date.now() - forcedAt).to.be.below(5000);
    for (const pid of workerPids(supervisor.logs)) await waitFor(() => !isAlive(pid), { timeoutMs: 5000, message: `worker ${pid} gone` });
  });

  it('when the supervisor is SIGKILLed, its workers finish and leave within 10 s, and a new supervisor completes every unfinished job', async () => {
    const { store, ledger } = deployment;
    const first = start({ QUEUE_VIDEO_PROCESSES: '2', QUEUE_VIDEO_CONCURRENCY: '5' });
    await waitFor(() => started(first).length === 2, { timeoutMs: 60_000, message: '2 video workers' });
    const ids = (await store.enqueueBulk(Array.from({ length: 60 }, () => ({ queue: 'video', data: { ledger, ms: 1000 } })))).map((r) => r.job.id);
    await waitFor(async () => (await store.counts('video')).completed >= 10, { timeoutMs: 30_000, message: 'some jobs done' });
    const pids = workerPids(first.logs);

    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exit;
    await waitFor(() => pids.every((pid) => !isAlive(pid)), { timeoutMs: 10_000, message: 'orphaned workers gone' });
    expect(Date.now() - killedAt).to.be.below(10_000);
    const counts = await store.counts('video');
    expect(counts.active, 'the orphans finished their active jobs').to.equal(0);
    expect(counts.waiting, 'jobs left for the next supervisor').to.be.greaterThan(0);

    start({ QUEUE_VIDEO_PROCESSES: '2', QUEUE_VIDEO_CONCURRENCY: '5' });
    await waitFor(async () => (await store.counts('video')).completed === 60, { timeoutMs: 60_000, intervalMs: 250, message: 'every job completed' });
    const done = tally(readLedger(ledger).filter((l) => !l.startsWith('start ')));
    expect([...done.keys()].sort()).to.deep.equal([...ids].sort());
    expect([...done.values()].every((n) => n === 1), 'none ran twice').to.equal(true);
  });
});
