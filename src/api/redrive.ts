// Redrive (README, "Redrive"): failed jobs of one queue, and cancelled ones on request, sent
// back to waiting in bulk. The jobs are found through the store's list across queues, page
// by page by its cursor, so a request loads at most `limit` jobs whatever the volume; each
// is then retried as the single retry route does.
import { NotFoundError, StateConflictError } from '../lib/errors.js';
import type { JobState, JobView, Store } from '../lib/store/index.js';
import type { StoreCall } from './store-call.js';

const PAGE_SIZE = 200;
/** Retries in flight at once: fast enough for thousands, without flooding the store. */
const RETRY_BATCH = 20;
/** The answer names at most this many ids. */
export const REDRIVE_IDS_SHOWN = 100;

export interface RedriveFilters {
  name?: string;
  projectId?: string;
  tenant?: string;
  /** Epoch ms, inclusive: the job ended at or after it. */
  failedAfter?: number;
  /** Epoch ms, exclusive. */
  failedBefore?: number;
  cancelled?: boolean;
  dryRun?: boolean;
  /** At most this many jobs are read (and so redriven). */
  limit: number;
}

export interface RedriveResult {
  count: number;
  dryRun: boolean;
  ids: string[];
  truncated: boolean;
}

const endedIn = (job: JobView, { failedAfter, failedBefore }: RedriveFilters): boolean => {
  const ended = job.finishedAt ? Date.parse(job.finishedAt) : undefined;
  if (failedAfter === undefined && failedBefore === undefined) return true;
  if (ended === undefined) return false;
  return (failedAfter === undefined || ended >= failedAfter) && (failedBefore === undefined || ended < failedBefore);
};

/**
 * The ids of the queue's jobs in `state` that match, newest first, reading at most `budget`
 * jobs. A job that ended before `failedBefore` was created before it too: the window
 * narrows the scan.
 */
export async function selectJobs(store: Store, call: StoreCall, queue: string, state: JobState, filters: RedriveFilters, budget: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let read = 0; read < budget;) {
    const page = await call(store.listAll({
      queue, state, limit: Math.min(PAGE_SIZE, budget - read),
      ...(filters.name !== undefined ? { name: filters.name } : {}),
      ...(filters.projectId !== undefined ? { projectId: filters.projectId } : {}),
      ...(filters.tenant !== undefined ? { tenant: filters.tenant } : {}),
      ...(filters.failedBefore !== undefined ? { createdBefore: filters.failedBefore } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    }));
    read += page.jobs.length;
    ids.push(...page.jobs.filter((job) => endedIn(job, filters)).map((job) => job.id));
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  return ids;
}

/** Retries each; a job that left the state meanwhile (retried, removed) is skipped. Resolves with the ids sent back. */
async function retryAll(store: Store, call: StoreCall, queue: string, ids: string[]): Promise<string[]> {
  const done: string[] = [];
  for (let i = 0; i < ids.length; i += RETRY_BATCH) {
    const batch = ids.slice(i, i + RETRY_BATCH);
    const results = await Promise.allSettled(batch.map((id) => call(store.retry(queue, id))));
    results.forEach((result, j) => {
      if (result.status === 'fulfilled') return void done.push(batch[j]!);
      if (!(result.reason instanceof NotFoundError || result.reason instanceof StateConflictError)) throw result.reason;
    });
  }
  return done;
}

export async function redrive(store: Store, call: StoreCall, queue: string, filters: RedriveFilters): Promise<RedriveResult> {
  const failed = await selectJobs(store, call, queue, 'failed', filters, filters.limit);
  const cancelled = filters.cancelled && failed.length < filters.limit
    ? await selectJobs(store, call, queue, 'cancelled', filters, filters.limit - failed.length)
    : [];
  const selected = [...failed, ...cancelled];
  const ids = filters.dryRun ? selected : await retryAll(store, call, queue, selected);
  return { count: ids.length, dryRun: Boolean(filters.dryRun), ids: ids.slice(0, REDRIVE_IDS_SHOWN), truncated: ids.length > REDRIVE_IDS_SHOWN };
}
