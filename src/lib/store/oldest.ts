// The two ages an operator alerts on: how long the longest-running job has
// run, and how long the longest-waiting ready job has waited (queue latency).
// Read through BullMQ's getters only, in orders both backends agree on.
import type { Job, Queue } from 'bullmq';
import { PRIORITIES } from './job-options.js';
import type { OldestJobs } from './types.js';

/**
 * Active jobs are few (the queue's concurrency × its processes), but neither
 * backend keeps them in start order (PostgreSQL lists them by enqueue order), so
 * all are read, up to this many.
 */
const ACTIVE_SCAN_CAP = 500;

/** When a waiting job became ready to run: its run time, or the start of its last attempt if it ran before (a retry). */
function readySince(job: Job): number {
  return Math.max(job.timestamp + (job.opts.delay ?? 0), job.processedOn ?? 0);
}

function earliest(times: number[]): number | null {
  return times.length === 0 ? null : Math.min(...times);
}

async function oldestActive(queue: Queue): Promise<number | null> {
  const jobs = await queue.getJobs(['active'], 0, ACTIVE_SCAN_CAP - 1);
  return earliest(jobs.filter(Boolean).map((job) => job.processedOn ?? job.timestamp));
}

/**
 * Within one priority, the first job in BullMQ's order is the one that became
 * ready first; across priorities it can be any level's first. So: the count per
 * priority gives each level's first rank, and one job is read per level.
 */
async function oldestWaiting(queue: Queue): Promise<number | null> {
  const counts = await queue.getCountsPerPriority(PRIORITIES);
  const reads: Promise<Job[]>[] = [];
  let rank = 0;
  for (const priority of PRIORITIES) {
    const count = counts[priority] ?? 0;
    if (count === 0) continue;
    // The plain wait list is newest first in both backends when read descending: its oldest is the last.
    reads.push(priority === 0 ? queue.getJobs(['wait'], count - 1, count - 1, false) : queue.getJobs(['prioritized'], rank, rank, true));
    if (priority > 0) rank += count;
  }
  const firsts = (await Promise.all(reads)).flat().filter(Boolean);
  return earliest(firsts.map(readySince));
}

export async function oldestJobs(queue: Queue): Promise<OldestJobs> {
  const [activeSince, waitingSince] = await Promise.all([oldestActive(queue), oldestWaiting(queue)]);
  return { activeSince, waitingSince };
}
