// Giving a dead worker's jobs back at once. The supervisor is the worker's parent: it knows
// from the last heartbeat which jobs that worker held, with their lock tokens, so it need not
// wait for BullMQ's lock expiry and stalled check (a minute by default). Holding the token, a
// job is moved with BullMQ's own Job.moveToWait, on Redis and PostgreSQL alike; a token that no
// longer matches (the job finished, or another worker runs it now) moves nothing.
import { UnrecoverableError, type KeepJobs, type Queue } from 'bullmq';
import { timelineLine } from './job-view.js';
import type { HeldJob } from './types.js';

/** As BullMQ's maxStalledCount in the consumer: a job may lose its worker twice before it fails for good. */
export const MAX_LOST = 2;

const STALLED_MARK = '"event":"stalled"';

/** Each held job still active under its token goes back to waiting; resolves with the ids moved. */
export async function releaseJobs(queue: Queue, held: HeldJob[], reason: string, keepFailed: KeepJobs): Promise<string[]> {
  const moved: string[] = [];
  for (const { id, token } of held) {
    if (await releaseOne(queue, id, token, reason, keepFailed).catch(() => false)) moved.push(id);
  }
  return moved;
}

async function releaseOne(queue: Queue, id: string, token: string, reason: string, keepFailed: KeepJobs): Promise<boolean> {
  const job = await queue.getJob(id);
  if (!job || (await job.getState()) !== 'active') return false;
  const { logs } = await queue.getJobLogs(id);
  // A release counts like a stall: past the limit a job that keeps killing its worker fails instead.
  const lost = logs.filter((line) => line.includes(STALLED_MARK)).length + 1;
  const startedAt = job.processedOn;
  if (lost > MAX_LOST) {
    // Retention is the Worker's option, and this is no Worker: the job names it, as a Worker's failure would apply it.
    job.opts.removeOnFail ??= keepFailed;
    await job.moveToFailed(new UnrecoverableError(`job lost its worker ${lost} times (${reason})`), token, false);
  } else {
    await job.moveToWait(token);
  }
  // Only once the move succeeded: a token that did not match leaves the timeline alone.
  if (startedAt) await job.log(timelineLine('active', startedAt, job.processedBy));
  await job.log(timelineLine('stalled', Date.now(), `its worker ${reason}; released at once`));
  return true;
}
