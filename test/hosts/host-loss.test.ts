// Two hosts, one Redis; host B is killed outright (its supervisor and workers, SIGKILL) while it
// holds slow jobs. Nobody is left on B to release them: stalled detection on A must.
import { waitFor } from '../helpers/wait.js';
import { LOCK_MS, STALLED_INTERVAL_MS, useHosts } from './harness.js';
import { killProcessesIn } from './network.js';
import { Checks, hostState, registered, slowJobsHeldBy, startedOn, whenHolds } from './steps.js';

const RECOVERY_MS = LOCK_MS + 2 * STALLED_INTERVAL_MS;

describe('many hosts: a host killed outright', function () {
  this.timeout(90_000);
  const t = useHosts(2);

  it('has its jobs recovered by the other host within lock + stalled time, loses none, and shows it unreachable', async () => {
    const [a, b] = t.hosts as [typeof t.hosts[0], typeof t.hosts[0]];
    const onB = t.supervise(b, { WORKER_QUEUES: 'document', QUEUE_DOCUMENT_CONCURRENCY: '4' });
    const [base] = await Promise.all([t.api(a), registered(t, onB, ['document'])]);
    const slow = await slowJobsHeldBy(t, b, 4, 60_000);
    const onA = t.supervise(a, { WORKER_QUEUES: 'document', QUEUE_DOCUMENT_CONCURRENCY: '4' });
    await registered(t, onA, ['document']);

    const killedAt = Date.now();
    killProcessesIn(b.ns);
    const [restarted, unreachable] = await Promise.all([
      whenHolds(() => startedOn(t, slow, a.hostname), killedAt, RECOVERY_MS + 10_000),
      whenHolds(async () => hostState(await t.queueStats(base), b.hostname) === 'unreachable', killedAt, RECOVERY_MS + 10_000, 250),
    ]);
    await waitFor(async () => (await t.jobs('document', slow)).every((j) => j.state === 'completed'), { timeoutMs: 20_000, intervalMs: 200, message: 'B\'s jobs completed on A' }).catch(() => {});
    const views = await t.jobs('document', slow);
    console.log(`      many-hosts host loss: ${JSON.stringify({ lockMs: LOCK_MS, stalledIntervalMs: STALLED_INTERVAL_MS, restartedOnAMs: restarted, unreachableMs: unreachable })}`);

    const check = new Checks();
    check.that(`B's jobs restarted on A within lock + 2 stalled checks + 1 s (${RECOVERY_MS + 1000} ms)`, restarted !== undefined && restarted <= RECOVERY_MS + 1000, restarted);
    check.that('none of B\'s jobs lost: all completed, once', views.length === slow.length && views.every((j) => j.state === 'completed' && j.timeline.filter((e) => e.event === 'completed').length === 1),
      views.map((j) => `${j.id}:${j.state}`));
    check.that('A\'s queue-stats showed B unreachable', unreachable !== undefined, unreachable);
    check.assertAll();
  });
});
