// Lists, newest first. Finished and active jobs come from BullMQ's own lists (finished ones
// in the order they finished); the rest from the creation or project index, scanned.
import type { Job, JobType } from 'bullmq';
import { readSummary, viewOf } from './read.js';
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
  const { queue, state, projectId, limit, offset } = query;
  const index = ctx.side.jobIndex;
  let views: JobView[];
  if (projectId) {
    views = await scanIndex(ctx, query,
      (o, l) => index.listProject(queue, projectId, o, l), (gone) => index.removeFromProject(queue, projectId, gone));
  } else if (state === 'completed' || state === 'failed' || state === 'cancelled' || state === 'active') {
    views = (await listState(ctx, queue, state, offset + limit)).slice(offset, offset + limit);
  } else {
    views = await scanIndex(ctx, query, (o, l) => index.listCreated(queue, o, l), (gone) => index.removeCreated(queue, gone));
  }
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

/** Walk an index of ids, newest first, keeping the jobs in the wanted state; ids of removed jobs are dropped from it. */
async function scanIndex(
  ctx: StoreContext,
  query: ListQuery,
  page: (offset: number, limit: number) => Promise<string[]>,
  unindex: (ids: string[]) => Promise<void>,
): Promise<JobView[]> {
  const { queue, state, limit, offset } = query;
  const matched: JobView[] = [];
  for (let position = 0, scanned = 0; matched.length < offset + limit && scanned < LIST_SCAN_CAP; scanned += SCAN_CHUNK) {
    const ids = await page(position, SCAN_CHUNK);
    const views = await Promise.all(ids.map((id) => readSummary(ctx, queue, id)));
    const gone = ids.filter((_, i) => !views[i]);
    await unindex(gone);
    position += ids.length - gone.length;
    matched.push(...views.filter((v): v is JobView => v !== undefined && (!state || v.state === state)));
    if (ids.length < SCAN_CHUNK) break;
  }
  return matched.slice(offset, offset + limit);
}
