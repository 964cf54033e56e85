// The job pipeline without a store: what each way an attempt can end maps to,
// and the counts and metrics emitted for it. The conformance suite runs the same
// pipeline against every backend.
import { expect } from 'chai';
import fc from 'fast-check';
import { pino } from 'pino';
import { z } from 'zod';
import { JobCancelledError, JobTimeoutError, UnrecoverableError } from '../../src/lib/errors.js';
import { JobController, type ActiveJob, type JobOutcome } from '../../src/lib/store/index.js';
import type { HandlerContext, RunnableHandler } from '../../src/queues/define.js';
import { workerMetrics, type WorkerMetrics } from '../../src/workers/metrics.js';
import { JobPipeline, outcomeOf } from '../../src/workers/pipeline.js';
import { latch, waitFor } from '../helpers/wait.js';

const running = new JobController().signal;
const abortedWith = (reason: unknown) => AbortSignal.abort(reason);

function activeJob(overrides: Partial<ActiveJob> = {}): ActiveJob {
  const unused = () => Promise.reject(new Error('not used by this test'));
  return {
    id: 'j1', queue: 'q', name: 'default', tenant: 'default', data: {}, attempt: 1, maxAttempts: 3, finalAttempt: false,
    timeoutMs: 10_000, enqueuedAt: Date.now(), progress: unused, log: unused, children: unused, ...overrides,
  };
}

function pipeline(run: RunnableHandler['run'], extra: Partial<RunnableHandler> = {}, { zombieGraceMs = 5000, metrics = workerMetrics() } = {}) {
  const unused = () => Promise.reject(new Error('not used by this test'));
  const store = { enqueueFlow: unused, getValue: unused, setValue: unused, addTimelineEntry: unused, get: unused };
  return new JobPipeline({ store, queue: 'q', handler: { run, ...extra }, logger: pino({ level: 'silent' }), metrics, zombieGraceMs });
}

async function metricValue(metrics: WorkerMetrics, name: 'completed' | 'failed', labels: Record<string, string>): Promise<number> {
  const { values } = await metrics[name].get();
  return values.find((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))?.value ?? 0;
}

describe('job pipeline: outcome of a thrown thing', () => {
  it('retries an error while attempts remain, and fails it for good on the last attempt', () => {
    const error = new Error('boom');
    expect(outcomeOf(error, running, false)).to.deep.equal({ kind: 'retry', error });
    expect(outcomeOf(error, running, true)).to.deep.equal({ kind: 'failed', error });
  });

  it('fails an unrecoverable error for good on any attempt, by type or by name', () => {
    expect(outcomeOf(new UnrecoverableError('bad input'), running, false).kind).to.equal('failed');
    const foreign = Object.assign(new Error('from another copy of the library'), { name: 'UnrecoverableError' });
    expect(outcomeOf(foreign, running, false).kind).to.equal('failed');
  });

  it('coerces a non-Error throw into an error with its message', () => {
    expect(outcomeOf('plain', running, false)).to.deep.include({ kind: 'retry' });
    expect((outcomeOf('plain', running, false) as { error: Error }).error.message).to.equal('plain');
    expect((outcomeOf({ weird: 1 }, running, true) as { error: Error }).error.message).to.contain('weird');
    expect((outcomeOf(undefined, running, false) as { error: Error }).error).to.be.instanceOf(Error);
  });

  it('ends timed out when the signal fired for the timeout, retried only while attempts remain', () => {
    const timeout = new JobTimeoutError(300);
    expect(outcomeOf(timeout, abortedWith(timeout), false)).to.deep.equal({ kind: 'timed-out', error: timeout, retry: true });
    expect(outcomeOf(new Error('cleanup failed'), abortedWith(timeout), true)).to.deep.equal({ kind: 'timed-out', error: timeout, retry: false });
  });

  it('ends cancelled when the signal fired for a cancel, whatever the handler threw, even unrecoverable', () => {
    const cancel = abortedWith(new JobCancelledError());
    for (const thrown of [new Error('x'), new UnrecoverableError('y'), 'z', undefined]) {
      expect(outcomeOf(thrown, cancel, false)).to.deep.equal({ kind: 'cancelled' });
      expect(outcomeOf(thrown, cancel, true)).to.deep.equal({ kind: 'cancelled' });
    }
  });

  it('takes a timeout or cancel error thrown without the signal firing for an ordinary failure', () => {
    expect(outcomeOf(new JobTimeoutError(5), running, false).kind).to.equal('retry');
    expect(outcomeOf(new JobCancelledError(), running, false).kind).to.equal('retry');
  });

  it('maps anything thrown, on any attempt, under any signal, to exactly one outcome carrying an Error', () => {
    const signals = fc.constantFrom(running, abortedWith(new JobTimeoutError(1)), abortedWith(new JobCancelledError()), abortedWith('other'));
    fc.assert(fc.property(fc.anything(), signals, fc.boolean(), (thrown, signal, finalAttempt) => {
      const outcome = outcomeOf(thrown, signal, finalAttempt);
      expect(['retry', 'failed', 'timed-out', 'cancelled']).to.include(outcome.kind);
      if ('error' in outcome) expect(outcome.error).to.be.instanceOf(Error);
      if (finalAttempt) expect(outcome.kind === 'retry' || (outcome.kind === 'timed-out' && outcome.retry)).to.equal(false);
    }));
  });
});

