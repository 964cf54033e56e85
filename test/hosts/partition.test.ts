// Two hosts, one Redis; host B's link is cut while it holds slow jobs, then healed. The run
// measures each delay the README's "Many hosts" section quotes (printed as one JSON line) and
// asserts on all of them at the end, so a failing run still says how far it got.
import { isAlive } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { KEEP_ALIVE_MS } from './embeddings.js';
import { LOCK_MS, STALLED_INTERVAL_MS, useHosts } from './harness.js';
import { cut, heal } from './network.js';
import { Checks, hostState, registered, slowJobsHeldBy, startedOn, whenHolds } from './steps.js';

/** How long BullMQ may take to give a lost job to another host: its lock runs out, then two stalled checks. */
const RECOVERY_MS = LOCK_MS + 2 * STALLED_INTERVAL_MS;
const SLOW_MS = 20_000;
/** B's warnings of the cut-off (an attempt aborted, or the store silent), and of its end: the worker's own words, in src/workers/fencing.ts. */
const saysCutOff = (msg: string) => msg.startsWith('job lock lost') || msg.startsWith('cut off from the store');
const saysRecovered = (msg: string) => msg.startsWith('the store answers again');

describe('many hosts: a partition mid-flight, then a heal', function () {
  this.timeout(120_000);
  const t = useHosts(2);

  it('loses no job, finishes none on both hosts, warns on the cut-off host, shows it unreachable, and takes it back without a restart', async () => {
    const [a, b] = t.hosts as [typeof t.hosts[0], typeof t.hosts[0]];
    // B runs 4 slow document jobs and has 2 slots left for the quick flow; it starts first so the slow jobs are its own.
    // Their first attempt ends within the scenario: a B that is not fenced finishes them, and the ledger shows it.
    const onB = t.supervise(b, { WORKER_QUEUES: 'document,ai', QUEUE_DOCUMENT_CONCURRENCY: '6', QUEUE_AI_CONCURRENCY: '2' });
    const [base] = await Promise.all([t.api(a), registered(t, onB, ['document', 'ai'])]);
    const slow = await slowJobsHeldBy(t, b, 4, SLOW_MS);
    // Queues split as WORKER_QUEUES allows: only B runs ai, so the ai jobs enqueued during the cut wait for B.
    const onA = t.supervise(a, { WORKER_QUEUES: 'document', QUEUE_DOCUMENT_CONCURRENCY: '4' });
    await registered(t, onA, ['document']);

    // Both hosts work; B's ai jobs last, so that its keep-alive pool holds connections to the embeddings server at the cut.
    const before = await t.sleepers(Array.from({ length: 30 }, () => ({ ms: 200 })));
    const embedsBefore = await t.embeds(16);
    await waitFor(async () => [...await t.jobs('document', before), ...await t.jobs('ai', embedsBefore)].every((j) => j.state === 'completed'),
      { timeoutMs: 30_000, intervalMs: 100, message: 'the flow before the cut' });
    const ranBefore = new Set(t.ledger().filter((e) => before.includes(e.id)).map((e) => e.host));
    const pidsOnB = [onB.child.pid!, ...onB.workers()];

    const cutAt = Date.now();
    cut(b);
    const lastAskedByB = Math.max(...t.embeddings.requests.filter((r) => r.from === b.address).map((r) => r.at));
    const [warned, unreachable, orphaned, aborted, restarted] = await Promise.all([
      whenHolds(() => onB.warnings().some((l) => Number(l.time) >= cutAt && saysCutOff(String(l.msg))), cutAt, RECOVERY_MS + 5000),
      whenHolds(async () => hostState(await t.queueStats(base), b.hostname) === 'unreachable', cutAt, RECOVERY_MS + 5000, 250),
      whenHolds(async () => ((await t.queueStats(base)).queues.document?.orphaned ?? 0) >= slow.length, cutAt, RECOVERY_MS + 5000, 250),
      whenHolds(() => slow.every((id) => t.ledger().some((e) => e.event === 'aborted' && e.id === id && e.host === b.hostname)), cutAt, RECOVERY_MS + 5000),
      whenHolds(() => startedOn(t, slow, a.hostname), cutAt, RECOVERY_MS + 10_000),
    ]);
    // A's heartbeat names the restarted jobs within a beat or two: from then on nothing is orphaned.
    const orphanedCleared = await whenHolds(async () => (await t.queueStats(base)).queues.document?.orphaned === 0, cutAt, RECOVERY_MS + 15_000, 250);
    const stillUnreachable = hostState(await t.queueStats(base), b.hostname);
    // Work enqueued during the cut, once the lost jobs are back: A's new jobs would look orphaned until its next beat.
    // The ai jobs wait for B: the first thing it does after the heal is a request on a pooled connection the server dropped.
    const during = await t.sleepers(Array.from({ length: 10 }, () => ({ ms: 200 })));
    const embedsAfter = await t.embeds(8);
    await waitFor(async () => (await t.jobs('document', during)).every((j) => j.state === 'completed'), { timeoutMs: 20_000, intervalMs: 200, message: 'A alone runs the flow during the cut' });

    const healAt = Date.now();
    heal(b);
    // Enough work that A alone would need seconds: B has the time to come back and take its share.
    const after = await t.sleepers(Array.from({ length: 24 }, () => ({ ms: 1000 })));
    const [rejoined, recoveredLine] = await Promise.all([
      whenHolds(() => t.ledger().some((e) => e.event === 'start' && e.host === b.hostname && e.at >= healAt), healAt, 20_000, 50),
      whenHolds(() => onB.warnings().some((l) => Number(l.time) >= healAt && saysRecovered(String(l.msg))), healAt, 20_000),
    ]);
    const askedByBAfterHeal = await whenHolds(() => t.embeddings.requests.some((r) => r.from === b.address && r.at >= healAt), healAt, 20_000);
    const documents = [...slow, ...before, ...during, ...after];
    const embeds = [...embedsBefore, ...embedsAfter];
    await waitFor(async () => [...await t.jobs('document', documents), ...await t.jobs('ai', embeds)].every((j) => j.state === 'completed'),
      { timeoutMs: 30_000, intervalMs: 200 }).catch(() => {});
    // Whatever B's handlers of the lost jobs did, aborted or finished, is in the ledger by now.
    await waitFor(() => slow.every((id) => t.ledger().some((e) => e.id === id && e.host === b.hostname && e.event !== 'start')),
      { timeoutMs: SLOW_MS, intervalMs: 200 }).catch(() => {});
    const views = [...await t.jobs('document', documents), ...await t.jobs('ai', embeds)];
    const all = [...documents, ...embeds];
    const ledger = t.ledger();

    console.log(`      many-hosts partition: ${JSON.stringify({
      lockMs: LOCK_MS, stalledIntervalMs: STALLED_INTERVAL_MS, warnedMs: warned, abortedMs: aborted, unreachableMs: unreachable, orphanedMs: orphaned,
      restartedOnAMs: restarted, orphanedClearedMs: orphanedCleared, recoveryWarnMs: recoveredLine, rejoinedAfterHealMs: rejoined, embeddingsAfterHealMs: askedByBAfterHeal,
    })}`);

    const check = new Checks();
    // 0 lost: every job completed, and BullMQ recorded its completion once.
    check.that('every enqueued job is in the store', views.length === all.length, views.length);
    check.that('every job completed', views.every((j) => j.state === 'completed'), views.filter((j) => j.state !== 'completed').map((j) => `${j.id}:${j.state}`));
    check.that('every job completed exactly once', views.every((j) => j.timeline.filter((e) => e.event === 'completed').length === 1));
    check.that('the flow before the cut ran on both hosts', ranBefore.has(a.hostname) && ranBefore.has(b.hostname), [...ranBefore]);
    check.that('B had used its pooled connections within the server\'s keep-alive before the cut', cutAt - lastAskedByB < KEEP_ALIVE_MS, cutAt - lastAskedByB);
    // 0 true double executions: B's handlers saw their signals before A took the jobs, and nothing ended twice.
    check.that('B aborted the signal of every job it could no longer renew', aborted !== undefined);
    const reasons = ledger.filter((e) => e.event === 'aborted' && e.host === b.hostname).map((e) => e.detail);
    check.that('B gave a lock-lost reason', reasons.length > 0 && reasons.every((r) => /lock/i.test(r)), reasons);
    for (const id of slow) {
      const abortedAt = ledger.find((e) => e.event === 'aborted' && e.id === id && e.host === b.hostname)?.at;
      const takenAt = ledger.find((e) => e.event === 'start' && e.id === id && e.host === a.hostname)?.at;
      check.that(`job ${id} was aborted on B before A took it`, abortedAt !== undefined && takenAt !== undefined && abortedAt < takenAt, { abortedAt, takenAt });
    }
    const ends = ledger.filter((e) => e.event === 'end').map((e) => e.id);
    check.that('no job ended twice', ends.every((id, i) => ends.indexOf(id) === i), ends.filter((id, i) => ends.indexOf(id) !== i));
    check.that('B finished none of the jobs it lost', !ledger.some((e) => e.event === 'end' && slow.includes(e.id) && e.host === b.hostname));
    // B says it is cut off within the lock time; A's view shows B unreachable and its jobs orphaned until they restart.
    check.that(`B warned (level >= 40) of the cut-off within the lock time (${LOCK_MS} ms)`, warned !== undefined && warned <= LOCK_MS, warned);
    check.that('A\'s queue-stats showed B unreachable', unreachable !== undefined, unreachable);
    check.that('A\'s queue-stats counted B\'s jobs orphaned before they restarted', orphaned !== undefined && restarted !== undefined && orphaned < restarted, { orphaned, restarted });
    check.that(`B's jobs restarted on A within lock + 2 stalled checks + 10 s`, restarted !== undefined, restarted);
    check.that('no job counted orphaned within 3 s of their restart on A', orphanedCleared !== undefined && restarted !== undefined && orphanedCleared <= restarted + 3000, { orphanedCleared, restarted });
    check.that('B still unreachable while cut off', stillUnreachable === 'unreachable', stillUnreachable);
    // The heal: B back with the same processes, taking work, saying it recovered, and no attempt failing.
    check.that('B\'s processes all survived', pidsOnB.every(isAlive), pidsOnB.filter((pid) => !isAlive(pid)));
    check.that('B forked no new worker', onB.workers().length === pidsOnB.length - 1, onB.workers());
    check.that('B took work after the heal', rejoined !== undefined);
    check.that('B called the embeddings server again after the heal', askedByBAfterHeal !== undefined);
    check.that('B said (level >= 40) it recovered its store', recoveredLine !== undefined);
    check.that('every job ran in one attempt but those B lost, in two', views.every((j) => j.attempts === (slow.includes(j.id) ? 2 : 1)),
      views.filter((j) => j.attempts !== (slow.includes(j.id) ? 2 : 1)).map((j) => `${j.queue}/${j.id}:${j.attempts}`));
    check.that('no attempt failed', !views.some((j) => j.timeline.some((e) => e.event === 'failed' || e.event === 'retrying')),
      views.filter((j) => j.timeline.some((e) => e.event === 'failed' || e.event === 'retrying')).map((j) => j.id));
    check.assertAll();
  });
});
