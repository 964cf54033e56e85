// Retrying by hand: a failed job goes back to waiting with a fresh set of attempts; a
// cancelled one, which has left BullMQ, is added again under its own id from its record.
import { NotFoundError, StateConflictError } from '../errors.js';
import { jobOptions } from './job-options.js';
import { stateOf, tenantOf, timelineLine, type RawJob } from './job-view.js';
import { inTenant } from './read.js';
import type { StoreContext } from './store-context.js';
import type { EnqueueInput, JobView } from './types.js';

/** `tenant`: another tenant's job is not found, and nothing is done to it. */
export async function retryJob(ctx: StoreContext, queue: string, id: string, tenant?: string): Promise<JobView> {
  const job = await ctx.queue(queue).getJob(id);
  if (!job) return retryCancelled(ctx, queue, id, tenant);
  if (tenant !== undefined && tenantOf(job.opts as RawJob['opts']) !== tenant) throw new NotFoundError(`no job ${id} in queue ${queue}`);
  const state = stateOf(await job.getState(), false);
  if (state !== 'failed') throw new StateConflictError(`only a failed or cancelled job can be retried; this one is ${state}`, state);
  await ctx.side.cancellations.clearRequest(queue, id);
  await job.log(timelineLine('retrying', Date.now(), 'retried by hand'));
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  return (await ctx.get(queue, id))!;
}

async function retryCancelled(ctx: StoreContext, queue: string, id: string, tenant: string | undefined): Promise<JobView> {
  const archived = await ctx.side.cancellations.archived(queue, id);
  if (!archived || !inTenant(archived, tenant)) throw new NotFoundError(`no job ${id} in queue ${queue}`);
  const input: EnqueueInput = {
    queue, name: archived.name, tenant: archived.tenant, data: archived.data, priority: archived.priority, attempts: archived.maxAttempts,
    backoff: archived.backoff, timeoutMs: archived.timeoutMs,
    ...(archived.dedupKey ? { dedupKey: archived.dedupKey } : {}),
    ...(archived.projectId ? { projectId: archived.projectId } : {}),
  };
  const job = await ctx.queue(queue).add(archived.name, archived.data, jobOptions(ctx.defaults, input, id));
  if (job.id !== id) {
    throw new StateConflictError(`job ${job.id} holds dedupKey ${archived.dedupKey} now; this one stays cancelled`, 'cancelled');
  }
  await ctx.side.cancellations.unarchive(queue, id);
  await ctx.side.cancellations.clearRequest(queue, id);
  await job.log(timelineLine('retrying', Date.now(), 'retried by hand after cancel'));
  return (await ctx.get(queue, String(job.id)))!;
}
