// Cron across hosts: both hosts reconcile the same schedule (every 2 s) and consume its queue;
// host B is cut off for several ticks and healed. No tick may make two jobs, each job runs once,
// and the schedule keeps ticking through the partition. A tick may be skipped, never doubled:
// BullMQ schedules the next tick from the worker that takes the current one, for the next tick
// after that worker's now, so a worker delayed or cut off between the two moves the next run on
// (README, Once per tick). How many were skipped is printed.
import { waitFor } from '../helpers/wait.js';
import { LOCK_MS, STALLED_INTERVAL_MS, useHosts } from './harness.js';
import { cut, heal } from './network.js';
import { Checks, registered } from './steps.js';

const PERIOD_MS = 2000;
const EVERY_TWO_SECONDS = '*/2 * * * * *';
/** The longest a tick can wait to be scheduled: the tick before it taken by a worker then cut off, and taken back by BullMQ's stalled check. */
const LONGEST_GAP_MS = LOCK_MS + 2 * STALLED_INTERVAL_MS + PERIOD_MS;

/** The tick a scheduled job was made for, from its id (`repeat:<schedule>:<ms>`). */
function tickOf(id: string): number {
  return Number(/^repeat:.+:(\d+)$/.exec(id)?.[1] ?? NaN);
}

describe('many hosts: cron across a partition', function () {
  this.timeout(90_000);
  const t = useHosts(2);

  it('makes exactly one job per tick across the hosts, a tick during the partition included', async () => {
    const [a, b] = t.hosts as [typeof t.hosts[0], typeof t.hosts[0]];
    const env = { WORKER_QUEUES: 'maintenance', CRON_CACHE_CLEANUP: EVERY_TWO_SECONDS, CRON_RAG_SYNC: 'off', CRON_NEWS_FETCH: 'off' };
    const [onA, onB] = [t.supervise(a, env), t.supervise(b, env)];
    await Promise.all([registered(t, onA, ['maintenance']), registered(t, onB, ['maintenance'])]);
    const ticksRun = () => new Set(t.ledger().filter((e) => e.event === 'start').map((e) => e.id)).size;
    await waitFor(() => ticksRun() >= 3, { timeoutMs: 20_000, intervalMs: 100, message: 'three ticks before the cut' });

    const cutAt = Date.now();
    cut(b);
    await waitFor(() => t.ledger().filter((e) => e.event === 'start' && e.at > cutAt + PERIOD_MS).length >= 3, { timeoutMs: 30_000, intervalMs: 100, message: 'three ticks during the cut' });
    const healAt = Date.now();
    heal(b);
    await waitFor(() => t.ledger().filter((e) => e.event === 'start' && e.at > healAt).length >= 3, { timeoutMs: 20_000, intervalMs: 100, message: 'three ticks after the heal' });
    const endAt = Date.now();

    // Every tick's job up to now, as BullMQ holds them (not as the handlers say they ran).
    const stored = (await Promise.all((['completed', 'failed', 'active', 'waiting'] as const).map((state) =>
      t.store.list({ queue: 'maintenance', state, limit: 100, offset: 0 })))).flat();
    const ticks = stored.map((j) => tickOf(j.id)).filter((tick) => tick < endAt - PERIOD_MS).sort((x, y) => x - y);
    const runs = await waitFor(async () => {
      const views = await t.jobs('maintenance', stored.filter((j) => tickOf(j.id) < endAt - PERIOD_MS).map((j) => j.id));
      return views.every((j) => j.state === 'completed') && views;
    }, { timeoutMs: 20_000, intervalMs: 200, message: 'every tick\'s job completed' }).catch(() => undefined);
    const ranDuringCut = new Set(t.ledger().filter((e) => e.event === 'end' && e.at > cutAt + PERIOD_MS && e.at < healAt).map((e) => e.host));

    const check = new Checks();
    check.that('no tick made two jobs', new Set(ticks).size === ticks.length, ticks);
    const gaps = ticks.slice(1).map((tick, i) => tick - ticks[i]!);
    const skipped = gaps.reduce((n, gap) => n + gap / PERIOD_MS - 1, 0);
    console.log(`      cron across a partition: ${ticks.length} ticks, ${skipped} skipped`);
    check.that('ticks on the schedule\'s own times, and none waited past a lock time and two stalled checks', gaps.every((gap) => gap % PERIOD_MS === 0 && gap <= LONGEST_GAP_MS), gaps);
    check.that('a tick fell in the partition', ticks.some((tick) => tick > cutAt && tick < healAt));
    check.that('every tick\'s job completed exactly once', runs !== undefined && runs.every((j) => j.timeline.filter((e) => e.event === 'completed').length === 1));
    check.that('A alone ran the ticks during the partition', ranDuringCut.size === 1 && ranDuringCut.has(a.hostname), [...ranDuringCut]);
    check.assertAll();
  });
});
