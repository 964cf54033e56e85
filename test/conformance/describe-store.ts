// The store contract (ARCHITECTURE.md, The store), as one suite that runs unchanged against
// every mode. Each mode's file calls describeStore with its own harness.
import { expect } from 'chai';
import { pino } from 'pino';
import { JobTimeoutError, NotFoundError, StateConflictError, UnrecoverableError } from '../../src/lib/errors.js';
import { newJobId, openStore, type JobView, type Store, type StoreConfig } from '../../src/lib/store/index.js';
import type { HandlerContext } from '../../src/queues/define.js';
import { startRuntime, type Runtime } from '../../src/workers/runtime.js';
import { exited, fixture, forkWorker } from '../helpers/fork.js';
import { uniqueName } from '../helpers/services.js';
import { loseWorkerUntilFailed } from '../helpers/lost-worker.js';
import { latch, waitFor } from '../helpers/wait.js';

export interface ModeHarness {
  /** Skips or fails the suite (per REQUIRE_SERVICES) when the backend is not there. */
  require(ctx: Mocha.Context): Promise<void>;
  config(jobs?: Partial<StoreConfig['jobs']>): StoreConfig;
  /** Environment that points a forked worker at the same store. */
  workerEnv(): NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

const silent = pino({ level: 'silent' });

export const TEST_JOBS: StoreConfig['jobs'] = {
  attempts: 3,
  backoffMs: 100,
  timeoutMs: 10_000,
  keepCompleted: { count: 1000, ageSeconds: 3600 },
  keepFailed: { count: 1000, ageSeconds: 3600 },
  lockMs: 2000,
  stalledIntervalMs: 500,
};

type Run = (data: any, ctx: HandlerContext) => Promise<unknown>;

/** A suite's store over its mode: opened before the suite (or skipped), closed and cleaned up after it. */
export function useModeStore(harness: ModeHarness, opened: (store: Store) => void, extra: Partial<StoreConfig> = {}): void {
  let store: Store | undefined;
  before(async function () {
    await harness.require(this);
    store = await openStore({ ...harness.config(TEST_JOBS), ...extra });
    opened(store);
  });
  after(async () => {
    await store?.close();
    await harness.cleanup();
  });
}

export function describeStore(mode: string, harness: ModeHarness): void {
  describe(`store conformance [${mode}]`, function () {
    this.timeout(60_000);
    let store: Store;
    let runtimes: Runtime[] = [];
    let queue: string;

    useModeStore(harness, (opened) => (store = opened));

    beforeEach(() => {
      queue = uniqueName('q');
    });

    afterEach(async () => {
      await Promise.all(runtimes.map((r) => r.close()));
      runtimes = [];
    });

    function work(run: Run, concurrency = 1, on: Store = store, q = queue): Runtime {
      const runtime = startRuntime({ store: on, queue: q, handler: { run }, concurrency, logger: silent, heartbeatMs: 200 });
      runtimes.push(runtime);
      return runtime;
    }

    async function settled(id: string, on: Store = store, q = queue): Promise<JobView> {
      return waitFor(async () => {
        const job = await on.get(q, id);
        return job && ['completed', 'failed', 'cancelled'].includes(job.state) ? job : undefined;
      }, { message: `job ${id} to finish` });
    }

    it('enqueues a job that reads back as waiting, with the defaults and a created entry', async () => {
      const { job, created } = await store.enqueue({ queue, name: 'probe', data: { a: 1 }, projectId: 'p1' });
      expect(created).to.equal(true);
      const read = await store.get(queue, job.id);
      expect(read).to.include({ id: job.id, queue, name: 'probe', state: 'waiting', priority: 5, attempts: 0, maxAttempts: 3, projectId: 'p1' });
      expect(read!.data).to.deep.equal({ a: 1 });
      expect(read!.timeline.map((e) => e.event)).to.deep.equal(['created']);
      expect(await store.get(queue, 'no-such-job')).to.equal(undefined);
    });

    it('enqueues a bulk across queues in input order, under the ids it is given or new ones, with id and state in each result', async () => {
      const other = `${queue}-other`;
      const given = newJobId();
      const results = await store.enqueueBulk([
        { queue, data: { n: 1 }, jobId: given },
        { queue: other, data: { n: 2 }, delayMs: 60_000 },
        { queue, data: { n: 3 }, priority: 2, dedupKey: `bulk-${queue}` },
        { queue, data: { n: 4 }, dedupKey: `bulk-${queue}` }, // the same dedup key: the job before it is returned
      ]);
      expect(results.map((r) => [r.created, r.state])).to.deep.equal([[true, 'waiting'], [true, 'delayed'], [true, 'waiting'], [false, 'waiting']]);
      expect(results[0]!.id).to.equal(given);
      expect(results[3]!.id).to.equal(results[2]!.id);
      for (const [i, result] of results.entries()) {
        expect(result.job.id).to.equal(result.id);
        const read = await store.get(i === 1 ? other : queue, result.id);
        expect(read?.data).to.deep.equal({ n: i === 3 ? 3 : i + 1 });
        expect(read?.state).to.equal(result.state);
      }
    });

    it('runs a job to completion and keeps its result, attempts and times', async () => {
      const { job } = await store.enqueue({ queue, data: { n: 21 } });
      work(async (data) => ({ doubled: data.n * 2 }));
      const done = await settled(job.id);
      expect(done).to.include({ state: 'completed', attempts: 1 });
      expect(done.result).to.deep.equal({ doubled: 42 });
      expect(Date.parse(done.finishedAt!)).to.be.at.least(Date.parse(done.startedAt!));
      expect(done.timeline.map((e) => e.event)).to.deep.equal(['created', 'active', 'completed']);
    });

    it('runs ready jobs by priority, first-in first-out within one priority', async () => {
      const order: string[] = [];
      const plan: [string, number][] = [['low-a', 9], ['mid-a', 5], ['high-a', 1], ['mid-b', 5], ['high-b', 1], ['low-b', 9]];
      const ids: string[] = [];
      for (const [tag, priority] of plan) ids.push((await store.enqueue({ queue, data: { tag }, priority })).job.id);
      work(async (data) => order.push(data.tag));
      await waitFor(() => order.length === plan.length, { message: 'all six jobs' });
      expect(order).to.deep.equal(['high-a', 'high-b', 'mid-a', 'mid-b', 'low-a', 'low-b']);
    });

    it('holds a delayed job until its delay, and a runAt job until its date', async () => {
      const started = new Map<string, number>();
      const t0 = Date.now();
      const delayed = (await store.enqueue({ queue, data: { tag: 'delay' }, delayMs: 600 })).job;
      const dated = (await store.enqueue({ queue, data: { tag: 'runAt' }, runAt: new Date(t0 + 900) })).job;
      expect(delayed.state).to.equal('delayed');
      expect((await store.get(queue, dated.id))!.state).to.equal('delayed');
      expect(Date.parse(dated.runAt) - t0).to.be.within(800, 1000);
      work(async (data) => started.set(data.tag, Date.now()));
      await settled(delayed.id);
      await settled(dated.id);
      expect(started.get('delay')! - t0).to.be.at.least(550);
      expect(started.get('runAt')! - t0).to.be.at.least(850);
      expect((await store.get(queue, delayed.id))!.timeline.map((e) => e.event)).to.include('delayed');
    });

    it('retries with exponential backoff, then fails the job', async () => {
      const starts: number[] = [];
      const { job } = await store.enqueue({ queue, data: {}, attempts: 3, backoff: { type: 'exponential', delayMs: 200 } });
      work(async () => {
        starts.push(Date.now());
        throw new Error(`boom ${starts.length}`);
      });
      const done = await settled(job.id);
      expect(done).to.include({ state: 'failed', attempts: 3 });
      expect(done.error!.message).to.equal('boom 3');
      expect(starts[1]! - starts[0]!).to.be.at.least(190);
      expect(starts[2]! - starts[1]!).to.be.at.least(390);
      const events = done.timeline.map((e) => e.event);
      expect(events).to.deep.equal(['created', 'active', 'retrying', 'active', 'retrying', 'active', 'failed']);
    });

    it('retries with a fixed backoff', async () => {
      const starts: number[] = [];
      const { job } = await store.enqueue({ queue, data: {}, attempts: 3, backoff: { type: 'fixed', delayMs: 250 } });
      work(async () => {
        starts.push(Date.now());
        throw new Error('again');
      });
      await settled(job.id);
      expect(starts).to.have.length(3);
      expect(starts[2]! - starts[1]!).to.be.within(240, 2000);
    });

    it('fails a job for good on an unrecoverable error, with no further attempt', async () => {
      let calls = 0;
      const { job } = await store.enqueue({ queue, data: {}, attempts: 5 });
      work(async () => {
        calls++;
        throw new UnrecoverableError('bad input');
      });
      const done = await settled(job.id);
      expect(done).to.include({ state: 'failed', attempts: 1 });
      expect(done.error!.message).to.equal('bad input');
      expect(calls).to.equal(1);
    });

    it('coerces a non-Error throw into a failed job, and the worker goes on', async () => {
      const first = (await store.enqueue({ queue, data: { bad: true }, attempts: 1 })).job;
      const second = (await store.enqueue({ queue, data: { bad: false } })).job;
      work(async (data) => {
        if (data.bad) throw { weird: 'object' }; // eslint-disable-line no-throw-literal
        return 'fine';
      });
      expect((await settled(first.id)).error!.message).to.contain('weird');
      expect((await settled(second.id)).state).to.equal('completed');
    });

    it('aborts the signal of a job past its timeout and fails it with a timeout error', async () => {
      let reason: unknown;
      const { job } = await store.enqueue({ queue, data: {}, attempts: 1, timeoutMs: 300 });
      work(async (_data, ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        reason = ctx.signal.reason;
      });
      const done = await settled(job.id);
      expect(done.state).to.equal('failed');
      expect(done.error!.message).to.match(/timed out after 300 ms/);
      expect(reason).to.be.instanceOf(JobTimeoutError);
    });

    it('returns the existing job for a dedupKey that is waiting, and a new one once it finished', async () => {
      const first = await store.enqueue({ queue, data: { v: 1 }, dedupKey: 'doc-42' });
      const second = await store.enqueue({ queue, data: { v: 2 }, dedupKey: 'doc-42' });
      expect(second.created).to.equal(false);
      expect(second.job.id).to.equal(first.job.id);
      expect(second.job.data).to.deep.equal({ v: 1 });
      expect((await store.counts(queue)).waiting).to.equal(1);
      work(async () => 'ok');
      await settled(first.job.id);
      const third = await store.enqueue({ queue, data: { v: 3 }, dedupKey: 'doc-42' });
      expect(third.created).to.equal(true);
      expect(third.job.id).to.not.equal(first.job.id);
    });

    it('cancels a waiting and a delayed job: both end cancelled and never run', async () => {
      const ran: string[] = [];
      const waiting = (await store.enqueue({ queue, data: { tag: 'waiting' } })).job;
      const delayed = (await store.enqueue({ queue, data: { tag: 'delayed' }, delayMs: 200 })).job;
      expect((await store.cancel(queue, waiting.id)).state).to.equal('cancelled');
      expect((await store.cancel(queue, delayed.id)).state).to.equal('cancelled');
      const after = (await store.enqueue({ queue, data: { tag: 'after' }, delayMs: 400 })).job;
      work(async (data) => ran.push(data.tag));
      await settled(after.id);
      expect(ran).to.deep.equal(['after']);
      const view = await store.get(queue, waiting.id);
      expect(view!.state).to.equal('cancelled');
      expect(view!.timeline.map((e) => e.event)).to.deep.equal(['created', 'cancelled']);
      expect(await store.counts(queue)).to.include({ cancelled: 2, waiting: 0, delayed: 0, completed: 1 });
    });

    it('cancels an active job: its signal fires, it ends cancelled and is not retried', async () => {
      const started = latch();
      let attempts = 0;
      let sawAbort = false;
      const { job } = await store.enqueue({ queue, data: {}, attempts: 3 });
      work(async (_data, ctx) => {
        attempts++;
        started.resolve();
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        sawAbort = true;
      });
      await started.promise;
      const cancelling = store.cancel(queue, job.id);
      // Clients reading all along: from its first read as cancelled, the job is never counted or listed as failed.
      const reads = await Promise.all([1, 2, 3, 4].map(() => waitFor(async () => {
        const view = await store.get(queue, job.id);
        if (view?.state !== 'cancelled') return undefined;
        const [counts, failed] = await Promise.all([store.counts(queue), store.list({ queue, state: 'failed', limit: 10, offset: 0 })]);
        return { view, counts, failed };
      }, { intervalMs: 1, message: 'the job to read as cancelled' })));
      for (const { counts, failed } of reads) {
        expect(counts).to.include({ failed: 0, cancelled: 1 });
        expect(failed).to.deep.equal([]);
      }
      const done = reads[0]!.view;
      expect((await cancelling).state).to.equal('cancelled');
      expect(sawAbort).to.equal(true);
      expect(attempts).to.equal(1);
      expect(done.timeline.at(-1)!.event).to.equal('cancelled');
    });

    it('refuses to cancel a finished job (conflict) or an unknown one (not found)', async () => {
      const { job } = await store.enqueue({ queue, data: {} });
      work(async () => 'ok');
      await settled(job.id);
      const conflict = await store.cancel(queue, job.id).catch((e: unknown) => e);
      expect(conflict).to.be.instanceOf(StateConflictError);
      const missing = await store.cancel(queue, 'nope').catch((e: unknown) => e);
      expect(missing).to.be.instanceOf(NotFoundError);
    });

    it('retries a failed job and a cancelled job by hand', async () => {
      let failNext = true;
      const failing = (await store.enqueue({ queue, data: { tag: 'failing' }, attempts: 1 })).job;
      const cancelled = (await store.enqueue({ queue, data: { tag: 'cancelled' }, delayMs: 60_000 })).job;
      await store.cancel(queue, cancelled.id);
      work(async (data) => {
        if (data.tag === 'failing' && failNext) {
          failNext = false;
          throw new Error('first time');
        }
        return data.tag;
      });
      expect((await settled(failing.id)).state).to.equal('failed');
      const retried = await store.retry(queue, failing.id);
      expect(['waiting', 'active', 'completed']).to.include(retried.state);
      expect((await waitFor(async () => (await store.get(queue, failing.id))?.state === 'completed' && store.get(queue, failing.id)))!.result).to.equal('failing');
      const back = await store.retry(queue, cancelled.id);
      expect(back.id).to.equal(cancelled.id);
      const done = await waitFor(async () => { const v = await store.get(queue, cancelled.id); return v?.state === 'completed' && v; });
      expect(done.result).to.equal('cancelled');
      const wrong = await store.retry(queue, failing.id).catch((e: unknown) => e);
      expect(wrong).to.be.instanceOf(StateConflictError);
    });

    it('makes progress readable while the job runs', async () => {
      const release = latch();
      const reported = latch();
      const { job } = await store.enqueue({ queue, data: {} });
      work(async (_data, ctx) => {
        await ctx.progress({ current: 1, total: 2, message: 'half' });
        reported.resolve();
        await release.promise;
        return 'done';
      });
      await reported.promise;
      const running = await store.get(queue, job.id);
      expect(running!.state).to.equal('active');
      expect(running!.progress).to.deep.equal({ current: 1, total: 2, message: 'half' });
      expect(running!.timeline.map((e) => e.event)).to.include('progress');
      release.resolve();
      await settled(job.id);
    });

    it('keeps completed jobs by count (retention)', async () => {
      const small = await openStore(harness.config({ ...TEST_JOBS, keepCompleted: { count: 2, ageSeconds: 3600 } }));
      try {
        const ids = [];
        for (let i = 0; i < 5; i++) ids.push((await small.enqueue({ queue, data: { i } })).job.id);
        work(async () => 'ok', 1, small);
        await waitFor(async () => (await small.lastMinute(queue)).completed === 5, { message: 'five completions counted' });
        expect((await small.counts(queue)).completed).to.equal(2);
        expect(await small.get(queue, ids[0]!)).to.equal(undefined);
        expect((await small.get(queue, ids[4]!))!.state).to.equal('completed');
      } finally {
        await Promise.all(runtimes.map((r) => r.close()));
        runtimes = [];
        await small.close();
      }
    });

    it('keeps failed jobs by count, whether a worker failed them or the supervisor failed one that lost its worker too often', async () => {
      const small = await openStore(harness.config({ ...TEST_JOBS, keepFailed: { count: 1, ageSeconds: 3600 } }));
      try {
        const thrown = await small.enqueue({ queue, data: { fails: 1 }, attempts: 1 });
        work(async () => { throw new UnrecoverableError('no'); }, 1, small);
        await waitFor(async () => (await small.get(queue, thrown.job.id))?.state === 'failed', { message: 'the first job failed by its worker' });
        await Promise.all(runtimes.splice(0).map((r) => r.close()));
        const lost = await small.enqueue({ queue, data: { fails: 2 }, attempts: 1 });
        await loseWorkerUntilFailed(small, queue, lost.job.id);
        expect((await small.counts(queue)).failed, 'one failed job kept').to.equal(1);
        expect(await small.get(queue, thrown.job.id), 'the older failure trimmed').to.equal(undefined);
      } finally {
        await small.close();
      }
    });

    it('counts ready jobs by priority, keeps a mean attempt duration, and registers a worker with its concurrency', async () => {
      for (const priority of [1, 1, 5, 5, 5]) await store.enqueue({ queue, data: {}, priority });
      await store.enqueue({ queue, data: {}, priority: 5, delayMs: 60_000 });
      expect(await store.waitingByPriority(queue)).to.deep.equal([0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0]);
      expect(await store.meanDuration(queue)).to.equal(null);
      work(async () => new Promise((resolve) => setTimeout(() => resolve('ok'), 30)), 2);
      const mean = await waitFor(() => store.meanDuration(queue), { message: 'a mean duration' });
      expect(mean).to.be.within(25, 5000);
      const record = await waitFor(async () => (await store.listProcesses()).find((r) => r.queue === queue), { message: 'the worker registered' });
      expect(record.concurrency).to.equal(2);
    });

    it('counts jobs per state and lists them newest first, by state and by project', async () => {
      const a = (await store.enqueue({ queue, data: { i: 1 }, projectId: 'alpha' })).job;
      const b = (await store.enqueue({ queue, data: { i: 2 }, projectId: 'beta' })).job;
      const c = (await store.enqueue({ queue, data: { i: 3 }, projectId: 'alpha', delayMs: 60_000 })).job;
      expect(await store.counts(queue)).to.deep.equal({ waiting: 2, delayed: 1, active: 0, completed: 0, failed: 0, cancelled: 0 });
      const all = await store.list({ queue, limit: 10, offset: 0 });
      expect(all.map((j) => j.id)).to.deep.equal([c.id, b.id, a.id]);
      expect((await store.list({ queue, state: 'waiting', limit: 10, offset: 0 })).map((j) => j.id)).to.deep.equal([b.id, a.id]);
      expect((await store.list({ queue, projectId: 'alpha', limit: 10, offset: 0 })).map((j) => j.id)).to.deep.equal([c.id, a.id]);
      expect((await store.list({ queue, projectId: 'alpha', state: 'delayed', limit: 10, offset: 0 })).map((j) => j.id)).to.deep.equal([c.id]);
      expect((await store.list({ queue, limit: 1, offset: 1 })).map((j) => j.id)).to.deep.equal([b.id]);
    });

    it('lists newest first whatever the priorities and delays, and finished jobs by when they finished', async () => {
      const low = (await store.enqueue({ queue, data: { i: 1 }, priority: 10 })).job;
      const delayed = (await store.enqueue({ queue, data: { i: 2 }, delayMs: 60_000, priority: 1 })).job;
      const high = (await store.enqueue({ queue, data: { i: 3 }, priority: 1 })).job;
      const mid = (await store.enqueue({ queue, data: { i: 4 }, priority: 5 })).job;
      expect((await store.list({ queue, limit: 10, offset: 0 })).map((j) => j.id)).to.deep.equal([mid.id, high.id, delayed.id, low.id]);
      expect((await store.list({ queue, state: 'waiting', limit: 2, offset: 0 })).map((j) => j.id)).to.deep.equal([mid.id, high.id]);
      expect((await store.list({ queue, state: 'waiting', limit: 2, offset: 2 })).map((j) => j.id)).to.deep.equal([low.id]);
      work(async () => 'ok');
      await waitFor(async () => (await store.counts(queue)).completed === 3, { message: 'three completions' });
      const finished = await store.list({ queue, state: 'completed', limit: 10, offset: 0 });
      expect(finished.map((j) => j.id)).to.have.members([high.id, mid.id, low.id]);
      const finishTimes = finished.map((j) => Date.parse(j.finishedAt!));
      expect(finishTimes).to.deep.equal([...finishTimes].sort((a, b) => b - a));
    });

    it('pauses a queue so nothing new starts, and resumes it', async () => {
      await store.pause(queue);
      expect(await store.isPaused(queue)).to.equal(true);
      const { job } = await store.enqueue({ queue, data: {} });
      const runtime = work(async () => 'ok');
      await waitFor(() => runtime.stats.active === 0, { message: 'the worker to be idle' });
      const observedUntil = Date.now() + 700; // a bounded window in which nothing may start
      await waitFor(() => Date.now() > observedUntil, { intervalMs: 50 });
      expect((await store.get(queue, job.id))!.state).to.equal('waiting');
      expect((await store.counts(queue)).waiting).to.equal(1);
      await store.resume(queue);
      expect(await store.isPaused(queue)).to.equal(false);
      expect((await settled(job.id)).state).to.equal('completed');
    });

    it('lists the live processes of the registry and drops them once their heartbeat expires', async () => {
      const record = { id: uniqueName('proc'), host: 'h1', pid: 4242, queue, state: 'running' as const, rss: 1, heapUsed: 1, active: 0, processed: 0, failed: 0, startedAt: Date.now() };
      await store.heartbeat(record, 400);
      expect((await store.listProcesses()).map((p) => p.id)).to.include(record.id);
      await waitFor(async () => !(await store.listProcesses()).some((p) => p.id === record.id), { timeoutMs: 5000, message: 'the record to expire' });
    });

    it('recovers a job whose worker process was SIGKILLed mid-job; it completes on another worker', async () => {
      const { job } = await store.enqueue({ queue, data: {}, attempts: 3 });
      const child = forkWorker(queue, { ...harness.workerEnv(), JOB_LOCK_MS: '1500', JOB_STALLED_INTERVAL_MS: '500' }, fixture('block-until-aborted'));
      try {
        await waitFor(async () => (await store.get(queue, job.id))?.state === 'active', { timeoutMs: 20_000, message: 'the forked worker to take the job' });
        child.kill('SIGKILL');
        await exited(child);
      } finally {
        child.kill('SIGKILL');
      }
      work(async () => 'rescued');
      const done = await waitFor(async () => { const v = await store.get(queue, job.id); return v?.state === 'completed' && v; }, { timeoutMs: 20_000, message: 'the stalled job to complete' });
      expect(done.result).to.equal('rescued');
      expect(done.attempts).to.equal(2);
      // The worker that found the stall writes its entry on its own time: it may land just after completion.
      await waitFor(async () => (await store.get(queue, job.id))!.timeline.some((e) => e.event === 'stalled'), { timeoutMs: 5000, message: 'the stalled entry' });
    });

    it('keeps jobs across a restart of the store (and of the embedded server)', async () => {
      const waiting = (await store.enqueue({ queue, data: { keep: 'waiting' }, delayMs: 60_000 })).job;
      const finished = (await store.enqueue({ queue, data: { keep: 'finished' } })).job;
      work(async (data, ctx) => {
        if (data.keep === 'finished') return 'kept';
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        throw new Error('stopped');
      }, 2);
      await settled(finished.id);
      await Promise.all(runtimes.map((r) => r.close()));
      runtimes = [];
      await store.close();
      store = await openStore(harness.config(TEST_JOBS));
      expect((await store.get(queue, finished.id))!.result).to.equal('kept');
      expect((await store.get(queue, waiting.id))!.state).to.equal('delayed');
    });
  });
}
