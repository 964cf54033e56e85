import { expect } from 'chai';
import { fixture } from '../../helpers/fork.js';
import { allJobs, readLedger, startSupervisor, tally, useDeployment, type RunningSupervisor } from '../../helpers/supervisor.js';
import { waitFor } from '../../helpers/wait.js';

describe('supervisor: a handler that leaks memory', function () {
  this.timeout(150_000);
  const t = useDeployment();
  let supervisor: RunningSupervisor | undefined;

  it('recycles the worker whose RSS stays over budget while 1,000 jobs run, each completing exactly once', async () => {
    const { store, ledger } = t.deployment;
    supervisor = startSupervisor({
      ...t.deployment.env,
      WORKER_QUEUES: 'document',
      QUEUE_DOCUMENT_CONCURRENCY: '4',
      QUEUE_DOCUMENT_MAX_MEMORY_MB: '200',
      // This handler leaks tens of MB a second: under test is the graceful recycle, not the hard ceiling (unit-tested).
      QUEUE_DOCUMENT_HARD_MEMORY_FACTOR: '4',
      JOBVISOR_HANDLER_MODULE_DOCUMENT: fixture('leak'),
    });
    await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'the first worker');
    const results = await store.enqueueBulk(Array.from({ length: 1000 }, (_, i) => ({
      queue: 'document', name: `leak-${i}`, data: { ledger, leakBytes: 1024 * 1024, ms: 40 },
    })));
    const ids = results.map((r) => r.job.id);

    await waitFor(async () => (await store.counts('document')).completed === 1000, { timeoutMs: 120_000, intervalMs: 500, message: '1,000 completed jobs' });

    const recycles = supervisor.logs.filter((l) => l.role === 'supervisor' && l.action === 'recycle');
    console.log(`      ${recycles.length} recycles, rss at recycle: ${recycles.map((l) => Math.round((l.rss as number) / 2 ** 20)).join(', ')} MB`);
    expect(recycles.length, 'recycles').to.be.greaterThan(0);
    for (const line of recycles) {
      expect(line).to.include({ queue: 'document', reason: 'memory' });
      expect(line.rss as number).to.be.greaterThan(200 * 1024 * 1024);
    }
    expect(supervisor.logs.filter((l) => l.action === 'kill' || l.action === 'restart'), 'kills and crashes').to.deep.equal([]);

    const counts = tally(readLedger(ledger));
    expect(counts.size, 'distinct jobs in the ledger').to.equal(1000);
    expect([...counts.values()].every((n) => n === 1), 'each job ran its side effect once').to.equal(true);
    expect([...counts.keys()].sort()).to.deep.equal([...ids].sort());
    const views = await allJobs(store, 'document', ids);
    expect(views.filter((v) => v.state === 'completed' && v.attempts === 1).length, 'completed at the first attempt').to.equal(1000);

    // Prometheus on METRICS_PORT: the supervisor's series, and the workers' summed, recycled ones included.
    const { metricsPort } = await supervisor.waitForLog((l) => l.msg === 'metrics listening');
    const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort as number}/metrics`)).text();
    // The last worker still holds its leak once the jobs are done, so it may be recycled once more meanwhile.
    const recycledSoFar = () => supervisor!.logs.filter((l) => l.role === 'supervisor' && l.action === 'recycle').length;
    const body = await waitFor(async () => {
      const text = await scrape();
      return text.includes('jobvisor_jobs_completed_total{queue="document"} 1000')
        && text.includes(`jobvisor_worker_restarts_total{queue="document",reason="memory"} ${recycledSoFar()}\n`) && text;
    }, { timeoutMs: 10_000, message: 'jobs_completed_total counting every worker, restarts_total every recycle' });
    expect(body).to.include('jobvisor_worker_restarts_total{queue="document",reason="crash"} 0');
    expect(body).to.include('jobvisor_workers{queue="document",state="running"} 1');
    expect(body).to.match(/jobvisor_job_duration_seconds_count\{queue="document"\} 1000\n/);
    expect(Number(/jobvisor_worker_memory_bytes\{queue="document"\} (\d+)/.exec(body)?.[1])).to.be.greaterThan(0);

    supervisor.child.kill('SIGTERM');
    expect((await supervisor.exit).code).to.equal(0);
  });
});
