// What the parts of the BullMQ store share: its BullMQ objects (made once, on first use),
// its side data, its job defaults, and the batched writes to the creation index.
import type { FlowProducer, Queue } from 'bullmq';
import { createFlowProducer, createQueue, type Engine } from './connection.js';
import type { JobDefaults } from './job-options.js';
import type { AllJobsEntry, IndexEntry, SideData } from './side/index.js';
import type { JobView } from './types.js';

export interface StoreContext {
  readonly side: SideData;
  readonly defaults: JobDefaults;
  /** Throws StoreUnavailableError when a write could only wait in a client's queue (a fail-fast store, disconnected). */
  assertSendable(): void;
  queue(name: string): Queue;
  flowProducer(): FlowProducer;
  /** Adds to the creation index, batched (see batchPerTick). */
  indexCreated(queue: string, entries: IndexEntry[]): Promise<void>;
  /** Adds to the index of every queue's jobs, batched the same way. */
  indexAll(entries: AllJobsEntry[]): Promise<void>;
  /** One job's full view, as Store.get returns it. */
  get(queue: string, id: string): Promise<JobView | undefined>;
}

/** One Queue per name and one FlowProducer, made on first use and closed together. */
export class BullObjects {
  private readonly queues = new Map<string, Queue>();
  private producer?: FlowProducer;

  constructor(private readonly engine: Engine) {}

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = createQueue(this.engine, name);
      queue.on('error', () => {}); // surfaced by the failing call instead
      this.queues.set(name, queue);
    }
    return queue;
  }

  flowProducer(): FlowProducer {
    return (this.producer ??= createFlowProducer(this.engine));
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    if (this.producer) await Promise.allSettled([this.producer.close()]);
  }
}

/**
 * Entries wait for the end of the current tick and go in one write per queue: under load,
 * many concurrent enqueues cost one extra command, not one each.
 */
export function batchPerTick<E = IndexEntry>(write: (queue: string, entries: E[]) => Promise<void>) {
  const batches = new Map<string, { entries: E[]; written: Promise<void> }>();
  return (queue: string, entries: E[]): Promise<void> => {
    let batch = batches.get(queue);
    if (!batch) {
      const entriesOfBatch: E[] = [];
      const written = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          batches.delete(queue);
          write(queue, entriesOfBatch).then(resolve, reject);
        });
      });
      batch = { entries: entriesOfBatch, written };
      batches.set(queue, batch);
    }
    batch.entries.push(...entries);
    return batch.written;
  };
}
