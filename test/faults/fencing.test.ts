// Fencing under a partition, longer than the lock time, in two shapes: the private
// Redis frozen (SIGSTOP: every connection stays open and its commands hang), and one
// host cut off through a TCP proxy while another reaches Redis. The cut-off worker
// must abort its jobs before their locks can expire, record none of their outcomes,
// say so once, and fetch again once the store answers, without a restart; the jobs
// run to completion once, by another attempt.
import { expect } from 'chai';
import { deliveryId } from '../../src/lib/store/callbacks.js';
import type { EnqueueInput } from '../../src/lib/store/index.js';
import { fixture } from '../helpers/fork.js';
import { killAll, readLedger, workerPids } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { useFaults } from './harness.js';
import { tcpProxy } from './proxy.js';

const LOCK_MS = 2000;

describe('fencing [redis]', function () {
  this.timeout(120_000);
  const t = useFaults('redis');

  const add = async (count: number, data: { ms: number; retryMs?: number; lateMs?: number }, options: Partial<EnqueueInput> = {}) =>
    (await t.store.enqueueBulk(Array.from({ length: count }, () => ({ queue: 'ai', data: { ledger: t.ledger, ...data }, ...options })))).map((r) => r.job.id);
  const ledger = () => readLedger(t.ledger);
  /** The supervisor's own port: its host readiness (/ready) and every worker's metrics. */
  const host = async (port: number, path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, text: await response.text() };
  };

  it('a worker cut off from its store aborts its jobs within the lock time, records none of their outcomes, says so once, and fetches again when the store answers', async () => {
    const supervisor = t.start({
      JOBVISOR_HANDLER_MODULE_AI: fixture('fenced'), QUEUE_AI_CONCURRENCY: '3', JOB_LOCK_MS: String(LOCK_MS), JOB_STALLED_INTERVAL_MS: '1000',
    });
    await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'a worker');
    const port = (await supervisor.waitForLog((l) => l.msg === 'metrics listening', 10_000, 'the metrics port')).metricsPort as number;
    // The first attempts outlive their abort by a while (a handler slow to stop), the second ones are quick. One attempt
    // each, and a webhook: a fenced attempt's failure would be final, and must still enqueue no delivery (none is POSTed here).
    const ids = await add(3, { ms: 8000, retryMs: 100, lateMs: 300 }, { attempts: 1, callbackUrl: 'http://127.0.0.1:9/hook' });
    await waitFor(() => ids.every((id) => ledger().includes(`start ${id} 1`)), { timeoutMs: 20_000, message: 'all three running' });
    await t.claimed(ids);

    const frozenAt = Date.now();
    t.server.freeze!();
    try {
      await waitFor(() => ids.every((id) => ledger().some((l) => l.startsWith(`aborted ${id} JobLockLostError`))),
        { timeoutMs: 10_000, intervalMs: 20, message: 'every handler aborted for its lock' });
      const abortedMs = Date.now() - frozenAt;
      console.log(`      measured: store frozen → every held job aborted in ${abortedMs} ms (lock ${LOCK_MS} ms)`);
      expect(abortedMs, 'aborted before the lock could expire').to.be.below(LOCK_MS);
      await supervisor.waitForLog((l) => String(l.msg).startsWith('cut off from the store'), 5000, 'the cut-off warning');
      const ready = await waitFor(async () => { const r = await host(port, '/ready'); return r.status === 503 && r; }, { timeoutMs: 5000, message: 'the host not ready' });
      expect(JSON.parse(ready.text)).to.deep.include({ status: 'not_ready', storeCutOff: ['ai'] });
      expect((await host(port, '/metrics')).text).to.include('jobvisor_worker_store_cut_off{queue="ai"} 1');
      // The partition outlasts the lock: by the thaw the locks have expired, and stalled recovery owns the jobs.
      await waitFor(() => Date.now() - frozenAt > LOCK_MS * 1.5 || undefined, { timeoutMs: 10_000, intervalMs: 50, message: 'a partition longer than the lock' });
    } finally {
      t.server.thaw!();
    }

    const views = await t.allCompleted(ids);
    expect(views.map((v) => v.result), 'each completed by its second attempt').to.deep.equal(ids.map(() => ({ attempt: 2 })));
    for (const view of views) {
      expect(view.timeline.map((e) => e.event), 'the aborted attempt recorded no outcome').to.not.include.members(['retrying', 'failed']);
    }
    for (const id of ids) {
      expect(ledger().filter((l) => l.startsWith(`done ${id} `)), 'ran to completion once').to.deep.equal([`done ${id} 2`]);
    }
    const deliveries = Object.values(await t.store.counts('webhooks')).reduce((sum, count) => sum + count, 0);
    expect(deliveries, 'one delivery per job: the fenced attempts enqueued none').to.equal(ids.length);
    for (const view of views) {
      const delivery = await t.store.get('webhooks', deliveryId({ queue: 'ai', id: view.id, state: 'completed' }, Date.parse(view.startedAt!)));
      expect(delivery, 'the completing attempt\'s delivery').to.not.equal(undefined);
    }
    const warnings = supervisor.logs.filter((l) => String(l.msg).startsWith('cut off from the store'));
    expect(warnings, 'warned once').to.have.length(1);
    expect(warnings[0]).to.include({ level: 40, held: 3, aborted: 3 });
    expect(supervisor.logs.filter((l) => String(l.msg).startsWith('job lock lost')).map((l) => l.jobId)).to.have.members(ids);
    await supervisor.waitForLog((l) => String(l.msg).startsWith('the store answers again'), 10_000, 'the recovery line');

    await waitFor(async () => (await host(port, '/ready')).status === 200, { timeoutMs: 5000, message: 'the host ready again' });
    const metrics = (await host(port, '/metrics')).text;
    expect(metrics).to.include('jobvisor_worker_store_cut_off{queue="ai"} 0');
    expect(metrics).to.include('jobvisor_jobs_lock_lost_total{queue="ai"} 3');

    const more = await add(2, { ms: 50 });
    await t.allCompleted(more, 20_000);
    expect(workerPids(supervisor.logs), 'the same worker fetches again, never restarted').to.have.length(1);
  });

  it('a host cut off from the store while another reaches it: the other runs its jobs once, and its late attempts change nothing', async () => {
    const redis = new URL(t.server.url);
    const proxy = await tcpProxy({ host: redis.hostname, port: Number(redis.port) });
    const settings = { JOBVISOR_HANDLER_MODULE_AI: fixture('fenced'), QUEUE_AI_CONCURRENCY: '3', JOB_LOCK_MS: String(LOCK_MS), JOB_STALLED_INTERVAL_MS: '1000' };
    try {
      const cutOff = t.start({ ...settings, REDIS_URL: proxy.url });
      await cutOff.waitForLog((l) => l.msg === 'worker started', 30_000, 'a worker behind the proxy');
      // First attempts that outlast the other host's start, and whose handlers go on a while past their abort.
      const ids = await add(3, { ms: 30_000, retryMs: 100, lateMs: 2500 });
      await waitFor(() => ids.every((id) => ledger().includes(`start ${id} 1`)), { timeoutMs: 20_000, message: 'the cut-off host running all three' });
      const other = t.start(settings);
      await other.waitForLog((l) => l.msg === 'worker started', 30_000, 'a worker on the other host');

      const cutAt = Date.now();
      proxy.cut();
      await waitFor(() => ids.every((id) => ledger().some((l) => l.startsWith(`aborted ${id} JobLockLostError`))),
        { timeoutMs: 10_000, intervalMs: 20, message: 'every handler aborted for its lock' });
      expect(Date.now() - cutAt, 'aborted before the lock could expire').to.be.below(LOCK_MS);
      const views = await t.allCompleted(ids, 30_000);
      console.log(`      measured: host cut off → its jobs completed by the other host in ${Date.now() - cutAt} ms`);
      expect(views.map((v) => v.result), 'completed by the second attempt').to.deep.equal(ids.map(() => ({ attempt: 2 })));
      // The cut-off host's handlers end their late run while it is still cut off, then it heals.
      await waitFor(() => ids.every((id) => ledger().includes(`late ${id}`)), { timeoutMs: 15_000, message: 'the late attempts ended' });
      proxy.heal();
      await cutOff.waitForLog((l) => String(l.msg).startsWith('the store answers again'), 15_000, 'the recovery line');

      for (const id of ids) {
        expect(ledger().filter((l) => l.startsWith(`done ${id} `)), 'ran to completion once').to.deep.equal([`done ${id} 2`]);
        const view = (await t.store.get('ai', id))!;
        expect(view.result, 'the late attempt wrote nothing').to.deep.equal({ attempt: 2 });
        expect(view.timeline.map((e) => e.event)).to.not.include.members(['retrying', 'failed']);
      }
      expect(cutOff.logs.filter((l) => String(l.msg).startsWith('cut off from the store')), 'the cut-off host warned once').to.have.length(1);
      expect(other.logs.filter((l) => String(l.msg).startsWith('cut off from the store')), 'the other host did not').to.have.length(0);

      // With the other host gone, the healed one takes new jobs: it fetches again without a restart.
      killAll([other.child.pid!, ...workerPids(other.logs)]);
      const more = await add(2, { ms: 50 });
      await t.allCompleted(more, 30_000);
      expect(workerPids(cutOff.logs)).to.have.length(1);
    } finally {
      await proxy.close();
    }
  });
});
