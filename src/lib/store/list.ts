// Lists, newest first. Across tenants, finished and active jobs come from BullMQ's own lists
// (finished ones in the order they finished); the rest, and every list of one tenant, from
// the creation, tenant or project index, scanned (newest created first).
import type { Job, JobType } from 'bullmq';
import { readSummary, viewOf } from './read.js';
import type { IndexScope } from './side/index.js';
import type { StoreContext } from './store-context.js';
import type { JobState, JobView, ListQuery } from './types.js';

/** BullMQ's lists behind each of jobvisor's states. */
const BULL_TYPES: Record<Exclude<JobState, 'cancelled'>, JobType[]> = {
  waiting: ['prioritized', 'waiting', 'waiting-children'],
  delayed: ['delayed'],
  active: ['active'],
  completed: ['completed'],
  failed: ['failed'],
};

/** An index scan reads at most this many of the newest jobs. */
const LIST_SCAN_CAP = 10_000;
const SCAN_CHUNK = 200;

/** Views without timeline. */
export async function listJobs(ctx: StoreContext, query: ListQuery): Promise<JobView[]> {
  const { queue, state, projectId, tenant, limit, offset } = query;
  const ownList = state === 'completed' || state === 'failed' || state === 'cancelled' || state === 'active';
  const views = ownList && !projectId && tenant === undefined
    ? (await listState(ctx, queue, state, offset + limit)).slice(offset, offset + limit)
    : await scanIndex(ctx, query, { queue, ...(tenant !== undefined ? { tenant } : {}), ...(projectId ? { projectId } : {}) });
  return views.map((v) => ({ ...v, timeline: [] }));
}

/** Up to `want` jobs of one state, newest first. */
async function listState(ctx: StoreContext, queue: string, state: JobState, want: number): Promise<JobView[]> {
  if (state === 'cancelled') return ctx.side.cancellations.listArchived(queue, 0, want);
  const bullQueue = ctx.queue(queue);
  const lists = await Promise.all(BULL_TYPES[state].map((type) => bullQueue.getJobs([type], 0, want - 1, false)));
  let jobs = lists.flat().filter((j): j is Job => Boolean(j));
  if (lists.filter((l) => l.length > 0).length > 1) {
    jobs = jobs.sort((a, b) => b.timestamp - a.timestamp || String(b.id).localeCompare(String(a.id)));
  }
  const cancelled = state === 'failed'
    ? new Set(await ctx.side.cancellations.requested(queue, jobs.map((j) => String(j.id))))
    : new Set<string>();
  return jobs.slice(0, want).map((job) => viewOf(ctx, queue, job, cancelled.has(String(job.id)) ? 'cancelled' : state));
}

/**
 * Walk an index of ids, newest first, keeping the jobs in the wanted state (and, should an
 * index ever disagree with a job, tenant); ids of removed jobs are dropped from it.
 */
async function scanIndex(ctx: StoreContext, query: ListQuery, scope: IndexScope): Promise<JobView[]> {
  const { queue, state, tenant, limit, offset } = query;
  const index = ctx.side.jobIndex;
  const wanted = (v: JobView | undefined): v is JobView => v !== undefined && (!state || v.state === state) && (tenant === undefined || v.tenant === tenant);
  const matched: JobView[] = [];
  for (let position = 0, scanned = 0; matched.length < offset + limit && scanned < LIST_SCAN_CAP; scanned += SCAN_CHUNK) {
    const ids = await index.list(scope, position, SCAN_CHUNK);
    const views = await Promise.all(ids.map((id) => readSummary(ctx, queue, id)));
    const gone = ids.filter((_, i) => !views[i]);
    await index.remove(scope, gone);
    position += ids.length - gone.length;
    matched.push(...views.filter(wanted));
    if (ids.length < SCAN_CHUNK) break;
  }
  return matched.slice(offset, offset + limit);
}
