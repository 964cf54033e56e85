// The lock watch on real timers, with BullMQ's Worker stood in for by an event
// emitter of its renewal events and the store's ping by a promise the test
// settles: a job nobody renews is aborted after half the lock time, renewals
// keep it, a refused renewal aborts at once, a blocked event loop gets a round
// to renew before anything is aborted, and a silent store is reported once,
// then its answer once.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { Worker } from 'bullmq';
import { JobLockLostError } from '../../src/lib/errors.js';
import type { CutOffChange } from '../../src/lib/store/fence.js';
import { JobController } from '../../src/lib/store/job-controller.js';
import { LockWatch } from '../../src/lib/store/lock-watch.js';
import { latch, waitFor } from '../helpers/wait.js';

const LOCK_MS = 400; // the fence gives a job up after 200 ms unrenewed

describe('LockWatch', () => {
  const watches: LockWatch[] = [];
  afterEach(() => watches.splice(0).forEach((w) => w.stop()));

  function setUp(ping: () => Promise<void> = async () => {}, storeCutOffMs = 10_000, lockMs = LOCK_MS) {
    const worker = new EventEmitter();
    const running = new Map<string, JobController>();
    const changes: CutOffChange[] = [];
    const watch = new LockWatch(worker as unknown as Worker, { lockMs, storeCutOffMs, running, ping, cutOffChanged: (c) => changes.push(c) });
    watches.push(watch);
    const start = (id: string) => {
      const controller = new JobController();
      running.set(id, controller);
      watch.started(id);
      return controller;
    };
    return { worker, watch, start, changes };
  }

  /** BullMQ's renewals of job `id`, one every `everyMs`, until there have been `rounds`. */
  async function renew(worker: EventEmitter, id: string, everyMs: number, rounds: number): Promise<void> {
    let renewals = 0;
    const timer = setInterval(() => { renewals++; worker.emit('locksRenewed', { count: 1, jobIds: [id] }); }, everyMs);
    try {
      await waitFor(() => renewals >= rounds, { timeoutMs: 5000, message: `${rounds} renewals` });
    } finally {
      clearInterval(timer);
    }
  }

  it('aborts a job whose lock nobody renews after half the lock time, with JobLockLostError', async () => {
    const { start } = setUp(undefined, 1000);
    const startedAt = Date.now();
    const job = start('a');
    await waitFor(() => job.aborted, { timeoutMs: 2000, intervalMs: 5, message: 'the abort' });
    expect(Date.now() - startedAt).to.be.within(LOCK_MS / 2, LOCK_MS);
    expect(job.signal.reason).to.be.instanceOf(JobLockLostError);
  });

  it('keeps a job whose lock BullMQ renews', async () => {
    const { worker, start } = setUp(undefined, 1000);
    const job = start('a');
    await renew(worker, 'a', LOCK_MS / 8, 24); // three lock times
    expect(job.aborted).to.equal(false);
  });

  it('aborts at once a job whose renewal was refused', async () => {
    const { worker, start } = setUp();
    const job = start('a');
    worker.emit('lockRenewalFailed', ['a']);
    expect(job.aborted).to.equal(true);
    expect(job.signal.reason).to.be.instanceOf(JobLockLostError);
  });

  it('gives renewals a round after its event loop was blocked past the limit, instead of aborting', async () => {
    const lockMs = 1200; // given up after 600 ms unrenewed; checked every 100 ms (a quarter of the cut-off time)
    const { worker, start } = setUp(undefined, 400, lockMs);
    const job = start('a');
    const until = Date.now() + 800;
    while (Date.now() < until) { /* a handler holding the event loop past the limit, not past the lock */ }
    // BullMQ's renewal, due too, answers a round trip later: after the overdue check has run.
    setTimeout(() => worker.emit('locksRenewed', { count: 1, jobIds: ['a'] }), 1);
    await renew(worker, 'a', lockMs / 8, 8); // a lock time
    expect(job.aborted).to.equal(false);
  });

  it('reports the store silent once, and its answer once, probing it meanwhile', async () => {
    const answer = latch();
    let probes = 0;
    const { watch, changes } = setUp(() => { probes++; return answer.promise; }, 200);
    await waitFor(() => changes.length === 1, { timeoutMs: 3000, intervalMs: 5, message: 'the cut-off' });
    expect(changes[0]).to.include({ cutOff: true });
    expect(watch.cutOff).to.equal(true);
    expect(probes, 'one probe at a time, however long the silence').to.equal(1);
    answer.resolve();
    await waitFor(() => changes.length === 2, { timeoutMs: 3000, intervalMs: 5, message: 'the recovery' });
    expect(changes[1]).to.include({ cutOff: false });
    expect(watch.cutOff).to.equal(false);
  });
});
