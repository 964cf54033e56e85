// Reading one job: BullMQ's job, state and log lines folded into jobvisor's view. A job
// cancelled before it ran has left BullMQ and is read from the record of cancelled jobs.
import type { Job } from 'bullmq';
import { cancelledView, stateOf, toView, type RawJob } from './job-view.js';
import type { StoreContext } from './store-context.js';
import type { JobState, JobView } from './types.js';

export function viewOf(ctx: StoreContext, queue: string, job: Job, state: JobState, logs: string[] = []): JobView {
  return toView(queue, job as unknown as RawJob, state, logs, ctx.defaults.timeoutMs);
}

/** BullMQ's state as jobvisor's: a failed job whose cancel request reached its worker is cancelled. */
async function stateOfJob(ctx: StoreContext, queue: string, id: string, bullState: string): Promise<JobState> {
  const cancelRequested = bullState === 'failed' && (await ctx.side.cancellations.requested(queue, [id])).length > 0;
  return stateOf(bullState, cancelRequested);
}

/** One job, with its timeline: what Store.get returns. Another tenant's job, when a tenant is given, is none. */
export async function readJob(ctx: StoreContext, queue: string, id: string, tenant?: string): Promise<JobView | undefined> {
  const view = await read(ctx, queue, id, 1);
  return view && inTenant(view, tenant) ? view : undefined;
}

export const inTenant = (view: JobView, tenant: string | undefined) => tenant === undefined || view.tenant === tenant;

async function read(ctx: StoreContext, queue: string, id: string, rereads: number): Promise<JobView | undefined> {
  const bullQueue = ctx.queue(queue);
  // The state first, then the job: a job finishing between the two reads then shows its final
  // state with its result or error, never a final state with neither.
  const stateRead = await bullQueue.getJobState(id);
  const job = await bullQueue.getJob(id);
  if (!job) return ctx.side.cancellations.archived(queue, id);
  const [bullState, { logs }] = await Promise.all([
    stateRead === 'unknown' ? job.getState() : stateRead, bullQueue.getJobLogs(id)]);
  // The job finished (or was archived as cancelled) between our reads: read again, so that
  // its state and its fields (result, finishedOn) agree.
  const stale = bullState === 'unknown' || ((bullState === 'completed' || bullState === 'failed') && !job.finishedOn);
  if (stale && rereads > 0) return read(ctx, queue, id, rereads - 1);
  if (bullState === 'failed') {
    const archived = await ctx.side.cancellations.archived(queue, id);
    if (archived) return archived;
  }
  const state = await stateOfJob(ctx, queue, id, bullState);
  const view = viewOf(ctx, queue, job, state, logs);
  return state === 'cancelled' ? cancelledView(view, job.finishedOn ?? Date.now()) : view;
}

/** A job's view without its logs: two reads instead of three, for lists. */
export async function readSummary(ctx: StoreContext, queue: string, id: string): Promise<JobView | undefined> {
  const stateRead = await ctx.queue(queue).getJobState(id); // state first, as in read()
  const job = await ctx.queue(queue).getJob(id);
  if (!job) return ctx.side.cancellations.archived(queue, id);
  const bullState = stateRead === 'unknown' ? await job.getState() : stateRead;
  return viewOf(ctx, queue, job, await stateOfJob(ctx, queue, id, bullState));
}
