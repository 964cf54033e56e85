// One attempt of a job, start to end, as a straight pipeline in the manner of
// Oban's executor: validate → start timeout → perform → normalise the outcome →
// (the consumer records it in BullMQ) → count. Every attempt ends in exactly one
// JobOutcome, and the worker's counters and metrics are emitted from these
// steps, once each.
import { MAX_TIMER_MS } from '../lib/config.js';
import { coerceError, isUnrecoverable, JobCancelledError, JobTimeoutError, UnrecoverableError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { DEFAULT_TENANT } from '../lib/tenants.js';
import { endProcessSpan, startProcessSpan } from '../lib/tracing.js';
import { retries, type ActiveJob, type JobController, type JobOutcome, type Store } from '../lib/store/index.js';
import type { HandlerContext, RunnableHandler } from '../queues/define.js';
import { validateWith } from '../queues/validate.js';
import type { WorkerStats } from '../supervisor/messages.js';
import type { WorkerMetrics } from './metrics.js';

/** The worker's own counts of its jobs; the heartbeat reports them with its memory. */
export type JobCounters = Pick<WorkerStats, 'active' | 'processed' | 'failed' | 'zombies'>;

export interface PipelineOptions {
  store: Pick<Store, 'enqueueFlow' | 'getValue' | 'setValue' | 'addTimelineEntry' | 'get'>;
  queue: string;
  handler: RunnableHandler;
  logger: Logger;
  metrics: WorkerMetrics;
  /** How long after its signal fired a handler may run on before it counts as a zombie. */
  zombieGraceMs: number;
}

/**
 * How an attempt that did not return ended: the signal's reason first (a
 * cancel, a timeout), else what was thrown. Anything thrown maps to exactly one
 * outcome, and a non-Error throw is coerced rather than crashing the worker.
 */
export function outcomeOf(thrown: unknown, signal: AbortSignal, finalAttempt: boolean): JobOutcome {
  const reason: unknown = signal.aborted ? signal.reason : undefined;
  if (reason instanceof JobCancelledError) return { kind: 'cancelled' };
  if (reason instanceof JobTimeoutError) return { kind: 'timed-out', error: reason, retry: !finalAttempt };
  const error = coerceError(thrown);
  if (finalAttempt || isUnrecoverable(error)) return { kind: 'failed', error };
  return { kind: 'retry', error };
}

/** The data as the queue's schema parses it; invalid data fails the job for good, saying which field. */
function validate(handler: RunnableHandler, data: unknown): unknown {
  if (!handler.schema) return data; // a handler written in plain JavaScript may still leave it out
  const checked = validateWith(handler.schema, data); // the api's own check, so both name a field alike
  if (checked.ok) return checked.data;
  throw new UnrecoverableError(`invalid job data: ${checked.field}: ${checked.message}`);
}

/** The timeout's timer callback: it aborts the same switch a cancel request does. */
function expire(controller: JobController, timeoutMs: number): void {
  controller.abort(new JobTimeoutError(timeoutMs));
}

/**
 * Settles with the work, or rejects with the abort's reason as soon as it
 * fires: the attempt never waits on a handler that ignores it. Through the
 * controller's hook, not its signal, so that the signal is made only for a
 * handler that reads it (JobController).
 */
function untilAborted(work: Promise<unknown>, controller: JobController): Promise<unknown> {
  if (controller.aborted) return Promise.reject(controller.signal.reason);
  return new Promise((resolve, reject) => {
    controller.onAbort = reject; // a reject after the work settled is a no-op
    work.then(resolve, reject);
  });
}

type Store_ = PipelineOptions['store'];
/** What a handler reaches of the store, the same for every job of one tenant: made once per tenant. */
type TenantScoped = Pick<HandlerContext, 'enqueueFlow' | 'state' | 'timeline' | 'jobs'>;

/**
 * A job's handler acts as its tenant: the flows it enqueues are that tenant's,
 * and its durable state is kept apart from other tenants' (the default
 * tenant's keys are unprefixed, as they were before tenants).
 */
function tenantScoped(store: Store_, tenant: string): TenantScoped {
  const key = (name: string) => (tenant === DEFAULT_TENANT ? name : `tenant/${tenant}/${name}`);
  return {
    enqueueFlow: (flow) => store.enqueueFlow({ ...flow, tenant }),
    state: { get: (name) => store.getValue(key(name)), set: (name, value) => store.setValue(key(name), value) },
    timeline: { add: (queue, jobId, event, detail) => store.addTimelineEntry(queue, jobId, event, detail) },
    jobs: { get: (queue, jobId) => store.get(queue, jobId) },
  };
}

/** What a handler gets beside its data; what every job shares is made once per worker, its logger on first use. */
class JobContext implements HandlerContext {
  readonly jobId: string;
  readonly name: string;
  readonly attempt: number;
  readonly progress: HandlerContext['progress'];
  readonly log: HandlerContext['log'];
  readonly childrenResults: HandlerContext['childrenResults'];
  readonly enqueueFlow: HandlerContext['enqueueFlow'];
  readonly state: HandlerContext['state'];
  readonly timeline: HandlerContext['timeline'];
  readonly jobs: HandlerContext['jobs'];

  constructor(job: ActiveJob, private readonly controller: JobController, scoped: TenantScoped, private readonly workerLogger: Logger) {
    this.jobId = job.id;
    this.name = job.name;
    this.attempt = job.attempt;
    this.progress = job.progress;
    this.log = job.log;
    this.childrenResults = job.children;
    ({ enqueueFlow: this.enqueueFlow, state: this.state, timeline: this.timeline, jobs: this.jobs } = scoped);
  }

  get signal(): AbortSignal {
    return this.controller.signal; // made on first read: most no-op and quick handlers never read it
  }

  get logger(): Logger {
    return this.workerLogger.child({ jobId: this.jobId }); // most handlers never log
  }
}

export class JobPipeline {
  readonly counters: JobCounters = { active: 0, processed: 0, failed: 0, zombies: 0 };
  private readonly observe;
  /** Tenants come from the api's configured keys, so few; the cap only bounds a surprise. */
  private readonly scoped = new Map<string, TenantScoped>();

  constructor(private readonly options: PipelineOptions) {
    const { queue, metrics } = options;
    this.observe = {
      wait: metrics.wait.labels({ queue }),
      duration: metrics.duration.labels({ queue }),
      completed: metrics.completed.labels({ queue }),
      retried: metrics.failed.labels({ queue, final: 'false' }),
      failed: metrics.failed.labels({ queue, final: 'true' }),
    };
  }

  /** The consumer's processor: one attempt, from its start to its outcome; never rejects. */
  readonly run = async (job: ActiveJob, controller: JobController): Promise<JobOutcome> => {
    const started = Date.now();
    this.counters.active++;
    this.observe.wait.observe(Math.max(0, started - job.enqueuedAt) / 1000);
    const span = startProcessSpan(job.queue, job.id, job.traceContext, { 'jobvisor.attempt': job.attempt });
    let outcome: JobOutcome | undefined;
    try {
      return (outcome = await this.attempt(job, controller));
    } finally {
      this.counters.active--;
      this.observe.duration.observe((Date.now() - started) / 1000);
      endProcessSpan(span, outcome?.kind ?? 'failed', outcome && 'error' in outcome ? outcome.error : undefined);
    }
  };

  private async attempt(job: ActiveJob, controller: JobController): Promise<JobOutcome> {
    let timer: NodeJS.Timeout | undefined;
    let work: Promise<unknown> | undefined;
    try {
      const data = validate(this.options.handler, job.data);
      timer = setTimeout(expire, Math.min(job.timeoutMs, MAX_TIMER_MS), controller, job.timeoutMs);
      work = this.perform(data, job, controller);
      return { kind: 'completed', result: await untilAborted(work, controller) };
    } catch (thrown) {
      return outcomeOf(thrown, controller.signal, job.finalAttempt);
    } finally {
      clearTimeout(timer);
      if (work && controller.aborted) this.watchForZombie(work);
    }
  }

  private perform(data: unknown, job: ActiveJob, controller: JobController): Promise<unknown> {
    try {
      return Promise.resolve(this.options.handler.run(data, new JobContext(job, controller, this.scopedFor(job.tenant), this.options.logger)));
    } catch (thrown) {
      return Promise.reject(thrown); // a handler that throws before its first await fails like any other
    }
  }

  /** A tenant's flow and state helpers, made once per tenant rather than per job. */
  private scopedFor(tenant: string): TenantScoped {
    let scoped = this.scoped.get(tenant);
    if (!scoped) {
      if (this.scoped.size >= 1000) this.scoped.clear();
      this.scoped.set(tenant, (scoped = tenantScoped(this.options.store, tenant)));
    }
    return scoped;
  }

  /** The last step, once BullMQ has recorded the attempt's outcome: the counts and metrics of it. */
  readonly recorded = (job: ActiveJob, outcome: JobOutcome): void => {
    this.counters.processed++;
    if (outcome.kind === 'completed') return this.observe.completed.inc();
    const { queue, logger } = this.options;
    if (outcome.kind === 'cancelled') return logger.info({ queue, jobId: job.id, attempt: job.attempt }, 'job cancelled');
    const final = !retries(outcome);
    this.counters.failed++;
    (final ? this.observe.failed : this.observe.retried).inc();
    logger.info({ queue, jobId: job.id, attempt: job.attempt, outcome: outcome.kind, final, error: outcome.error.message }, 'job attempt failed');
  };

  /** A handler that outlives its aborted signal is counted, so the supervisor can replace this process. */
  private watchForZombie(work: Promise<unknown>): void {
    let counted = false;
    const grace = setTimeout(() => {
      counted = true;
      this.counters.zombies++;
      this.options.logger.warn({ queue: this.options.queue, zombies: this.counters.zombies }, 'a handler ignored its aborted signal and still runs');
    }, this.options.zombieGraceMs).unref();
    void work.catch(() => {}).finally(() => {
      clearTimeout(grace);
      if (counted) this.counters.zombies--;
    });
  }
}
