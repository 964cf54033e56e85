// The list across queues: newest first over the index of every job (side/all-jobs.ts),
// paged by an opaque cursor. A request reads at most SCAN_CAP index entries and, when a
// state is asked for, only those entries' states (never a job's data); the page's own
// jobs are then read whole. When the cap is reached before the page fills, the answer
// is short and carries a cursor: the caller goes on from there, so every request is
// bounded whatever the stored volume.
import { InvalidCursorError } from '../errors.js';
import type { AllJobsEntry } from './side/index.js';
import { parsePosition } from './side/all-jobs.js';
import { readSummary } from './read.js';
import type { StoreContext } from './store-context.js';
import type { AllJobsPage, AllJobsQuery, JobState, JobView } from './types.js';

const SCAN_CAP = 2000;
const SCAN_CHUNK = 250;

function encodeCursor(position: string): string {
  return Buffer.from(position, 'utf8').toString('base64url');
}

/** undefined for a cursor this store never gave. */
function decodeCursor(cursor: string): string | undefined {
  const position = Buffer.from(cursor, 'base64url').toString('utf8');
  return parsePosition(position) ? position : undefined;
}

export async function listAllJobs(ctx: StoreContext, query: AllJobsQuery): Promise<AllJobsPage> {
  const { limit } = query;
  const matched: { entry: AllJobsEntry; position: string }[] = [];
  let before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (query.cursor !== undefined && before === undefined) throw new InvalidCursorError('not a cursor');
  let scanned = 0;
  let exhausted = false;
  while (matched.length < limit && scanned < SCAN_CAP) {
    const entries = await ctx.side.allJobs.list({ ...rangeOf(query), ...(before ? { before } : {}) }, SCAN_CHUNK);
    scanned += entries.length;
    const kept = await keep(ctx, entries.filter((e) => (query.name === undefined || e.name === query.name) && (query.queue === undefined || e.queue === query.queue)), query.state);
    for (const e of entries) {
      if (matched.length >= limit) break;
      before = e.position;
      if (kept.has(e.position)) matched.push({ entry: e, position: e.position });
    }
    if (entries.length < SCAN_CHUNK) {
      exhausted = before === entries.at(-1)?.position || entries.length === 0;
      break;
    }
  }
  const views = await Promise.all(matched.map(({ entry }) => readSummary(ctx, entry.queue, entry.id)));
  await ctx.side.allJobs.remove(matched.filter((_, i) => !views[i]).map(({ entry }) => entry));
  // The tenant again from the job itself, should an index entry ever disagree with it.
  const jobs = views.filter((v): v is JobView => v !== undefined && (!query.state || v.state === query.state)
    && (query.tenant === undefined || v.tenant === query.tenant));
  return { jobs: jobs.map((v) => ({ ...v, timeline: [] })), nextCursor: exhausted || !before ? null : encodeCursor(before) };
}

function rangeOf(query: AllJobsQuery) {
  return {
    ...(query.tenant !== undefined ? { tenant: query.tenant } : {}),
    ...(query.projectId !== undefined ? { projectId: query.projectId } : {}),
    ...(query.createdAfter !== undefined ? { createdAfter: query.createdAfter } : {}),
    ...(query.createdBefore !== undefined ? { createdBefore: query.createdBefore } : {}),
  };
}

/**
 * The positions among `entries` whose job is in `state` (all of them without one), by
 * state alone, queue by queue; entries of jobs gone from the store leave the index.
 */
async function keep(ctx: StoreContext, entries: (AllJobsEntry & { position: string })[], state?: JobState): Promise<Set<string>> {
  if (!state) return new Set(entries.map((e) => e.position));
  const states = await Promise.all(entries.map((e) => stateOf(ctx, e)));
  const gone = entries.filter((_, i) => states[i] === undefined);
  await ctx.side.allJobs.remove(gone);
  return new Set(entries.filter((_, i) => states[i] === state).map((e) => e.position));
}

/** A job's state without reading the job: BullMQ's state, the cancel record, the archive of cancelled jobs. */
async function stateOf(ctx: StoreContext, e: AllJobsEntry): Promise<JobState | undefined> {
  const bullState = await ctx.queue(e.queue).getJobState(e.id);
  if (bullState === 'unknown') return (await ctx.side.cancellations.archived(e.queue, e.id)) ? 'cancelled' : undefined;
  if (bullState === 'failed') return (await ctx.side.cancellations.requested(e.queue, [e.id])).length > 0 ? 'cancelled' : 'failed';
  if (bullState === 'completed' || bullState === 'active' || bullState === 'delayed') return bullState;
  return 'waiting';
}
