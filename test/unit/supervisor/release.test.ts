import { expect } from 'chai';
import { loop, startReady } from './harness.js';

describe('supervisor loop: a dead worker\'s jobs and max-jobs', () => {
  it('gives a crashed worker\'s held jobs back at once, as its last heartbeat named them', async () => {
    const t = loop();
    const worker = startReady(t, { active: 2, held: [{ id: 'a', token: 't:1' }, { id: 'b', token: 't:2' }] });
    worker.exit(null, 'SIGKILL');
    t.tick(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.releasedJobs).to.deep.equal([{ queue: 'ai', ids: ['a', 'b'], why: 'died' }]);
  });

  it('gives back the jobs of a worker it killed (heartbeat), naming the reason', async () => {
    const t = loop({}, { heartbeatTimeoutMs: 1000 });
    const worker = startReady(t, { held: [{ id: 'x', token: 't:9' }] });
    t.tick(1001);
    expect(worker.killed).to.equal(true);
    worker.exit(null, 'SIGKILL');
    t.tick(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.releasedJobs).to.deep.equal([{ queue: 'ai', ids: ['x'], why: 'was killed (heartbeat)' }]);
  });

  it('releases nothing for a clean exit (a drained worker holds no job)', async () => {
    const t = loop({ QUEUE_AI_MAX_JOBS: '1' });
    const old = startReady(t, { started: 1, held: [{ id: 'done', token: 't:1' }] });
    t.tick(10);
    t.since(1)[0]!.ready();
    t.tick(10);
    expect(old.drained).to.equal(true);
    old.exit(0);
    t.tick(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.releasedJobs).to.deep.equal([]);
  });

  it('starts the replacement one round of concurrency before max-jobs, not at it', () => {
    const t = loop({ QUEUE_AI_MAX_JOBS: '5', QUEUE_AI_CONCURRENCY: '2' });
    const old = startReady(t, { started: 2 });
    t.tick(10);
    expect(t.started, 'two of five: no replacement yet').to.have.length(1);
    old.beat({ started: 3 });
    t.tick(10);
    expect(t.started, 'five minus concurrency two: the replacement starts').to.have.length(2);
    expect(old.drained, 'the old worker goes on to its fifth job').to.equal(false);
  });

  it('recycles at once a worker that says it stopped fetching', () => {
    const t = loop({ QUEUE_AI_MAX_JOBS: '5' });
    const old = startReady(t, { started: 0 });
    old.emit('message', { type: 'fetching-stopped', started: 5 });
    t.tick(10);
    expect(t.actions()).to.deep.equal(['recycle:max_jobs']);
  });
});
