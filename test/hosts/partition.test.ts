// Two hosts, one Redis; host B's link is cut while it holds slow jobs, then healed. The run
// measures each delay the README's "Many hosts" section quotes (printed as one JSON line) and
// asserts on all of them at the end, so a failing run still says how far it got.
import { expect } from 'chai';
import { isAlive } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { LOCK_MS, STALLED_INTERVAL_MS, useHosts } from './harness.js';
import { cut, heal } from './network.js';
import { hostState, registered, slowJobsHeldBy, startedOn, whenHolds } from './steps.js';

/** How long BullMQ may take to give a lost job to another host: its lock runs out, then two stalled checks. */
const RECOVERY_MS = LOCK_MS + 2 * STALLED_INTERVAL_MS;
const CUT_OFF = /store|redis|lock|connection|reach|cut off|partition/i;

describe('many hosts: a partition mid-flight, then a heal', function () {
  this.timeout(120_000);
  const t = useHosts(2);

  it('loses no job, finishes none on both hosts, warns on the cut-off host, shows it unreachable, and takes it back without a restart', async () => {
    const [a, b] = t.hosts as [typeof t.hosts[0], typeof t.hosts[0]];
    // B runs 4 slow jobs and has 2 slots left for the quick flow; it starts first so the slow jobs are its own.
    const onB = t.supervise(b, { WORKER_QUEUES: 'ai', QUEUE_AI_CONCURRENCY: '6' });
    const [base] = await Promise.all([t.api(a), registered(t, onB, ['ai'])]);
    const slow = await slowJobsHeldBy(t, b, 4);
    const onA = t.supervise(a, { WORKER_QUEUES: 'ai', QUEUE_AI_CONCURRENCY: '4' });
    await registered(t, onA, ['ai']);

    const before = await t.enqueue('ai', Array.from({ length: 30 }, () => ({ ms: 200 })));
    await waitFor(async () => (await t.jobs('ai', before)).every((j) => j.state === 'completed'), { timeoutMs: 30_000, intervalMs: 200, message: 'the flow before the cut' });
    const ranBefore = new Set(t.ledger().filter((e) => before.includes(e.id)).map((e) => e.host));
    const pidsOnB = [onB.child.pid!, ...onB.workers()];

    const cutAt = Date.now();
    cut(b);
    const during = await t.enqueue('ai', Array.from({ length: 10 }, () => ({ ms: 200 })));
    const [warned, unreachable, orphaned, aborted, restarted] = await Promise.all([
      whenHolds(() => onB.warnings().some((l) => Number(l.time) >= cutAt && CUT_OFF.test(JSON.stringify(l))), cutAt, RECOVERY_MS + 5000),
      whenHolds(async () => hostState(await t.queueStats(base), b.hostname) === 'unreachable', cutAt, RECOVERY_MS + 5000),
      whenHolds(async () => ((await t.queueStats(base)).queues.ai?.orphaned ?? 0) >= slow.length, cutAt, RECOVERY_MS + 5000),
      whenHolds(() => slow.every((id) => t.ledger().some((e) => e.event === 'aborted' && e.id === id && e.host === b.hostname)), cutAt, RECOVERY_MS + 5000),
      whenHolds(() => startedOn(t, slow, a.hostname), cutAt, RECOVERY_MS + 10_000),
    ]);
    const orphanedAfterRestart = (await t.queueStats(base)).queues.ai?.orphaned;
    const stillUnreachable = hostState(await t.queueStats(base), b.hostname);
    await waitFor(async () => (await t.jobs('ai', during)).every((j) => j.state === 'completed'), { timeoutMs: 20_000, intervalMs: 200, message: 'A alone runs the flow during the cut' });

    const healAt = Date.now();
    heal(b);
    const after = await t.enqueue('ai', Array.from({ length: 30 }, () => ({ ms: 200 })));
    const [rejoined, recoveredLine] = await Promise.all([
      whenHolds(() => t.ledger().some((e) => e.event === 'start' && e.host === b.hostname && e.at >= healAt), healAt, 20_000, 50),
      whenHolds(() => onB.warnings().some((l) => Number(l.time) >= healAt), healAt, 20_000),
    ]);
    const all = [...slow, ...before, ...during, ...after];
    await waitFor(async () => (await t.jobs('ai', all)).every((j) => j.state === 'completed'), { timeoutMs: 30_000, intervalMs: 200, message: 'every job completed' }).catch(() => {});
    const views = await t.jobs('ai', all);
    const ledger = t.ledger();

    console.log(`      many-hosts partition: ${JSON.stringify({ lockMs: LOCK_MS, stalledIntervalMs: STALLED_INTERVAL_MS, warnedMs: warned, unreachableMs: unreachable, orphanedMs: orphaned, abortedMs: aborted, restartedOnAMs: restarted, rejoinedAfterHealMs: rejoined, recoveryWarnMs: recoveredLine })}`);

    // 0 lost: every job completed, and BullMQ recorded its completion once.
    expect(views.map((j) => j.id).sort(), 'every enqueued job is in the store').to.deep.equal([...all].sort());
    expect(views.filter((j) => j.state !== 'completed').map((j) => `${j.id}:${j.state}`), 'jobs not completed').to.deep.equal([]);
    expect(views.filter((j) => j.timeline.filter((e) => e.event === 'completed').length !== 1).map((j) => j.id), 'jobs not completed exactly once').to.deep.equal([]);
    expect([...ranBefore].sort(), 'the flow before the cut ran on both hosts').to.deep.equal([a.hostname, b.hostname]);
    // 0 true double executions: B's handlers saw their signals, before A took the jobs; nothing ended twice.
    expect(aborted, 'B aborted the signal of every job it could no longer renew').to.not.equal(undefined);
    for (const id of slow) {
      const abortedAt = ledger.find((e) => e.event === 'aborted' && e.id === id && e.host === b.hostname)?.at ?? Infinity;
      const takenAt = ledger.find((e) => e.event === 'start' && e.id === id && e.host === a.hostname)?.at ?? -Infinity;
      expect(abortedAt, `${id} aborted on B before A took it`).to.be.below(takenAt);
    }
    const ends = ledger.filter((e) => e.event === 'end').map((e) => e.id);
    expect(ends.filter((id, i) => ends.indexOf(id) !== i), 'jobs that ended twice').to.deep.equal([]);
    expect(ledger.filter((e) => e.event === 'end' && slow.includes(e.id) && e.host === b.hostname), 'slow jobs B finished anyway').to.deep.equal([]);
    // B says it is cut off, within the lock time; A's view shows B unreachable and its jobs orphaned until they restart.
    expect(warned, 'B warned (level >= 40) of the cut-off').to.be.a('number').and.at.most(LOCK_MS);
    expect(unreachable, 'A showed B unreachable').to.be.a('number').and.at.most(RECOVERY_MS + 5000);
    expect(orphaned, 'A counted B\'s jobs as orphaned').to.be.a('number');
    expect(restarted, 'B\'s jobs restarted on A').to.be.a('number').and.at.most(RECOVERY_MS + 10_000);
    expect(orphanedAfterRestart, 'no job orphaned once they restarted').to.equal(0);
    expect(stillUnreachable, 'B still unreachable while cut off').to.equal('unreachable');
    // The heal: B back with the same processes, taking work, warning once more (recovered), and no attempt failing.
    expect(pidsOnB.filter((pid) => !isAlive(pid)), 'B\'s processes that did not survive').to.deep.equal([]);
    expect(onB.workers(), 'B forked no new worker').to.deep.equal(pidsOnB.slice(1));
    expect(rejoined, 'B took work after the heal').to.be.a('number');
    expect(recoveredLine, 'B said it recovered').to.be.a('number');
    expect(views.filter((j) => j.timeline.some((e) => e.event === 'failed' || e.event === 'retrying')).map((j) => j.id), 'attempts that failed').to.deep.equal([]);
  });
});
