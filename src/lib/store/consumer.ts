// The fetch loop of one worker process: a BullMQ Worker, plus what jobvisor
// adds around it that needs BullMQ — cancel requests reaching running jobs,
// each attempt's outcome recorded as BullMQ's move to completed or failed, the
// timeline entries BullMQ does not keep, and throughput counts. What an outcome
// is, the worker's pipeline decides (src/workers/pipeline.ts), not this file.
// Nothing here runs on the success path but BullMQ itself: no extra round trip
// per completed job, beyond a job's webhook delivery when it has a callbackUrl,
// enqueued before its end is recorded (callbacks.ts). Fencing (lock-watch.ts)
// rides on BullMQ's own lock renewals and one timer per worker: a job whose lock
// this worker cannot renew is aborted and its outcome discarded, and a worker cut
// off from its store stops fetching.
// Whole on purpose (about 400 lines): the fetch loop and what it records around BullMQ share one Worker and its events.
import { UnrecoverableError as BullUnrecoverableError, WaitingError, type Job, type Queue, type Worker } from 'bullmq';
import { coerceError, isUnrecoverable, JobCancelledError } from '../errors.js';
import { createWorker, type Engine } from './connection.js';
import { MAX_LOST } from './release.js';
import type { CallbackPayload, FinalState } from './callbacks.js';
import { JobController } from './job-controller.js';
import type { CutOffChange } from './fence.js';
import { fencedOut, LockWatch } from './lock-watch.js';
import type { Retention, SideData } from './side/index.js';
import { cancelledView, timelineLine, toView } from './job-view.js';
import type { JobOptions, WorkerRetention } from './job-options.js';
import { DEFAULT_TENANT } from '../tenants.js';
import { retries, type HeldJob, type ActiveJob, type ConsumeOptions, type Consumer, type ConsumerEvents, type JobOutcome, type JobProcessor, type Progress } from './types.js';

const CANCEL_POLL_MS = 500;
const RUN_RETRY_MS = 250;
/** BullMQ's own cap on a queue's event stream, kept when we add to it. */
const EVENTS_KEPT = 10_000;
const THROUGHPUT_FLUSH_MS = 1000;
const CANCELLED: JobOutcome = { kind: 'cancelled' };

export interface ConsumerSettings {
  lockMs: number;
  stalledIntervalMs: number;
  /** No answer from the store for this long: stop fetching until it answers again (JOBVISOR_STORE_CUTOFF_MS). */
  storeCutOffMs: number;
  defaultTimeoutMs: number;
  /** The deployment's retention of finished jobs: the Worker's, for every job it ends. */
  retention: WorkerRetention;
  keepCancelled: Retention;
  /** Enqueues a completion webhook's delivery (callbacks.ts); `startedAt`: the ending attempt's start. */
  deliverCallback(url: string, payload: CallbackPayload, startedAt: number | undefined): Promise<void>;
}

const callbackUrlOf = (job: Job) => (job.opts as JobOptions).callbackUrl;

/** The end an outcome is, as a webhook tells it; undefined while the job runs again. */
function callbackPayload(job: Job, active: ActiveJob, outcome: JobOutcome, finishedAt: number): CallbackPayload | undefined {
  if (retries(outcome)) return undefined;
  const base = { id: String(job.id), queue: active.queue, attempts: active.attempt, finishedAt: new Date(finishedAt).toISOString() };
  if (outcome.kind === 'completed') return { ...base, state: 'completed', result: outcome.result ?? null };
  if (outcome.kind === 'cancelled') return { ...base, state: 'cancelled', error: 'job cancelled' };
  return { ...base, state: 'failed', error: outcome.error.message };
}

/** An attempt between the processor's answer and BullMQ's record of it. */
interface Settled {
  active: ActiveJob;
  outcome: JobOutcome;
  /** A cancelled job whose record is already kept beside BullMQ (it leaves BullMQ as it fails). */
  archived?: boolean;
  /** The end whose webhook delivery run() enqueued ahead of the record. */
  delivered?: FinalState;
}

