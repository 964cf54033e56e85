// Cancelling a job. One that has not started is archived as cancelled and removed from
// BullMQ, so no worker can take it; an active one gets a request its worker acts on.
import type { Job } from 'bullmq';
import { CALLBACK_QUEUE, enqueueCallback } from './callbacks.js';
import { NotFoundError, StateConflictError } from '../errors.js';
import { cancelledView } from './job-view.js';
import { inTenant } from './read.js';
import type { StoreContext } from './store-context.js';
import type { JobView } from './types.js';

/** How long a cancel waits for an active job's handler to stop. */
const CANCEL_WAIT_MS = 3000;
const CANCEL_POLL_MS = 100;

/** `tenant`: another tenant's job is not found, and nothing is done to it. */
export async function cancelJob(ctx: StoreContext, queue: string, id: string, tenant?: string): Promise<JobView> {
  const job = await ctx.queue(queue).getJob(id);
  if (!job) {
    const archived = await ctx.side.cancellations.archived(queue, id);
    if (archived && inTenant(archived, tenant)) throw new StateConflictError('job is already cancelled', 'cancelled');
    throw new NotFoundError(`no job ${id} in queue ${queue}`);
  }
  const view = await ctx.get(queue, id);
  if (!view || !inTenant(view, tenant)) throw new NotFoundError(`no job ${id} in queue ${queue}`);
  if (view.state === 'completed' || view.state === 'failed' || view.state === 'cancelled') {
    throw new StateConflictError(`job is already ${view.state}`, view.state);
  }
  if (view.state !== 'active' && (await removeBeforeRun(ctx, queue, job, view))) {
    const cancelled = (await ctx.side.cancellations.archived(queue, id))!;
    const callbackUrl = (job.opts as { callbackUrl?: string }).callbackUrl;
    if (callbackUrl) {
      await enqueueCallback(ctx.queue(CALLBACK_QUEUE), ctx.defaults, callbackUrl, {
        id, queue, state: 'cancelled', error: 'job cancelled', attempts: cancelled.attempts, finishedAt: cancelled.finishedAt!,
      }, cancelled.startedAt ? Date.parse(cancelled.startedAt) : undefined);
    }
    return cancelled;
  }
  // Active (or became active as we looked): the worker holding it sees the request and aborts it.
  await ctx.side.cancellations.request(queue, id);
  return waitForCancelled(ctx, queue, id);
}

/** Archive first, then remove: a job that cannot be removed was taken by a worker meanwhile. */
async function removeBeforeRun(ctx: StoreContext, queue: string, job: Job, view: JobView): Promise<boolean> {
  if (job.repeatJobKey) {
    // BullMQ will not remove a scheduler's pending job: its schedule owns it.
    throw new StateConflictError('this job belongs to a cron schedule: disable the schedule instead', view.state);
  }
  await ctx.side.cancellations.archive(cancelledView(view, Date.now()), ctx.defaults.keepFailed);
  try {
    await job.remove();
    return true;
  } catch {
    // Locked: a worker took it between our read and the removal.
    await ctx.side.cancellations.unarchive(queue, String(job.id));
    return false;
  }
}

async function waitForCancelled(ctx: StoreContext, queue: string, id: string): Promise<JobView> {
  const deadline = Date.now() + CANCEL_WAIT_MS;
  let view = await ctx.get(queue, id);
  while (view && view.state === 'active' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, CANCEL_POLL_MS));
    view = await ctx.get(queue, id);
  }
  if (!view) throw new NotFoundError(`no job ${id} in queue ${queue}`);
  // Finished on its own before the request reached it: the request has nothing left to do.
  if (view.state === 'completed' || view.state === 'failed') await ctx.side.cancellations.clearRequest(queue, id);
  return view;
}
