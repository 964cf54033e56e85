// Queue-wide questions: counts per state (BullMQ's lists plus the record of cancelled
// jobs), the jobs ready to run (by priority too), and whether the backend answers in time.
import type { Queue } from 'bullmq';
import { PRIORITIES } from './job-options.js';
import { StoreUnavailableError } from '../errors.js';
import type { StoreContext } from './store-context.js';
import type { StateCounts } from './types.js';

export async function countJobs(ctx: StoreContext, queue: string): Promise<StateCounts> {
  const [c, cancelled] = await Promise.all([
    ctx.queue(queue).getJobCounts('waiting', 'prioritized', 'waiting-children', 'delayed', 'active', 'completed', 'failed'),
    ctx.side.cancellations.countArchived(queue),
  ]);
  const n = (key: string) => c[key] ?? 0;
  return {
    waiting: n('waiting') + n('prioritized') + n('waiting-children'),
    delayed: n('delayed'),
    active: n('active'),
    completed: n('completed'),
    failed: n('failed'),
    cancelled,
  };
}

/** One read on Redis (a script) and on PostgreSQL (one query): jobs ready to run, by priority. */
export async function waitingByPriority(queue: Queue): Promise<number[]> {
  const counts = await queue.getCountsPerPriority(PRIORITIES);
  return PRIORITIES.map((p) => Number(counts[String(p)] ?? 0));
}

/** BullMQ's plain wait list plus its prioritized set: the jobs a worker may fetch now (paused or not). */
export async function countReady(ctx: StoreContext, queue: string): Promise<number> {
  const c = await ctx.queue(queue).getJobCounts('waiting', 'prioritized');
  return (c.waiting ?? 0) + (c.prioritized ?? 0);
}

/** The side data's connection stands for the backend: it is the one every mode has. */
export async function pingBackend(ctx: StoreContext, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`store did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([ctx.side.ping(), timeout]);
  } catch (error) {
    throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError(`store unreachable: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
