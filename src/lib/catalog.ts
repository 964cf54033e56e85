// The queue catalog: which queues exist and what each one gets by default.
// The supervisor reads it to size workers; the api reads it to reject unknown queues.

export interface QueueDefaults {
  concurrency: number;
  maxMemoryMb: number;
  /** How long a draining worker may take to finish its active jobs before it is killed. */
  drainTimeoutMs: number;
  /** Lower numbers matter more; under host memory pressure the highest rank is held first. */
  rank: number;
}

// video's budget covers the worker process only: ffmpeg runs as a child with
// its own memory (BENCHMARKS.md, "Video worker memory": ~110 MB peak for the
// worker, ~155 MB for two ffmpeg children at 480p).
export const CATALOG = {
  video: { concurrency: 2, maxMemoryMb: 512, drainTimeoutMs: 120_000, rank: 2 },
  document: { concurrency: 3, maxMemoryMb: 512, drainTimeoutMs: 60_000, rank: 2 },
  ai: { concurrency: 4, maxMemoryMb: 512, drainTimeoutMs: 60_000, rank: 1 },
  'rag-sync': { concurrency: 1, maxMemoryMb: 384, drainTimeoutMs: 60_000, rank: 3 },
  maintenance: { concurrency: 1, maxMemoryMb: 256, drainTimeoutMs: 30_000, rank: 9 },
} as const satisfies Record<string, QueueDefaults>;

export type QueueName = keyof typeof CATALOG;
export const QUEUE_NAMES = Object.keys(CATALOG) as QueueName[];

export function isQueueName(name: string): name is QueueName {
  return Object.hasOwn(CATALOG, name);
}

/** `rag-sync` → `RAG_SYNC`, the form queue names take in environment variables. */
export function envName(queue: string): string {
  return queue.toUpperCase().replace(/-/g, '_');
}
