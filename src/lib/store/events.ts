// A queue's events as jobvisor shows them live (README, "Event streams"): read from
// the store's own event stream (BullMQ's QueueEvents, on Redis and PostgreSQL alike),
// so every api copy on every host sees every worker's events. One reader per queue
// per process, whatever the number of subscribers: a subscriber costs a set entry.
import type { Queue, QueueEvents } from 'bullmq';
import { createQueueEvents, type Engine } from './connection.js';
import type { JobEvent, JobEventListener, JobEventType } from './types.js';

const FORWARDED: readonly JobEventType[] = ['waiting', 'delayed', 'active', 'progress', 'completed', 'failed', 'stalled', 'removed', 'log'];
/** A replay reads at most this many stored events: the stream itself is capped by BullMQ (10,000 by default). */
const REPLAY_MAX = 10_000;

/** The fields an event carries beyond its job id, as jobvisor names them. */
function detailOf(type: JobEventType, args: Record<string, unknown>): unknown {
  switch (type) {
    case 'progress': return args.data;
    case 'completed': return { result: args.returnvalue };
    case 'failed': return { error: args.failedReason };
    case 'log': return { line: args.line };
    case 'delayed': return { until: new Date(Number(args.delay)).toISOString() };
    default: return undefined;
  }
}

function toEvent(queue: string, type: JobEventType, args: Record<string, unknown>, eventId: string): JobEvent | undefined {
  if (typeof args.jobId !== 'string') return undefined;
  const detail = detailOf(type, args);
  return { eventId, queue, jobId: args.jobId, type, ...(detail === undefined ? {} : { detail }) };
}

interface QueueReader {
  events: QueueEvents;
  all: Set<JobEventListener>;
  byJob: Map<string, Set<JobEventListener>>;
}

export class EventHub {
  private readonly readers = new Map<string, QueueReader>();

  constructor(private readonly engine: Engine, private readonly queueOf: (name: string) => Queue) {}

  /** Live events of a queue (of one job when `jobId` is given), from now on. */
  subscribe(queue: string, listener: JobEventListener, jobId?: string): () => void {
    const reader = this.reader(queue);
    if (jobId === undefined) {
      reader.all.add(listener);
      return () => void reader.all.delete(listener);
    }
    const set = reader.byJob.get(jobId) ?? new Set();
    reader.byJob.set(jobId, set.add(listener));
    return () => {
      set.delete(listener);
      if (set.size === 0 && reader.byJob.get(jobId) === set) reader.byJob.delete(jobId);
    };
  }

  /** Stored events after `eventId`, oldest first (none when the stream no longer holds them). */
  async since(queue: string, eventId: string, jobId?: string): Promise<JobEvent[]> {
    const { backend } = this.queueOf(queue);
    const found: JobEvent[] = [];
    for (let id = eventId, read = 0; read < REPLAY_MAX;) {
      // A 1 ms block: this read shares the queue's connection and must not hold it.
      const data = await backend.readEvents(id, 1);
      const entries = data?.[0]?.[1] ?? [];
      if (entries.length === 0) break;
      for (const [entryId, fields] of entries) {
        id = entryId;
        read++;
        const event = this.parse(queue, entryId, fields);
        if (event && (jobId === undefined || event.jobId === jobId)) found.push(event);
      }
    }
    return found;
  }

  async close(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    await Promise.allSettled(readers.map((r) => r.events.close()));
  }

  private parse(queue: string, eventId: string, fields: string[]): JobEvent | undefined {
    const args: Record<string, unknown> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) args[fields[i]!] = fields[i + 1];
    const type = args.event as JobEventType;
    if (!FORWARDED.includes(type)) return undefined;
    for (const key of ['data', 'returnvalue'] as const) {
      if (typeof args[key] === 'string') {
        try {
          args[key] = JSON.parse(args[key] as string);
        } catch {
          // left as stored
        }
      }
    }
    return toEvent(queue, type, args, eventId);
  }

  private reader(queue: string): QueueReader {
    let reader = this.readers.get(queue);
    if (reader) return reader;
    const events = createQueueEvents(this.engine, queue);
    events.on('error', () => {}); // the reader reconnects by itself; subscribers just see nothing meanwhile
    const made: QueueReader = { events, all: new Set(), byJob: new Map() };
    for (const type of FORWARDED) {
      events.on(type as 'active', (args: Record<string, unknown>, eventId: string) => {
        const event = toEvent(queue, type, args, eventId);
        if (event) this.dispatch(made, event);
      });
    }
    this.readers.set(queue, made);
    return made;
  }

  private dispatch(reader: QueueReader, event: JobEvent): void {
    for (const listener of reader.all) listener(event);
    for (const listener of reader.byJob.get(event.jobId) ?? []) listener(event);
  }
}
