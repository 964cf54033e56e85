// Filling a store with many jobs quickly, for the scale test and the benches.
import type { Store } from '../../../src/lib/store/index.js';

export const STATS_QUEUES = ['video', 'document', 'ai', 'rag-sync'] as const;

/** `total` waiting jobs spread evenly over the four queues, added in bulk. */
export async function fillQueues(store: Store, total: number, chunk = 1000): Promise<void> {
  const perQueue = Math.ceil(total / STATS_QUEUES.length);
  for (const queue of STATS_QUEUES) {
    for (let added = 0; added < perQueue; added += chunk) {
      const size = Math.min(chunk, perQueue - added);
      await store.enqueueBulk(Array.from({ length: size }, (_, i) => ({ queue, data: { n: added + i } })));
    }
  }
}
