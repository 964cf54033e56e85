import os from 'node:os';
import { expect } from 'chai';
import { MB, loop, startReady } from './harness.js';

describe('supervisor loop: recycling', () => {
  it('recycles a worker over budget for 3 heartbeats in a row: replacement first, then drain', () => {
    const t = loop({ QUEUE_AI_MAX_MEMORY_MB: '100' });
    const old = startReady(t);
    for (const rss of [150, 150, 90, 150, 150]) old.beat({ rss: rss * MB });
    t.tick(1000);
    expect(t.started, 'the streak was broken by a beat under budget').to.have.length(1);

    old.beat({ rss: 150 * MB });
    t.tick(1000);
    expect(t.actions()).to.deep.equal(['recycle:memory']);
    const [replacement] = t.since(1);
    expect(replacement, 'the replacement is started').to.not.equal(undefined);
    expect(old.drained, 'the old worker keeps working while the replacement starts').to.equal(false);
    t.tick(1000);
    expect(old.drained).to.equal(false);

    replacement!.ready();
    t.tick(10);
    expect(old.drained, 'drained once the replacement fetches').to.equal(true);
    expect(old.killed).to.equal(false);
    expect(t.started).to.have.length(2);
    old.exit(0);
    t.tick(10);
    expect(t.lines('worker exited', { pid: old.pid, reason: 'memory' })).to.have.length(1);
    expect(t.released).to.deep.equal([`${os.hostname()}:${old.pid}:ai`]);
    expect(t.actions(), 'a drained exit is no crash').to.deep.equal(['recycle:memory']);
  });

  it('keeps the old worker when its replacement dies before ready, counts a crash, and retries after the backoff', () => {
    const t = loop({ QUEUE_AI_MAX_JOBS: '10' });
    const old = startReady(t, { started: 10 });
    t.tick(100);
    const [first] = t.since(1);
    first!.exit(1);
    t.tick(100);
    expect(old.drained, 'the old worker is not drained').to.equal(false);
    expect(t.handle(old)?.state).to.equal('ready');
    expect(t.handle(old)?.recycle).to.equal(undefined);
    expect(t.lines('worker restart: crash', { pid: first!.pid, delayMs: 1000 })).to.have.length(1);

    t.tick(999);
    expect(t.started, 'no new recycle inside the backoff').to.have.length(2);
    t.tick(1);
    const [second] = t.since(2);
    expect(second, 'the recycle is tried again').to.not.equal(undefined);
    second!.ready();
    t.tick(10);
    expect(old.drained).to.equal(true);
    expect(t.actions()).to.deep.equal(['recycle:max_jobs', 'restart:crash', 'recycle:max_jobs']);
  });

  it('kills a draining worker at its drain deadline, not before, with reason timeout', () => {
    const t = loop({ QUEUE_AI_MAX_JOBS: '1', QUEUE_AI_DRAIN_TIMEOUT_MS: '5000' });
    const old = startReady(t, { started: 1, active: 1 });
    t.tick(100);
    t.since(1)[0]!.ready();
    t.tick(100);
    expect(old.drained).to.equal(true);
    t.tick(4999);
    expect(old.killed, 'still inside the drain timeout').to.equal(false);
    t.tick(1);
    expect(old.signals).to.deep.equal(['SIGKILL']);
    expect(t.handle(old)?.killReason).to.equal('timeout');
    expect(t.lines('drain timeout: killing worker; its active jobs will be recovered as stalled')[0])
      .to.include({ pid: old.pid, reason: 'timeout', stopReason: 'max_jobs', active: 1 });
    old.exit(null, 'SIGKILL');
    t.tick(10);
    expect(t.actions(), 'killed after a drain is no crash').to.deep.equal(['recycle:max_jobs']);
    expect(t.started, 'the replacement holds the slot').to.have.length(2);
  });

  it('kills a worker past twice its budget at once, without a drain, and starts another without backoff', () => {
    const t = loop({ QUEUE_AI_MAX_MEMORY_MB: '100' });
    const old = startReady(t);
    old.beat({ rss: 199 * MB });
    t.tick(1000);
    expect(old.killed).to.equal(false);
    old.beat({ rss: 201 * MB });
    t.tick(1000);
    expect(old.signals).to.deep.equal(['SIGKILL']);
    expect(old.drained).to.equal(false);
    expect(t.actions()).to.deep.equal(['kill:memory']);
    expect(t.started, 'its slot is filled at once').to.have.length(2);
    old.exit(null, 'SIGKILL');
    t.tick(10);
    expect(t.actions(), 'not counted as a crash').to.deep.equal(['kill:memory']);
  });

  it('reads the hard ceiling from QUEUE_<NAME>_HARD_MEMORY_FACTOR, over WORKER_HARD_MEMORY_FACTOR', () => {
    const t = loop({ WORKER_QUEUES: 'ai,document', QUEUE_AI_MAX_MEMORY_MB: '100', QUEUE_DOCUMENT_MAX_MEMORY_MB: '100', WORKER_HARD_MEMORY_FACTOR: '1.5', QUEUE_AI_HARD_MEMORY_FACTOR: '3' });
    t.tick();
    const [ai, document] = t.started;
    for (const worker of [ai!, document!]) {
      worker.ready();
      worker.beat({ rss: 250 * MB });
    }
    t.tick(10);
    expect([ai!.killed, document!.killed]).to.deep.equal([false, true]);
    ai!.beat({ rss: 301 * MB });
    t.tick(10);
    expect(ai!.killed).to.equal(true);
  });

  it('kills a worker being replaced that passes the hard ceiling, without counting a second restart', () => {
    const t = loop({ QUEUE_AI_MAX_JOBS: '1', QUEUE_AI_PROCESSES: '2', QUEUE_AI_MAX_MEMORY_MB: '100' });
    t.tick();
    const [draining, waiting] = t.started;
    for (const worker of [draining!, waiting!]) {
      worker.ready();
      worker.beat({ started: 1 });
    }
    t.tick(10);
    const [replacement] = t.since(2);
    replacement!.ready();
    t.tick(10);
    expect([draining!.drained, waiting!.drained], 'one handed over, one still waiting for its replacement').to.deep.equal([true, false]);
    for (const worker of [draining!, waiting!]) worker.beat({ rss: 250 * MB });
    t.tick(10);
    expect([draining!.killed, waiting!.killed]).to.deep.equal([true, true]);
    expect(t.actions()).to.deep.equal(['recycle:max_jobs', 'recycle:max_jobs']);
    expect(t.lines('hard memory ceiling: killing a worker already being replaced')).to.have.length(2);
  });

  it('under host memory pressure, holds the lowest-priority queue and recycles the largest worker, one per cooldown', () => {
    const t = loop({ WORKER_QUEUES: 'ai,document,maintenance' }, { pressureCooldownMs: 5000 });
    t.tick();
    const [ai, document, maintenance] = t.started;
    for (const [worker, rss] of [[ai!, 300], [document!, 400], [maintenance!, 100]] as const) {
      worker.ready();
      worker.beat({ rss: rss * MB });
    }
    t.tick(10);
    expect([ai, document, maintenance].map((w) => w!.last('hold')?.held)).to.deep.equal([false, false, false]);

    t.supervisor.observeMemory({ totalBytes: 1000 * MB, availableBytes: 50 * MB });
    t.tick(10);
    expect([ai, document, maintenance].map((w) => w!.last('hold')?.held)).to.deep.equal([false, false, true]);
    expect(t.lines('worker recycle: pressure').map((l) => l.pid)).to.deep.equal([document!.pid]);
    const [replacement] = t.since(3);
    expect(replacement?.queue).to.equal('document');
    replacement!.ready();
    t.tick(10);
    expect(document!.drained).to.equal(true);
    document!.exit(0);
    t.tick(4000);
    expect(t.actions(), 'nothing more inside the cooldown').to.deep.equal(['recycle:pressure']);
    t.tick(1000);
    expect(t.lines('worker recycle: pressure').map((l) => l.pid), 'then the largest left').to.deep.equal([document!.pid, ai!.pid]);

    t.supervisor.observeMemory({ totalBytes: 1000 * MB, availableBytes: 500 * MB });
    t.tick(10);
    expect(maintenance!.last('hold')?.held, 'fetching again once memory recovers').to.equal(false);
  });
});
