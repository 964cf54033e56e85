// The fetch loop of one worker process: a BullMQ Worker, plus what jobvisor
// adds around it — cancel requests reaching running jobs, the timeline entries
// BullMQ does not keep, and throughput counts. Nothing here runs on the
// success path but BullMQ itself: no extra round trip per completed job.
import { UnrecoverableError as BullUnrecoverableError, WaitingError, type Job, type Queue, type Worker } from 'bullmq';
import { coerceError, isUnrecoverable } from '../errors.js';
import { createWorker, type Engine } from './connection.js';
import type { Retention } from './side/index.js';
import { cancelledView, stateOf, timelineLine, toView } from './job-view.js';
import type { ActiveJob, ConsumeOptions, Consumer, ConsumerEvents, JobProcessor, Progress } from './types.js';

const CANCEL_POLL_MS = 500;
const THROUGHPUT_FLUSH_MS = 1000;

export interface ConsumerSettings {
  lockMs: number;
  stalledIntervalMs: number;
  defaultTimeoutMs: number;
  keepCancelled: Retention;
}

/** BullMQ keys children as `<prefix>:<queue>:<id>` (Redis); keep `<queue>:<id>`, the same in every mode. */
function stripPrefixes<T>(values: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key.split(':').slice(-2).join(':'), value]));
}

export class BullConsumer implements Consumer {
  private readonly worker: Worker;
  private readonly active = new Set<string>();
  /** Jobs whose cancel request reached this worker: their failure means `cancelled`. */
  private readonly cancelling = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private finished = { completed: 0, failed: 0 };
  private closing?: Promise<void>;
  /** Writes that follow a job's end (archive, timeline, schedule run); a drain waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  private held = false;

  constructor(
    private readonly engine: Engine,
    private readonly queue: string,
    private readonly bullQueue: Queue,
    private readonly processor: JobProcessor,
    options: ConsumeOptions,
    private readonly events: ConsumerEvents,
    private readonly settings: ConsumerSettings,
  ) {
    this.worker = createWorker(engine, queue, (job, token, signal) => this.run(job, token, signal), {
      concurrency: options.concurrency,
      lockDuration: settings.lockMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: 2, // a job may lose its worker twice (crash, forced recycle) before it fails for good
      ...(options.limiter ? { limiter: { max: options.limiter.max, duration: options.limiter.durationMs } } : {}),
    });
    this.worker.on('error', () => {}); // connection errors are retried by BullMQ; liveness is the heartbeat's job
    this.worker.on('completed', (job, result) => this.onCompleted(job, result));
    this.worker.on('failed', (job, error) => { if (job) this.track(this.onFailed(job, error)); });
    this.worker.on('stalled', (jobId) => this.track(this.onStalled(jobId)));
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

  private async run(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    const id = String(job.id);
    if (this.held && token) {
      // BullMQ's pause does not stop a fetch already blocked waiting for a job: give that job back.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    this.active.add(id);
    // BullMQ does not keep a scheduler's last job; one write per scheduled job, none for the rest.
    if (job.repeatJobKey) this.track(this.recordScheduleRun(job.repeatJobKey, id, job.processedOn ?? Date.now()));
    try {
      return await this.processor(this.activeJob(job), signal ?? new AbortController().signal);
    } catch (thrown) {
      const error = coerceError(thrown);
      if (this.cancelling.has(id)) throw new BullUnrecoverableError('job cancelled');
      if (isUnrecoverable(error)) {
        const unrecoverable = new BullUnrecoverableError(error.message);
        unrecoverable.stack = error.stack;
        throw unrecoverable;
      }
      throw error;
    } finally {
      this.active.delete(id);
    }
  }

  private async recordScheduleRun(schedule: string, jobId: string, at: number): Promise<void> {
    await this.engine.extras.recordScheduleRun(schedule, { queue: this.queue, jobId, at }).catch(() => {});
  }

  private activeJob(job: Job): ActiveJob {
    return {
      id: String(job.id),
      queue: this.queue,
      name: job.name,
      data: job.data,
      attempt: job.attemptsStarted || job.attemptsMade + 1,
      maxAttempts: job.opts.attempts ?? 1,
      timeoutMs: (job.opts as { timeoutMs?: number }).timeoutMs ?? this.settings.defaultTimeoutMs,
      enqueuedAt: job.timestamp + (job.opts.delay ?? 0),
      progress: async (value: Progress) => {
        await job.updateProgress(value);
        await job.log(timelineLine('progress', Date.now(), JSON.stringify(value)));
      },
      log: async (line: string) => {
        await job.log(line);
      },
      children: async () => {
        const [results, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
        return { results: stripPrefixes(results), failures: stripPrefixes(failures) };
      },
    };
  }

  private onCompleted(job: Job, result: unknown): void {
    const id = String(job.id);
    this.finished.completed++;
    if (this.cancelling.delete(id)) this.track(this.engine.extras.clearCancel(this.queue, id));
    this.events.completed?.(id, result);
  }

  private async onFailed(job: Job, error: Error): Promise<void> {
    const id = String(job.id);
    this.finished.failed++;
    if (this.cancelling.delete(id)) {
      this.events.failed?.(this.activeJob(job), error, true);
      await this.archiveCancelled(job);
      return;
    }
    const final = error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final && job.processedOn) {
      await job.log(timelineLine('active', job.processedOn));
      await job.log(timelineLine('retrying', Date.now(), error.message));
    }
    this.events.failed?.(this.activeJob(job), error, final);
  }

  /** A cancelled job leaves BullMQ's failed set for jobvisor's record of cancelled jobs. */
  private async archiveCancelled(job: Job): Promise<void> {
    const id = String(job.id);
    const { logs } = await this.bullQueue.getJobLogs(id);
    const view = cancelledView(toView(this.queue, job, stateOf('failed', true), logs, this.settings.defaultTimeoutMs), job.finishedOn ?? Date.now());
    await this.engine.extras.archiveCancelled(view, this.settings.keepCancelled);
    await job.remove();
    await this.engine.extras.clearCancel(this.queue, id);
  }

  private async onStalled(jobId: string): Promise<void> {
    const job = await this.bullQueue.getJob(jobId);
    if (!job) return;
    if (job.processedOn) await job.log(timelineLine('active', job.processedOn));
    await job.log(timelineLine('stalled', Date.now(), 'its worker stopped renewing the lock'));
  }

  private async pollCancels(): Promise<void> {
    if (this.active.size === 0) return;
    const requested = await this.engine.extras.cancelRequested(this.queue, [...this.active]);
    for (const id of requested) {
      if (this.cancelling.has(id)) continue;
      this.cancelling.add(id);
      this.worker.cancelJob(id, 'cancelled');
    }
  }

  private async flushThroughput(): Promise<void> {
    const { completed, failed } = this.finished;
    if (completed === 0 && failed === 0) return;
    this.finished = { completed: 0, failed: 0 };
    await this.engine.extras.addThroughput(this.queue, completed, failed);
  }

  hold(held: boolean): void {
    this.held = held;
    if (held) void this.worker.pause(true).catch(() => {});
    else this.worker.resume();
  }

  drain(): Promise<void> {
    return (this.closing ??= this.shutdown(false));
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutdown(true));
  }

  private async shutdown(force: boolean): Promise<void> {
    await this.worker.close(force).catch(() => {});
    await Promise.allSettled([...this.pending]); // archives and timeline entries of the last jobs land before the store closes
    for (const timer of this.timers) clearInterval(timer);
    await this.flushThroughput().catch(() => {});
  }
}
