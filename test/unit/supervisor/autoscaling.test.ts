// The autoscaler in the supervisor's loop, with fake workers and a fake clock:
// up to the maximum on a backlog, down to the minimum after idle capacity, no
// step up under memory pressure, and the idle cooldown restarted by work.
import { expect } from 'chai';
import type { Backlog } from '../../../src/supervisor/autoscale.js';
import { MB, loop, startReady, type FakeWorker, type Loop } from './harness.js';

const GB = 1024 * MB;
const SETTINGS = { minIntervalMs: 5000, idleMs: 60_000 };

/** The fake workers not yet exited. */
const live = (t: Loop) => t.started.filter((w) => t.handle(w));

/** `ms` of time in 1 s ticks: every live worker beats (fields per worker), and the backlog is read afresh. */
function run(t: Loop, ms: number, backlog: Partial<Backlog>, beat: (w: FakeWorker) => object = () => ({})): void {
  for (let passed = 0; passed < ms; passed += 1000) {
    for (const worker of live(t)) worker.beat(beat(worker));
    t.backlog('ai', { ...backlog, ...(backlog.waitingSince === undefined ? {} : { waitingSince: t.now - 1000 }) });
    t.tick(1000);
  }
}

/** Makes every started worker ready. */
function readyAll(t: Loop): void {
  for (const worker of t.started) worker.ready();
}

async function desiredGauge(t: Loop, queue = 'ai'): Promise<number | undefined> {
  return (await t.supervisor.metrics.desired.get()).values.find((v) => v.labels.queue === queue)?.value;
}

const FLOOD = { ready: 500, waitingSince: 0 };