/** BullMQ keys children as `<prefix>:<queue>:<id>` (Redis); keep `<queue>:<id>`, the same in every mode. */
function stripPrefixes<T>(values: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key.split(':').slice(-2).join(':'), value]));
}

/** A failure BullMQ must not retry, keeping the message and stack it is recorded with. */
function finalError(error: Error): Error {
  const unrecoverable = new BullUnrecoverableError(error.message);
  unrecoverable.stack = error.stack;
  return unrecoverable;
}

/** A failure that did not go through the pipeline, judged by BullMQ's own rule. */
function failure(job: ActiveJob, error: Error): JobOutcome {
  return { kind: job.finalAttempt || isUnrecoverable(error) ? 'failed' : 'retry', error };
}

export class BullConsumer implements Consumer {
  private readonly worker: Worker;
  /** Each running job's one abort switch, by id. */
  private readonly running = new Map<string, JobController>();
  /** Jobs whose cancel request reached this worker: unless they complete, they end `cancelled`. */
  private readonly cancelling = new Set<string>();
  /** Keyed by BullMQ's own Job object, which its completed/failed events hand back: nothing to clean if a record fails. */
  private readonly settled = new WeakMap<Job, Settled>();
  /** Outcomes recorded since the last flush to the store's throughput counts. */
  private unflushed = { completed: 0, failed: 0, durationMs: 0, timed: 0 };
  private readonly timers: NodeJS.Timeout[] = [];
  private closing?: Promise<void>;
  /** Writes that follow a job's end (timeline, schedule run); a drain waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  private holding = false;
  /** Lock tokens of the running jobs, by id: reported with each heartbeat. */
  private readonly tokens = new Map<string, string>();
  private startedCount = 0;
  private readonly maxJobs: number;
  private readonly side: SideData;
  private readonly lockWatch: LockWatch;

  constructor(
    engine: Engine,
    private readonly queue: string,
    private readonly bullQueue: Queue,
    private readonly processor: JobProcessor,
    options: ConsumeOptions,
    private readonly events: ConsumerEvents,
    private readonly settings: ConsumerSettings,
  ) {
    this.side = engine.side;
    this.maxJobs = options.maxJobs ?? 0;
    // Two parameters: BullMQ then makes no AbortController of its own; each job gets ours, one per job.
    this.worker = createWorker(engine, queue, (job, token) => this.run(job, token), {
      concurrency: options.concurrency,
      lockDuration: settings.lockMs,
      // BullMQ then renews each lock every eighth to quarter of the lock time: well inside the half the fence allows, even with a slow round trip.
      lockRenewTime: settings.lockMs / 4,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: MAX_LOST, // a job may lose its worker twice (crash, forced recycle) before it fails for good
      // A completion that failed because the store blinked is retried this soon, not BullMQ's default 15 s.
      runRetryDelay: RUN_RETRY_MS,
      removeOnComplete: settings.retention.removeOnComplete,
      removeOnFail: settings.retention.removeOnFail,
      ...(options.workerName ? { name: options.workerName } : {}),
      ...(options.limiter ? { limiter: { max: options.limiter.max, duration: options.limiter.durationMs } } : {}),
    });
    this.worker.on('error', () => {}); // connection errors are retried by BullMQ; liveness is the heartbeat's job
    this.worker.on('completed', (job) => this.recorded(job));
    this.worker.on('failed', (job, error) => { if (job) this.recorded(job, error); });
    this.worker.on('stalled', (jobId) => this.track(this.onStalled(jobId)));
    this.lockWatch = new LockWatch(this.worker, {
      lockMs: settings.lockMs, storeCutOffMs: settings.storeCutOffMs, running: this.running,
      ping: () => this.side.ping(), cutOffChanged: (change) => this.cutOffChanged(change),
    });
    this.timers.push(setInterval(() => void this.pollCancels().catch(() => {}), CANCEL_POLL_MS));
    this.timers.push(setInterval(() => void this.flushThroughput().catch(() => {}), THROUGHPUT_FLUSH_MS));
  }