describe('job pipeline: one attempt', () => {
  it('completes with the handler result, the data parsed by the schema, and nothing left active', async () => {
    const p = pipeline(async (data: { n: number }) => data.n * 2, { schema: z.object({ n: z.coerce.number() }) });
    const outcome = await p.run(activeJob({ data: { n: '21' } }), new JobController());
    expect(outcome).to.deep.equal({ kind: 'completed', result: 42 });
    expect(p.counters.active).to.equal(0);
  });

  it('fails invalid data for good, naming the field, without running the handler', async () => {
    let ran = false;
    const p = pipeline(async () => (ran = true), { schema: z.object({ n: z.number() }) });
    const outcome = await p.run(activeJob({ data: { n: 'x' } }), new JobController());
    expect(outcome.kind).to.equal('failed');
    expect((outcome as { error: Error }).error.message).to.match(/^invalid job data: data\.n: /);
    expect(ran).to.equal(false);
  });

  it('fails a handler that throws before its first await like any other', async () => {
    const p = pipeline((() => { throw new Error('sync'); }) as RunnableHandler['run']);
    expect(await p.run(activeJob(), new JobController())).to.deep.include({ kind: 'retry' });
  });

  it('aborts the controller it was given at the timeout: the handler sees a JobTimeoutError on that signal', async () => {
    let seen: AbortSignal | undefined;
    const p = pipeline((_data, ctx: HandlerContext) => new Promise((_, reject) => {
      seen = ctx.signal;
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
    }));
    const controller = new JobController();
    const outcome = await p.run(activeJob({ timeoutMs: 50, finalAttempt: true }), controller);
    expect(seen).to.equal(controller.signal);
    expect(controller.signal.reason).to.be.instanceOf(JobTimeoutError);
    expect(outcome).to.deep.include({ kind: 'timed-out', retry: false });
  });

  it('ends a cancelled attempt at once, and counts a handler that ignores its signal as a zombie until it ends', async () => {
    const release = latch();
    const started = latch();
    const p = pipeline(async () => {
      started.resolve();
      await release.promise; // ignores its signal
    }, {}, { zombieGraceMs: 50 });
    const controller = new JobController();
    const run = p.run(activeJob(), controller);
    await started.promise;
    controller.abort(new JobCancelledError());
    expect(await run).to.deep.equal({ kind: 'cancelled' });
    expect(p.counters.active).to.equal(0);
    await waitFor(() => p.counters.zombies === 1, { timeoutMs: 2000, message: 'the zombie to be counted' });
    release.resolve();
    await waitFor(() => p.counters.zombies === 0, { timeoutMs: 2000, message: 'the zombie to end' });
  });

  it('ends an attempt whose handler never read its signal as soon as its controller is aborted', async () => {
    const p = pipeline(() => new Promise(() => {}), {}, { zombieGraceMs: 60_000 }); // never settles, never reads ctx.signal
    const controller = new JobController();
    const run = p.run(activeJob(), controller);
    setTimeout(() => controller.abort(new JobCancelledError()), 10);
    expect(await run).to.deep.equal({ kind: 'cancelled' });
    expect(controller.signal.reason).to.be.instanceOf(JobCancelledError);
  });

  it('counts each recorded outcome once: processed, failed, and the metric of its kind', async () => {
    const metrics = workerMetrics();
    const p = pipeline(async () => null, {}, { metrics });
    const job = activeJob();
    const error = new Error('e');
    const outcomes: JobOutcome[] = [
      { kind: 'completed', result: 1 },
      { kind: 'retry', error },
      { kind: 'failed', error },
      { kind: 'timed-out', error: new JobTimeoutError(1), retry: true },
      { kind: 'timed-out', error: new JobTimeoutError(1), retry: false },
      { kind: 'cancelled' },
    ];
    for (const outcome of outcomes) p.recorded(job, outcome);
    expect(p.counters).to.include({ processed: 6, failed: 4, active: 0 });
    expect(await metricValue(metrics, 'completed', { queue: 'q' })).to.equal(1);
    expect(await metricValue(metrics, 'failed', { queue: 'q', final: 'false' })).to.equal(2);
    expect(await metricValue(metrics, 'failed', { queue: 'q', final: 'true' })).to.equal(2);
  });
});