describe('supervisor loop: autoscaling', () => {
  it('adds one process per step while the backlog lasts, up to the maximum, then reports the maximum once', async () => {
    const t = loop({ QUEUE_AI_PROCESSES: '1..3' }, {}, undefined, SETTINGS);
    startReady(t, { active: 4 });
    expect(await desiredGauge(t)).to.equal(1);
    run(t, 1000, FLOOD, () => ({ active: 4 }));
    expect(t.started, 'one step: one new process').to.have.length(2);
    expect(t.lines('autoscale up: backlog')[0]).to.include({ queue: 'ai', step: 'up', from: 1, to: 2 });

    run(t, 10_000, FLOOD, () => ({ active: 4 }));
    expect(t.started, 'no second step while the new process starts').to.have.length(2);
    readyAll(t);
    run(t, 1000, FLOOD, () => ({ active: 4 }));
    expect(t.started).to.have.length(3);
    readyAll(t);
    run(t, 20_000, FLOOD, () => ({ active: 4 }));
    expect(t.started, 'never above the maximum').to.have.length(3);
    expect(t.lines('autoscale hold: max'), 'the maximum reported once').to.have.length(1);
    expect(await desiredGauge(t)).to.equal(3);
    expect(t.started[0]!.last('state')?.scaling).to.deep.include({ min: 1, max: 3, desired: 3, live: 3 });
    expect(t.started[0]!.last('state')?.scaling?.lastDecision).to.include({ step: 'hold', reason: 'max', from: 3, to: 3 });
  });

  it('drains the largest process after AUTOSCALE_IDLE_MS of idle capacity, one step per idle period, down to the minimum', () => {
    const t = loop({ QUEUE_AI_PROCESSES: '1..3' }, {}, undefined, SETTINGS);
    startReady(t, { active: 4 });
    for (let step = 0; step < 2; step++) {
      run(t, 6000, FLOOD, () => ({ active: 4 }));
      readyAll(t);
    }
    const [first, second, third] = t.started;
    expect(t.started).to.have.length(3);
    const rss = new Map([[first, 150 * MB], [second, 300 * MB], [third, 120 * MB]]);
    const idle = (w: FakeWorker) => ({ active: 0, rss: rss.get(w) });

    run(t, 59_000, { ready: 0 }, idle);
    expect(t.lines('autoscale down: idle')).to.have.length(0);
    run(t, 2000, { ready: 0 }, idle);
    const [down] = t.lines('autoscale down: idle');
    expect(down, 'the line names the worker drained').to.include({ from: 3, to: 2, pid: second!.pid, rss: 300 * MB });
    expect([first!.drained, second!.drained, third!.drained], 'the largest drains').to.deep.equal([false, true, false]);
    second!.exit(0);
    run(t, 1000, { ready: 0 }, idle);
    expect(t.lines('worker exited', { pid: second!.pid, reason: 'scale_down' })).to.have.length(1);
    expect(t.actions(), 'a drained worker is no crash, and is not replaced').to.deep.equal([]);
    expect(t.started).to.have.length(3);

    run(t, 61_000, { ready: 0 }, idle);
    expect(first!.drained, 'then the next largest').to.equal(true);
    first!.exit(0);
    run(t, 180_000, { ready: 0 }, idle);
    expect(t.lines('autoscale down: idle').map((l) => l.to)).to.deep.equal([2, 1]);
    expect(live(t)).to.deep.equal([third]);
  });

  it('starts no process under host memory pressure, whatever the backlog, and does once it is over', () => {
    // Two queues, so that pressure holds maintenance (the lowest priority) and ai keeps its backlog.
    const t = loop({ WORKER_QUEUES: 'ai,maintenance', QUEUE_AI_PROCESSES: '1..3' }, { pressureCooldownMs: 3_600_000 }, undefined, SETTINGS);
    t.tick();
    readyAll(t);
    t.supervisor.observeMemory({ totalBytes: 8 * GB, availableBytes: 0.4 * GB });
    run(t, 30_000, { ready: 100_000, waitingSince: 0 }, () => ({ active: 4 }));
    readyAll(t); // the pressure recycle's replacement, which is no step
    run(t, 30_000, { ready: 100_000, waitingSince: 0 }, () => ({ active: 4 }));
    expect(t.lines('autoscale up: backlog').length + t.lines('autoscale up: oldest_wait').length).to.equal(0);
    expect(t.lines('autoscale hold: pressure'), 'reported once').to.have.length(1);
    expect(t.supervisor.handles.filter((h) => h.queue === 'ai' && h.state === 'ready')).to.have.length(1);

    t.supervisor.observeMemory({ totalBytes: 8 * GB, availableBytes: 6 * GB });
    run(t, 1000, { ready: 100_000, waitingSince: 0 }, () => ({ active: 4 }));
    expect(t.lines('autoscale up: backlog')).to.have.length(1);
  });

  it('restarts the idle cooldown when work comes back, so a short lull never scales down', () => {
    const t = loop({ QUEUE_AI_PROCESSES: '1..2' }, {}, undefined, SETTINGS);
    startReady(t, { active: 4 });
    run(t, 1000, FLOOD, () => ({ active: 4 }));
    readyAll(t);
    run(t, 50_000, { ready: 0 }, () => ({ active: 1 }));
    run(t, 1000, { ready: 3, waitingSince: 0 }, () => ({ active: 4 }));
    run(t, 59_000, { ready: 0 }, () => ({ active: 1 }));
    expect(t.lines('autoscale down: idle'), '50 s, then work, then 59 s: no 60 s of idle').to.have.length(0);
    run(t, 2000, { ready: 0 }, () => ({ active: 1 }));
    expect(t.lines('autoscale down: idle')).to.have.length(1);
  });

  it('never starts a process in another slot while a crashed one waits out its backoff', () => {
    const t = loop({ QUEUE_AI_PROCESSES: '1..3' }, {}, undefined, SETTINGS);
    const only = startReady(t);
    only.exit(1);
    t.tick(10);
    expect(t.started).to.have.length(1);
    t.tick(999);
    expect(t.started, 'inside the 1 s backoff').to.have.length(1);
    t.tick(1);
    expect(t.started).to.have.length(2);
  });
});