  ready(): Promise<void> {
    return this.worker.waitUntilReady().then(() => {});
  }

  private track(work: Promise<unknown>): void {
    const settled = work.catch(() => {}).finally(() => this.pending.delete(settled));
    this.pending.add(settled);
  }

  private async run(job: Job, token: string | undefined): Promise<unknown> {
    const id = String(job.id);
    if ((this.holding || this.full) && token) {
      // BullMQ's pause does not stop a fetch already blocked waiting for a job: give that job back.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    this.countStart();
    const controller = new JobController();
    this.running.set(id, controller);
    this.lockWatch.started(id);
    if (token) this.tokens.set(id, token);
    // BullMQ does not keep a scheduler's last job; one write per scheduled job, none for the rest.
    if (job.repeatJobKey) this.track(this.recordScheduleRun(job.repeatJobKey, id, job.processedOn ?? Date.now()));
    const active = this.activeJob(job, controller);
    let outcome: JobOutcome;
    try {
      outcome = await this.processor(active, controller);
    } catch (thrown) {
      outcome = failure(active, coerceError(thrown)); // a processor breaking its contract: it should never reject
    } finally {
      this.running.delete(id);
      this.lockWatch.ended(id);
    }
    // The token stays listed (in heartbeats) while the outcome's own writes go out: a worker that dies
    // meanwhile still holds the job, and the supervisor's release can give it back at once.
    try {
      if (fencedOut(controller)) {
        // Whatever the attempt came to, another attempt may own the job now: nothing is recorded, and
        // BullMQ leaves a WaitingError's job where it is, for stalled recovery to give back.
        this.events.lockLost?.(active, controller.signal.reason);
        throw new WaitingError();
      }
      // The cancel request wins over however the attempt failed (a timeout that fired just before it, say).
      if (this.cancelling.has(id) && outcome.kind !== 'completed') outcome = CANCELLED;
      const settled: Settled = { active, outcome };
      this.settled.set(job, settled);
      await this.enqueueDelivery(job, settled);
      return await this.toBullMQ(job, settled);
    } finally {
      this.tokens.delete(id);
    }
  }

  /**
   * The outbox step: a final end's webhook delivery is enqueued before BullMQ records
   * that end, so a worker that dies between the two leaves a delivery, not none; the
   * webhooks worker posts it only once the store shows this end. Should the store
   * refuse it, recorded() enqueues it after the record, as before.
   */
  private async enqueueDelivery(job: Job, settled: Settled): Promise<void> {
    const url = callbackUrlOf(job);
    const payload = url ? callbackPayload(job, settled.active, settled.outcome, Date.now()) : undefined;
    if (!payload) return;
    settled.delivered = await this.settings.deliverCallback(url!, payload, job.processedOn).then(() => payload.state, () => undefined);
  }

  /** An outcome in BullMQ's terms: a return completes the job, a throw fails it (for good, if unrecoverable). */
  private async toBullMQ(job: Job, settled: Settled): Promise<unknown> {
    const { outcome } = settled;
    switch (outcome.kind) {
      case 'completed': return outcome.result;
      case 'retry': throw outcome.error;
      case 'failed': throw finalError(outcome.error);
      case 'timed-out': throw outcome.retry ? outcome.error : finalError(outcome.error);
      case 'cancelled':
        settled.archived = await this.archiveCancelled(job).then(() => true, () => false);
        throw new BullUnrecoverableError('job cancelled');
    }
  }

  /**
   * A cancelled job is kept beside BullMQ (which has no such state) before it
   * fails, and leaves BullMQ in the same step that fails it: no reader ever
   * sees it counted among the failed. Should the record not be written, the
   * job stays in BullMQ's failed set, still shown as cancelled by its request.
   */
  private async archiveCancelled(job: Job): Promise<void> {
    const { logs } = await this.bullQueue.getJobLogs(String(job.id));
    const view = cancelledView(toView(this.queue, job, 'cancelled', logs, this.settings.defaultTimeoutMs), Date.now());
    await this.side.cancellations.archive(view, this.settings.keepCancelled);
    job.opts.removeOnFail = true; // read by BullMQ's move to failed, on Redis and PostgreSQL alike
  }

  /** BullMQ recorded the attempt (its completed or failed event): the BullMQ-side bookkeeping, then the pipeline's last step. */
  private recorded(job: Job, error?: Error): void {
    const id = String(job.id);
    const settled = this.outcomeRecorded(job, error);
    const { active, outcome } = settled;
    if (outcome.kind === 'completed') this.unflushed.completed++;
    else if (outcome.kind !== 'cancelled') this.unflushed.failed++;
    // Every attempt that ran held a slot, a failed one too; a cancel cuts one short, so it says nothing of the usual duration.
    if (outcome.kind !== 'cancelled' && job.processedOn) {
      this.unflushed.durationMs += Math.max(0, (job.finishedOn ?? Date.now()) - job.processedOn);
      this.unflushed.timed++;
    }
    // A request left on a job that completed, or whose cancelled record is kept, has nothing left to do.
    if (this.cancelling.delete(id) && (outcome.kind === 'completed' || settled.archived)) {
      this.track(this.side.cancellations.clearRequest(this.queue, id));
    }
    if (retries(outcome) && 'error' in outcome && job.processedOn) this.track(this.logRetry(job, job.processedOn, outcome.error.message));
    // An end run() did not enqueue ahead (BullMQ failed the job itself, or the early enqueue failed): its delivery now.
    const callbackUrl = callbackUrlOf(job);
    const payload = callbackUrl ? callbackPayload(job, active, outcome, job.finishedOn ?? Date.now()) : undefined;
    if (payload && payload.state !== settled.delivered) this.track(this.settings.deliverCallback(callbackUrl!, payload, job.processedOn));
    this.events.recorded?.(active, outcome);
  }

  /** The attempt's outcome, unless BullMQ failed the job itself: before the processor ran, or when the completion could not be stored. */
  private outcomeRecorded(job: Job, error: Error | undefined): Settled {
    const settled = this.settled.get(job);
    this.settled.delete(job);
    if (settled && !(error && settled.outcome.kind === 'completed')) return settled;
    const active = settled?.active ?? this.activeJob(job);
    return { active, outcome: failure(active, error ?? new Error('failed')) };
  }

  private async logRetry(job: Job, startedAt: number, reason: string): Promise<void> {
    await job.log(timelineLine('active', startedAt, job.processedBy));
    await job.log(timelineLine('retrying', Date.now(), reason));
  }

  private async recordScheduleRun(schedule: string, jobId: string, at: number): Promise<void> {
    await this.side.scheduleRuns.recordRun(schedule, { queue: this.queue, jobId, at }).catch(() => {});
  }

  /** `controller`: a handler fenced out of its job (its lock lost) writes no more progress or log lines to it. */
  private activeJob(job: Job, controller?: JobController): ActiveJob {
    const opts = job.opts as JobOptions;
    const maxAttempts = opts.attempts ?? 1;
    return {
      id: String(job.id),
      queue: this.queue,
      name: job.name,
      data: job.data,
      attempt: job.attemptsStarted || job.attemptsMade + 1,
      maxAttempts,
      finalAttempt: job.attemptsMade + 1 >= maxAttempts,
      timeoutMs: opts.timeoutMs ?? this.settings.defaultTimeoutMs,
      enqueuedAt: job.timestamp + (opts.delay ?? 0),
      ...(opts.traceContext ? { traceContext: opts.traceContext } : {}),
      tenant: opts.tenant ?? DEFAULT_TENANT,
      progress: async (value: Progress) => {
        if (controller && fencedOut(controller)) return;
        await job.updateProgress(value);
        await job.log(timelineLine('progress', Date.now(), JSON.stringify(value)));
      },
      log: async (line: string) => {
        if (controller && fencedOut(controller)) return;
        await job.log(line);
        // The event streams carry log lines too; BullMQ keeps none of its own.
        await this.bullQueue.backend.publishEvent({ event: 'log', jobId: String(job.id), line }, EVENTS_KEPT);
      },
      children: async () => {
        const [results, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
        return { results: stripPrefixes(results), failures: stripPrefixes(failures) };
      },
    };
  }

  private async onStalled(jobId: string): Promise<void> {
    const job = await this.bullQueue.getJob(jobId);
    if (!job) return;
    if (job.processedOn) await job.log(timelineLine('active', job.processedOn, job.processedBy));
    await job.log(timelineLine('stalled', Date.now(), 'its worker stopped renewing the lock'));
  }

  /** Cut off, the worker fetches nothing (a job it took could not be kept); once the store answers, it fetches again. */
  private cutOffChanged(change: CutOffChange): void {
    if (change.cutOff) void this.worker.pause(true).catch(() => {});
    else this.fetchAgain();
    const aborted = change.cutOff ? change.aborted : 0;
    const held = [...this.running.values()].filter((controller) => !fencedOut(controller)).length + aborted;
    this.events.storeCutOff?.(change, { held, aborted });
  }

  get cutOff(): boolean {
    return this.lockWatch.cutOff;
  }

  private async pollCancels(): Promise<void> {
    if (this.running.size === 0) return;
    const requested = await this.side.cancellations.requested(this.queue, [...this.running.keys()]);
    for (const id of requested) {
      const controller = this.running.get(id);
      if (!controller || this.cancelling.has(id)) continue; // finished meanwhile, or already told
      this.cancelling.add(id);
      controller.abort(new JobCancelledError());
    }
  }

  private async flushThroughput(): Promise<void> {
    const { completed, failed, durationMs, timed } = this.unflushed;
    if (completed === 0 && failed === 0) return;
    this.unflushed = { completed: 0, failed: 0, durationMs: 0, timed: 0 };
    await this.side.throughput.add(this.queue, completed, failed, { totalMs: durationMs, count: timed });
  }

  get started(): number {
    return this.startedCount;
  }

  held(): HeldJob[] {
    return [...this.tokens].map(([id, token]) => ({ id, token }));
  }

  /** The max-jobs limit is reached: this consumer starts nothing more. */
  private get full(): boolean {
    return this.maxJobs > 0 && this.startedCount >= this.maxJobs;
  }

  /** The N-th start stops the fetch loop; a job fetched meanwhile is given back in run(). */
  private countStart(): void {
    this.startedCount++;
    if (this.full) void this.worker.pause(true).catch(() => {});
    this.events.started?.(this.startedCount);
  }

  hold(held: boolean): void {
    this.holding = held;
    if (held) void this.worker.pause(true).catch(() => {});
    else this.fetchAgain();
  }

  /** Resumes the fetch loop unless something still stops it: a hold, max jobs, the store cut off. */
  private fetchAgain(): void {
    if (!this.holding && !this.full && !this.lockWatch.cutOff && !this.closing) void this.worker.resume();
  }

  drain(): Promise<void> {
    return (this.closing ??= this.shutdown(false));
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutdown(true));
  }

  private async shutdown(force: boolean): Promise<void> {
    await this.worker.close(force).catch(() => {});
    await Promise.allSettled([...this.pending]); // timeline entries of the last jobs land before the store closes
    for (const timer of this.timers) clearInterval(timer);
    this.lockWatch.stop();
    await this.flushThroughput().catch(() => {});
  }
}
