// Giving a dead worker's jobs back at once. The supervisor is the worker's parent: it knows
// from the last heartbeat which jobs that worker held, with their lock tokens, so it need not
// wait for BullMQ's lock expiry and stalled check (a minute by default). Holding the token, a
// job is moved with BullMQ's own Job.moveToWait, on Redis and PostgreSQL alike; a token that no
// longer matches (the job finished, or another worker runs it now) moves nothing. A job
// failed for good here gets its completion webhook as the consumer gives one: enqueued first.
import { UnrecoverableError, type Job, type KeepJobs, type Queue } from 'bullmq';
import type { CallbackPayload } from './callbacks.js';
import type { JobOptions } from './job-options.js';
import { timelineLine } from './job-view.js';
import type { HeldJob } from './types.js';

export interface ReleaseSettings {
  /** The failed jobs' retention, which a Worker would apply. */
  keepFailed: KeepJobs;
  /** Enqueues a webhook's delivery (callbacks.ts); `startedAt`: the ending attempt's start. */
  deliverCallback(url: string, payload: CallbackPayload, startedAt: number | undefined): Promise<void>;
}

/** As BullMQ's maxStalledCount in the consumer: a job may lose its worker twice before it fails for good. */
export const MAX_LOST = 2;

const STALLED_MARK = '"event":"stalled"';

/** Each held job still active under its token goes back to waiting; resolves with the ids moved. */
export async function releaseJobs(queue: Queue, held: HeldJob[], reason: string, settings: ReleaseSettings): Promise<string[]> {
  const moved: string[] = [];
  for (const { id, token } of held) {
    if (await releaseOne(queue, id, token, reason, settings).catch(() => false)) moved.push(id);
  }
  return moved;
}

async function releaseOne(queue: Queue, id: string, token: string, reason: string, settings: ReleaseSettings): Promise<boolean> {
  const job = await queue.getJob(id);
  if (!job || (await job.getState()) !== 'active') return false;
  const { logs } = await queue.getJobLogs(id);
  // A release counts like a stall: past the limit a job that keeps killing its worker fails instead.
  const lost = logs.filter((line) => line.includes(STALLED_MARK)).length + 1;
  const startedAt = job.processedOn;
  if (lost > MAX_LOST) {
    const error = new UnrecoverableError(`job lost its worker ${lost} times (${reason})`);
    // The outbox order: should the move not happen (the token no longer matches), the delivery sees no such end and drops itself.
    const delivered = await deliverFailure(queue.name, job, error, settings).then(() => true, () => false);
    // Retention is the Worker's option, and this is no Worker: the job names it, as a Worker's failure would apply it.
    job.opts.removeOnFail ??= settings.keepFailed;
    await job.moveToFailed(error, token, false);
    if (!delivered) await deliverFailure(queue.name, job, error, settings).catch(() => {});
  } else {
    await job.moveToWait(token);
  }
  // Only once the move succeeded: a token that did not match leaves the timeline alone.
  if (startedAt) await job.log(timelineLine('active', startedAt, job.processedBy));
  await job.log(timelineLine('stalled', Date.now(), `its worker ${reason}; released at once`));
  return true;
}

/** The webhook of a job that ends failed here, if it asked for one. */
async function deliverFailure(queue: string, job: Job, error: Error, settings: ReleaseSettings): Promise<void> {
  const url = (job.opts as JobOptions).callbackUrl;
  if (!url) return;
  const payload: CallbackPayload = {
    id: String(job.id), queue, state: 'failed', error: error.message,
    attempts: job.attemptsStarted || job.attemptsMade + 1, finishedAt: new Date().toISOString(),
  };
  await settings.deliverCallback(url, payload, job.processedOn);
}
