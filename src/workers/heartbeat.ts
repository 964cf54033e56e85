// The worker's heartbeat: every interval, its numbers (WorkerStats) to the
// supervisor over IPC, and its record to the cluster-wide process registry
// with a TTL, so that a worker that stops beating drops out of the registry.
import type { Logger } from '../lib/logger.js';
import type { ProcessRecord, Store } from '../lib/store/index.js';
import type { WorkerMessage, WorkerStats } from '../supervisor/messages.js';
import type { JobCounters } from './pipeline.js';

export interface HeartbeatOptions {
  store: Pick<Store, 'heartbeat' | 'claim'>;
  record: ProcessRecord;
  counters: Readonly<JobCounters>;
  /** The consumer's starts, the jobs it runs now with their lock tokens, and whether it is cut off from the store. */
  jobs: () => Pick<WorkerStats, 'started' | 'held' | 'storeCutOff'>;
  /** How long the claims (the held jobs) outlive the last beat: past BullMQ's stalled check, they are moot. */
  claimTtlMs: number;
  /** IPC to the supervisor, when there is one. */
  send?: ((message: WorkerMessage) => void) | undefined;
  intervalMs: number;
  logger: Logger;
}

/** The registry's record lives this many beats past the last one written. */
const TTL_BEATS = 5;

export class Heartbeat {
  private readonly timer: NodeJS.Timeout;
  private lastBeat = Date.now();
  /** The registry write under way: a slow store gets one at a time, not a pile. */
  private writing?: Promise<void> | undefined;

  constructor(private readonly options: HeartbeatOptions) {
    this.timer = setInterval(() => void this.beat().catch((error) => options.logger.warn({ err: error }, 'heartbeat failed')), options.intervalMs);
    void this.beat().catch(() => {}); // the first one at once: a supervisor waits for it
  }

  /** Sends the numbers now, and writes the record unless a write is still under way; resolves when that write lands. */
  beat(): Promise<void> {
    const stats = this.sample();
    this.options.send?.({ type: 'heartbeat', ...stats });
    const { record } = this.options;
    const { rss, heapUsed, active, processed, failed } = stats;
    Object.assign(record, { rss, heapUsed, active, processed, failed } satisfies Partial<ProcessRecord>);
    if (record.state === 'starting') record.state = 'running';
    const claims = { id: record.id, host: record.host, pid: record.pid, queue: record.queue, held: stats.held };
    this.writing ??= Promise.all([
      this.options.store.heartbeat(record, this.options.intervalMs * TTL_BEATS),
      this.options.store.claim(claims, this.options.claimTtlMs),
    ]).then(() => {}).finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** No beat after this resolves: a record removed next stays removed. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writing?.catch(() => {});
  }

  private sample(): WorkerStats {
    const now = Date.now();
    const eventLoopLagMs = Math.max(0, now - this.lastBeat - this.options.intervalMs);
    this.lastBeat = now;
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heapUsed, eventLoopLagMs, ...this.options.counters, ...this.options.jobs() };
  }
}
