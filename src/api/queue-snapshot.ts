// What /metrics says about the queues and the fleet, read from the store at
// most once per period however many scrapes arrive: counts and the oldest jobs
// per queue, and the process registry (live and silent workers). Concurrent
// scrapes share one read; a failed read serves the last snapshot, if any.
import type { Logger } from '../lib/logger.js';
import type { OldestJobs, ProcessListing, ProcessRecord, StateCounts, Store } from '../lib/store/index.js';
import type { StoreCall } from './store-call.js';

/** Shorter than a request's store timeout: a scrape must not wait out a backend that is down. */
const READ_TIMEOUT_MS = 2000;

export interface QueueSnapshot {
  counts: Map<string, StateCounts>;
  oldest: Map<string, OldestJobs>;
  /** The registry's live records, and its silent ones not yet forgotten. */
  fleet: ProcessListing;
}

export interface SnapshotOptions {
  store: Store;
  queues: readonly string[];
  call: StoreCall;
  logger: Logger;
  ttlMs: number;
  /** Told every fresh listing of the registry. */
  onProcesses?: (records: ProcessRecord[]) => void;
}

export function snapshotReader(options: SnapshotOptions): () => Promise<QueueSnapshot | undefined> {
  const { store, queues, call, logger, ttlMs } = options;
  let cached: { at: number; snapshot: QueueSnapshot } | undefined;
  let refreshing: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    const [counts, oldest, fleet] = await Promise.all([
      Promise.all(queues.map((queue) => call(store.counts(queue), READ_TIMEOUT_MS))),
      Promise.all(queues.map((queue) => call(store.oldest(queue), READ_TIMEOUT_MS))),
      call(store.listFleet(), READ_TIMEOUT_MS),
    ]);
    options.onProcesses?.(fleet.live);
    const byQueue = <T>(values: T[]) => new Map(queues.map((queue, i) => [queue, values[i]!]));
    cached = { at: Date.now(), snapshot: { counts: byQueue(counts), oldest: byQueue(oldest), fleet } };
  }

  return async () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      refreshing ??= refresh().catch((error) => logger.warn({ err: error }, 'metrics: could not read the queues'))
        .finally(() => (refreshing = undefined));
      await refreshing;
    }
    return cached?.snapshot;
  };
}
