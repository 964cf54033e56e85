// Fencing under a partition: the private Redis is frozen (SIGSTOP), so the worker's
// connections stay open and its commands hang unanswered, longer than the lock time.
// The worker must abort its jobs before their locks can expire, record none of their
// outcomes, say so once, and fetch again once the store answers, without a restart.
import { expect } from 'chai';
import { fixture } from '../helpers/fork.js';
import { readLedger, workerPids } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { useFaults } from './harness.js';

const LOCK_MS = 2000;

describe('fencing [redis]', function () {
  this.timeout(120_000);
  const t = useFaults('redis');

  const add = async (count: number, data: { ms: number; retryMs?: number; lateMs?: number }) =>
    (await t.store.enqueueBulk(Array.from({ length: count }, () => ({ queue: 'ai', data: { ledger: t.ledger, ...data } })))).map((r) => r.job.id);
  const ledger = () => readLedger(t.ledger);

  it('a worker cut off from its store aborts its jobs within the lock time, records none of their outcomes, says so once, and fetches again when the store answers', async () => {
    const supervisor = t.start({
      JOBVISOR_HANDLER_MODULE_AI: fixture('fenced'), QUEUE_AI_CONCURRENCY: '3', JOB_LOCK_MS: String(LOCK_MS), JOB_STALLED_INTERVAL_MS: '1000',
    });
    await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'a worker');
    // The first attempts outlive their abort by a while (a handler slow to stop), the second ones are quick.
    const ids = await add(3, { ms: 3000, retryMs: 100, lateMs: 300 });
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
    const warnings = supervisor.logs.filter((l) => String(l.msg).startsWith('cut off from the store'));
    expect(warnings, 'warned once').to.have.length(1);
    expect(warnings[0]).to.include({ level: 40, held: 3, aborted: 3 });
    expect(supervisor.logs.filter((l) => String(l.msg).startsWith('job lock lost')).map((l) => l.jobId)).to.have.members(ids);
    await supervisor.waitForLog((l) => String(l.msg).startsWith('the store answers again'), 10_000, 'the recovery line');

    const more = await add(2, { ms: 50 });
    await t.allCompleted(more, 20_000);
    expect(workerPids(supervisor.logs), 'the same worker fetches again, never restarted').to.have.length(1);
  });
});
