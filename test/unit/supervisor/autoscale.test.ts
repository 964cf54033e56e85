import { expect } from 'chai';
import {
  DEFAULT_AUTOSCALE, NO_STEP, decide, hasIdleCapacity, hostHasRoom, needsMore, scaleDownVictim, startableWithin, upVeto,
  type AutoscaleSettings, type HostRoom, type QueueLoad, type ScaleTimers,
} from '../../../src/supervisor/autoscale.js';
import { Throughput } from '../../../src/supervisor/autoscaler.js';

const MB = 1024 * 1024;
const GB = 1024 * MB;
const NOW = 1_000_000;

/** ai-like: 1..4 processes of concurrency 4, a 10 s target; two live, busy, nothing waiting. */
function load(fields: Partial<QueueLoad> = {}, backlog: Partial<NonNullable<QueueLoad['backlog']>> = {}): QueueLoad {
  return {
    range: { min: 1, max: 4 }, desired: 2, live: 2, starting: 0, concurrency: 4, active: 8, finishedPerSecond: 2,
    targetWaitMs: 10_000, held: false, crashLooping: false,
    backlog: { ready: 0, waitingSince: null, paused: false, fleetLive: 2, readAt: NOW, ...backlog },
    ...fields,
  };
}

/** A host of 8 GB with plenty free, running 2 GB of budgets; one more is 512 MB. */
const ROOM: HostRoom = { memory: { totalBytes: 8 * GB, availableBytes: 6 * GB }, minAvailableRatio: 0.1, budgetsBytes: 2 * GB, budgetBytes: 512 * MB };

describe('autoscale policy', () => {
  it('counts what the processes can start within the target: free slots now plus what finishes meanwhile, for every host', () => {
    // 2 processes × 4 slots, 8 busy: nothing free; 2 jobs/s finish, so 20 start within 10 s.
    expect(startableWithin(load())).to.equal(20);
    expect(startableWithin(load({ active: 5 })), '3 free slots now').to.equal(23);
    expect(startableWithin(load({}, { fleetLive: 4 })), 'two more processes on another host, measured alike').to.equal(40);
    expect(startableWithin(load({ finishedPerSecond: 0, active: 0 })), 'nothing measured yet: the free slots').to.equal(8);
  });

  it('needs one more process when the backlog exceeds what can start within the target, or the oldest job waited past it', () => {
    expect(needsMore(load({}, { ready: 20, waitingSince: NOW - 1000 }), NOW)).to.equal(undefined);
    expect(needsMore(load({}, { ready: 21, waitingSince: NOW - 1000 }), NOW)).to.include({ step: 'up', reason: 'backlog' });
    expect(needsMore(load({}, { ready: 1, waitingSince: NOW - 10_000 }), NOW), 'at the target, not over it').to.equal(undefined);
    expect(needsMore(load({}, { ready: 1, waitingSince: NOW - 10_001 }), NOW)).to.deep.include({
      step: 'up', reason: 'oldest_wait', detail: 'the oldest ready job has waited 10.0 s, over the 10.0 s target',
    });
  });

  it('counts no backlog for a paused queue or one held on this host, whatever waits', () => {
    const flood = { ready: 10_000, waitingSince: NOW - 600_000 };
    expect(needsMore(load({}, { ...flood, paused: true }), NOW)).to.equal(undefined);
    expect(needsMore(load({ held: true }, flood), NOW)).to.equal(undefined);
    expect(hasIdleCapacity(load({ held: true, active: 0 }, flood)), 'a held queue idles').to.equal(true);
  });

  it('finds room for one more budget only when the host stays out of pressure, now and with every process at its budget', () => {
    expect(hostHasRoom(ROOM)).to.equal(true);
    // 8 GB × 10 % = 819 MB must stay available: 1.2 GB − 512 MB leaves less.
    expect(hostHasRoom({ ...ROOM, memory: { totalBytes: 8 * GB, availableBytes: 1.2 * GB } })).to.equal(false);
    expect(hostHasRoom({ ...ROOM, memory: { totalBytes: 8 * GB, availableBytes: 1.4 * GB } })).to.equal(true);
    // Budgets 6.8 GB + 512 MB > 8 GB − 819 MB: the processes could grow into pressure.
    expect(hostHasRoom({ ...ROOM, budgetsBytes: 6.8 * GB })).to.equal(false);
    expect(hostHasRoom({ ...ROOM, memory: undefined }), 'memory unknown: as for a fixed count').to.equal(true);
  });

  it('refuses a step up under memory pressure first, then at the maximum, when crash-looping, or without room', () => {
    const pressure = { ...ROOM, memory: { totalBytes: 8 * GB, availableBytes: 0.5 * GB } };
    expect(upVeto(load({ desired: 4, crashLooping: true }), pressure)).to.include({ step: 'hold', reason: 'pressure' });
    expect(upVeto(load({ desired: 4 }), ROOM)).to.include({ step: 'hold', reason: 'max' });
    expect(upVeto(load({ crashLooping: true }), ROOM)).to.include({ reason: 'crash_looping' });
    expect(upVeto(load(), { ...ROOM, budgetsBytes: 7 * GB })).to.include({ reason: 'no_room' });
    expect(upVeto(load(), ROOM)).to.equal(undefined);
  });

  it('has idle capacity when nothing is ready and one process fewer could hold every running job', () => {
    expect(hasIdleCapacity(load({ active: 4 }))).to.equal(true);
    expect(hasIdleCapacity(load({ active: 5 }))).to.equal(false);
    expect(hasIdleCapacity(load({ active: 0 }, { ready: 1, waitingSince: NOW }))).to.equal(false);
    expect(hasIdleCapacity(load({ active: 0, backlog: undefined })), 'no backlog read yet').to.equal(false);
  });

  it('drains the largest process on a step down', () => {
    expect(scaleDownVictim([{ pid: 1, rss: 90 * MB }, { pid: 2, rss: 300 * MB }, { pid: 3, rss: 120 * MB }])?.pid).to.equal(2);
  });

  it('measures jobs finished per second over the last 15 s, across recycled workers', () => {
    const rate = new Throughput();
    const [a, b] = [{}, {}];
    rate.observe([{ worker: a, processed: 0 }], 0);
    rate.observe([{ worker: a, processed: 10 }], 5000);
    rate.observe([{ worker: a, processed: 12 }, { worker: b, processed: 8 }], 10_000); // b replaced nobody: its 8 count
    expect(rate.perSecond()).to.equal(2);
    rate.observe([{ worker: b, processed: 8 }], 25_000); // a exited; nothing finished for 15 s
    expect(rate.perSecond(), 'the window keeps 10 s…25 s').to.equal(0);
  });
});

