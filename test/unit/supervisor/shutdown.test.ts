import { expect } from 'chai';
import { loop } from './harness.js';

describe('supervisor loop: shutdown', () => {
  it('drains every worker in parallel and kills what is left at SHUTDOWN_TIMEOUT_MS', () => {
    const t = loop({ QUEUE_AI_PROCESSES: '3', SHUTDOWN_TIMEOUT_MS: '30000' });
    t.tick();
    const [quick, slow, starting] = t.started;
    for (const worker of [quick!, slow!]) {
      worker.ready();
      worker.beat({ active: 2 });
    }
    t.tick(10);
    t.supervisor.requestStop();
    t.tick();
    expect([quick!.drained, slow!.drained]).to.deep.equal([true, true]);
    expect(starting!.signals, 'a worker not yet ready is told by SIGTERM').to.deep.equal(['SIGTERM']);
    quick!.exit(0);
    starting!.exit(0);
    t.tick(10);
    expect(t.supervisor.stopped).to.equal(false);

    t.tick(29_989);
    expect(slow!.killed, 'not before the deadline').to.equal(false);
    t.tick(1);
    expect(slow!.signals).to.deep.equal(['SIGKILL']);
    expect(t.lines('shutdown: killing worker; its active jobs will be recovered as stalled')[0]).to.include({ pid: slow!.pid, active: 2, forced: false });
    slow!.exit(null, 'SIGKILL');
    t.tick(10);
    expect(t.supervisor.stopped).to.equal(true);
    expect(t.started, 'nothing started during the shutdown').to.have.length(3);
    expect(t.actions(), 'exits during a shutdown are no crashes').to.deep.equal([]);
  });

  it('stops a recycle under way: the old worker and its replacement both drain', () => {
    const t = loop({ QUEUE_AI_MAX_JOBS: '5' });
    t.tick();
    const old = t.started[0]!;
    old.ready();
    old.beat({ started: 5 });
    t.tick(10);
    const replacement = t.started[1]!;
    t.supervisor.requestStop();
    t.tick(10);
    expect(old.drained).to.equal(true);
    expect(replacement.signals).to.deep.equal(['SIGTERM']);
    replacement.ready();
    old.exit(0);
    replacement.exit(0);
    t.tick(10);
    expect(t.supervisor.stopped).to.equal(true);
  });

  it('on a forced stop kills every worker at once', () => {
    const t = loop({ QUEUE_AI_PROCESSES: '2', SHUTDOWN_TIMEOUT_MS: '60000' });
    t.tick();
    for (const worker of t.started) worker.ready();
    t.tick(10);
    t.supervisor.requestStop();
    t.tick(10);
    expect(t.started.map((w) => w.killed)).to.deep.equal([false, false]);
    t.supervisor.requestStop(true);
    t.tick(10);
    expect(t.started.map((w) => w.signals)).to.deep.equal([['SIGKILL'], ['SIGKILL']]);
  });
});
