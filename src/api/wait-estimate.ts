// The estimated wait of a job ready to run (README, "Estimated wait"), answered from numbers
// this api process keeps per queue and refreshes in the background at most once a second:
// a request never waits on the store for it, so the first answer for a queue is null.
import type { Logger } from '../lib/logger.js';
import type { ProcessRecord, Store } from '../lib/store/index.js';
import type { StoreCall } from './store-call.js';

const REFRESH_MS = 1000;
/** Shorter than a request's store timeout: a refresh must not pile up behind a backend that is down. */
const READ_TIMEOUT_MS = 2000;

/** What the estimate is made from, read together. */
export interface WaitInputs {
  /** Jobs ready to run by priority: index 0 without one (taken first), then 1 … 10. */
  waiting: number[];
  /** Rolling mean attempt duration, ms; null before any attempt ended. */
  meanMs: number | null;
  /** Jobs its live workers run at once, summed. */
  capacity: number;
  /** Jobs those workers run now. */
  active: number;
}

/**
 * ms until a job of this priority starts, if it is the last of its priority: the jobs ahead
 * of it (every job without a priority and those of its priority or higher) and the running
 * ones share the workers' slots, each taking the mean duration. null without a mean or a live worker.
 */
export function estimateWait(inputs: WaitInputs, priority: number, includeSelf = false): number | null {
  const { waiting, meanMs, capacity, active } = inputs;
  if (meanMs === null || capacity <= 0) return null;
  let ahead = waiting.slice(0, priority + 1).reduce((sum, n) => sum + n, 0);
  if (includeSelf) ahead = Math.max(0, ahead - 1); // a job already waiting is counted among its priority
  const queued = Math.max(0, ahead + active - capacity + 1);
  return Math.round((queued * meanMs) / capacity);
}

/** The live workers of a queue, with the slots they have: records of older workers count as one slot. */
function capacityOf(records: ProcessRecord[], queue: string): Pick<WaitInputs, 'capacity' | 'active'> {
  const live = records.filter((r) => r.queue === queue && r.state === 'running' && !r.held);
  return {
    capacity: live.reduce((sum, r) => sum + (r.concurrency ?? 1), 0),
    active: live.reduce((sum, r) => sum + r.active, 0),
  };
}

export interface WaitEstimator {
  /** From the cached numbers (null until a first refresh lands); starts a refresh when they are stale. */
  estimate(queue: string, priority: number, alreadyWaiting?: boolean): number | null;
}

export function waitEstimator(store: Store, call: StoreCall, logger: Logger): WaitEstimator {
  const cache = new Map<string, { at: number; inputs?: WaitInputs; refreshing?: boolean }>();

  async function read(queue: string): Promise<WaitInputs> {
    const [waiting, meanMs, records] = await Promise.all([
      call(store.waitingByPriority(queue), READ_TIMEOUT_MS),
      call(store.meanDuration(queue), READ_TIMEOUT_MS),
      call(store.listProcesses(), READ_TIMEOUT_MS),
    ]);
    return { waiting, meanMs, ...capacityOf(records, queue) };
  }

  function refresh(queue: string): void {
    const entry = cache.get(queue) ?? { at: 0 };
    cache.set(queue, entry);
    if (entry.refreshing || Date.now() - entry.at < REFRESH_MS) return;
    entry.refreshing = true;
    read(queue)
      .then((inputs) => Object.assign(entry, { inputs, at: Date.now() }))
      .catch((error) => {
        entry.at = Date.now(); // a failed read waits its turn too
        logger.warn({ err: error, queue }, 'estimated wait: could not read the queue');
      })
      .finally(() => (entry.refreshing = false));
  }

  return {
    estimate(queue, priority, alreadyWaiting = false) {
      refresh(queue);
      const inputs = cache.get(queue)?.inputs;
      return inputs ? estimateWait(inputs, priority, alreadyWaiting) : null;
    },
  };
}