describe('autoscale decisions over time', () => {
  const settings: AutoscaleSettings = { ...DEFAULT_AUTOSCALE, idleMs: 60_000, minIntervalMs: 5000, jitterMs: 2000, staleMs: 10_000 };
  const half = () => 0.5;
  const run = (l: QueueLoad, timers: ScaleTimers, now: number, room = ROOM) => decide(l, room, timers, now, settings, half);

  it('steps up after its jitter if the need still holds, then not while the new process starts nor within the interval', () => {
    const busy = (now: number, fields: Partial<QueueLoad> = {}) => load(fields, { ready: 100, waitingSince: now - 1000, readAt: now });
    let t = run(busy(NOW), NO_STEP, NOW);
    expect(t.decision, 'waits out its jitter: 0.5 × 2 s').to.equal(undefined);
    t = run(busy(NOW + 999), t.timers, NOW + 999);
    expect(t.decision).to.equal(undefined);
    t = run(busy(NOW + 1000), t.timers, NOW + 1000);
    expect(t.decision).to.include({ step: 'up', reason: 'backlog' });
    expect(run(busy(NOW + 7000, { starting: 1, desired: 3 }), t.timers, NOW + 7000).decision, 'the new process still starts').to.equal(undefined);
    t = run(busy(NOW + 5999, { desired: 3, live: 3 }), t.timers, NOW + 5999);
    expect(t.timers.pending, 'within the interval nothing is pending').to.equal(null);
    t = run(busy(NOW + 6000, { desired: 3, live: 3 }), t.timers, NOW + 6000);
    t = run(busy(NOW + 7000, { desired: 3, live: 3 }), t.timers, NOW + 7000);
    expect(t.decision).to.include({ step: 'up' });
  });

  it('drops a jittered step whose need went away before its time', () => {
    let t = run(load({}, { ready: 100, waitingSince: NOW }), NO_STEP, NOW);
    expect(t.timers.pending).to.deep.equal({ step: 'up', at: NOW + 1000 });
    t = run(load({}, { ready: 0, readAt: NOW + 1000 }), t.timers, NOW + 1000);
    expect([t.decision, t.timers.pending]).to.deep.equal([undefined, null]);
  });

  it('steps down only after AUTOSCALE_IDLE_MS of idle capacity, once per idle period, never below the minimum', () => {
    const idle = (now: number, fields: Partial<QueueLoad> = {}) => load({ active: 1, ...fields }, { readAt: now });
    let t = run(idle(NOW), NO_STEP, NOW);
    t = run(idle(NOW + 30_000, { active: 6 }), t.timers, NOW + 30_000);
    expect(t.timers.idleSince, 'six jobs need both processes: the idle clock restarts').to.equal(null);
    t = run(idle(NOW + 31_000), t.timers, NOW + 31_000);
    t = run(idle(NOW + 91_000), t.timers, NOW + 91_000);
    expect(t.decision, 'idle since +31 s: 60 s reached, then the jitter').to.equal(undefined);
    t = run(idle(NOW + 92_000), t.timers, NOW + 92_000);
    expect(t.decision).to.include({ step: 'down', reason: 'idle' });
    t = run(idle(NOW + 93_000, { desired: 1, live: 1, active: 0 }), t.timers, NOW + 93_000);
    t = run(idle(NOW + 300_000, { desired: 1, live: 1, active: 0 }), t.timers, NOW + 300_000);
    expect(t.decision, 'at the minimum').to.equal(undefined);
  });

  it('reports a hold under memory pressure, whatever the backlog, and takes no step', () => {
    const pressure = { ...ROOM, memory: { totalBytes: 8 * GB, availableBytes: 0.4 * GB } };
    const t = run(load({}, { ready: 1_000_000, waitingSince: NOW - 3_600_000 }), NO_STEP, NOW, pressure);
    expect(t.decision).to.include({ step: 'hold', reason: 'pressure' });
    expect(t.timers.lastStepAt).to.equal(-Infinity);
  });

  it('acts on no stale backlog, and never on a fixed count', () => {
    const flood = { ready: 1000, waitingSince: NOW - 60_000 };
    expect(run(load({}, { ...flood, readAt: NOW - 10_001 }), NO_STEP, NOW).decision).to.equal(undefined);
    expect(run(load({ range: { min: 2, max: 2 } }, { ...flood, readAt: NOW }), NO_STEP, NOW).timers.pending).to.equal(null);
    expect(run(load({}, { ...flood, readAt: NOW }), NO_STEP, NOW).timers.pending).to.not.equal(null);
  });
});
