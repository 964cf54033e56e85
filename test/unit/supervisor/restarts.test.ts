import { expect } from 'chai';
import { FakeWorker, loop, startReady, type Loop } from './harness.js';

/** Crash the newest worker, then tick until its slot gets a new one; returns how long that took. */
function crashAndWait(t: Loop, exit: (w: FakeWorker) => void = (w) => w.exit(1)): number {
  const count = t.started.length;
  exit(t.started.at(-1)!);
  t.tick();
  const crashedAt = t.now;
  while (t.started.length === count) t.tick(100);
  return t.now - crashedAt;
}

describe('supervisor loop: crashes and liveness', () => {
  it('restarts a crashed worker after 1 s × 2^n, and not a moment before', () => {
    const t = loop();
    t.tick();
    const waits = [1, 2, 3, 4].map(() => crashAndWait(t));
    expect(waits).to.deep.equal([1000, 2000, 4000, 8000]);
    expect(t.lines('worker restart: crash').map((l) => l.delayMs)).to.deep.equal([1000, 2000, 4000, 8000]);
  });

  it('caps the backoff at BACKOFF_MAX_MS', () => {
    const t = loop({}, { backoffMaxMs: 3000, crashLoopCrashes: 100 });
    t.tick();
    expect([1, 2, 3, 4].map(() => crashAndWait(t))).to.deep.equal([1000, 2000, 3000, 3000]);
  });

  it('marks the queue crash-looping at the 5th crash within the window, tells the workers, and clears it after healthy uptime', () => {
    const t = loop({}, { healthyUptimeMs: 60_000 });
    t.tick();
    for (let i = 0; i < 4; i++) crashAndWait(t);
    expect(t.lines('queue is crash-looping')).to.have.length(0);
    crashAndWait(t);
    expect(t.lines('queue is crash-looping')[0]).to.include({ queue: 'ai', crashes: 5 });

    const survivor = t.started.at(-1)!;
    survivor.ready();
    survivor.beat();
    t.tick();
    expect(survivor.last('state')).to.deep.include({ crashLooping: true, restarts: { memory: 0, max_jobs: 0, crash: 5, heartbeat: 0, pressure: 0, timeout: 0 } });
    for (let s = 0; s < 59; s++) {
      survivor.beat();
      t.tick(1000);
    }
    expect(t.lines('queue is no longer crash-looping'), 'not yet 60 s up').to.have.length(0);
    survivor.beat();
    t.tick(1000);
    expect(t.lines('queue is no longer crash-looping')).to.have.length(1);
    expect(survivor.last('state')?.crashLooping).to.equal(false);
    expect(crashAndWait(t), 'the backoff starts over').to.equal(1000);
  });

  it('leaves the crash-loop mark once the old crashes fall out of the window', () => {
    const t = loop({}, { crashLoopWindowMs: 60_000, backoffMaxMs: 1000, healthyUptimeMs: 10 * 60_000 });
    t.tick();
    for (let i = 0; i < 5; i++) crashAndWait(t);
    expect(t.lines('queue is crash-looping')).to.have.length(1);
    t.started.at(-1)!.ready();
    for (let s = 0; s < 60; s++) {
      t.started.at(-1)!.beat();
      t.tick(1000);
    }
    expect(t.lines('queue is no longer crash-looping')).to.have.length(1);
  });

  it('kills a worker silent past the heartbeat timeout, logs its last event-loop lag, and restarts it through the crash backoff', () => {
    const t = loop({}, { heartbeatTimeoutMs: 30_000 });
    const silent = startReady(t, { eventLoopLagMs: 850 });
    t.tick(30_000);
    expect(silent.killed, 'at the timeout, still alive').to.equal(false);
    t.tick(1);
    expect(silent.signals).to.deep.equal(['SIGKILL']);
    expect(t.lines('worker kill: heartbeat')[0]).to.include({ pid: silent.pid, eventLoopLagMs: 850, silentMs: 30_001, delayMs: 1000, ready: true });
    const killedAt = t.now;
    silent.exit(null, 'SIGKILL');
    t.tick();
    expect(t.started, 'no new worker inside the backoff').to.have.length(1);
    while (t.started.length === 1) t.tick(100);
    expect(t.now - killedAt).to.equal(1000);
    expect(t.actions(), 'counted once, as heartbeat').to.deep.equal(['kill:heartbeat']);
  });

  it('kills a worker never ready within the start timeout, counting it with crashes towards backoff and the crash-loop mark', () => {
    const t = loop({}, { startTimeoutMs: 60_000 });
    t.tick();
    const never = t.started[0]!;
    never.beat(); // beating but never fetching
    t.tick(60_001);
    expect(never.killed).to.equal(true);
    expect(t.lines('worker kill: heartbeat')[0]).to.include({ ready: false, delayMs: 1000 });
    never.exit(null, 'SIGKILL');
    t.tick();
    while (t.started.length === 1) t.tick(100);
    expect(crashAndWait(t), 'the crash after it waits the second step').to.equal(2000);
    const startTimeout = (w: FakeWorker) => {
      t.tick(60_001);
      expect(w.killed).to.equal(true);
      w.exit(null, 'SIGKILL');
    };
    crashAndWait(t, startTimeout);
    crashAndWait(t, startTimeout);
    expect(t.actions()).to.deep.equal(['kill:heartbeat', 'restart:crash', 'kill:heartbeat', 'kill:heartbeat']);
    expect(t.lines('queue is crash-looping'), 'four within the window').to.have.length(0);
    crashAndWait(t);
    expect(t.lines('queue is crash-looping')).to.have.length(1);
  });

  it('counts a failed spawn (an error and no pid, never an exit) as a crash', () => {
    class Unspawnable extends FakeWorker {
      override readonly pid = undefined;
    }
    const t = loop({}, {}, (queue) => new Unspawnable(queue));
    t.tick();
    t.started[0]!.emit('error', new Error('spawn EAGAIN'));
    t.tick();
    expect(t.lines('worker restart: crash')[0]).to.include({ code: -1, delayMs: 1000 });
    t.tick(999);
    expect(t.started).to.have.length(1);
    t.tick(1);
    expect(t.started).to.have.length(2);
  });
});
