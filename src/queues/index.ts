// The queue registry: every queue jobvisor runs, one line each. A queue is a
// folder under src/queues/ (index.ts, schema.ts, handler.ts); to add one, make
// its folder and add it to QUEUE_LIST. The supervisor sizes workers from it,
// the api checks names, access and data with it, a worker loads its handler.
import ai from './ai/index.js';
import document from './document/index.js';
import maintenance from './maintenance/index.js';
import ragSync from './rag-sync/index.js';
import video from './video/index.js';
import webhooks from './webhooks/index.js';
import type { QueueDefinition } from './define.js';

const QUEUE_LIST = [video, document, ai, ragSync, maintenance, webhooks] as const;

export type QueueName = (typeof QUEUE_LIST)[number]['name'];
export const QUEUES = Object.fromEntries(QUEUE_LIST.map((q) => [q.name, q])) as { readonly [N in QueueName]: QueueDefinition<N> };
export const QUEUE_NAMES: readonly QueueName[] = QUEUE_LIST.map((q) => q.name);

export function isQueueName(name: string): name is QueueName {
  return Object.hasOwn(QUEUES, name);
}

/** `rag-sync` → `RAG_SYNC`, the form queue names take in environment variables. */
export function envName(queue: string): string {
  return queue.toUpperCase().replace(/-/g, '_');
}
