// The body of a worker process, put together from its parts: one consumer at
// the queue's concurrency running each job through the pipeline
// (pipeline.ts), the heartbeat (heartbeat.ts), and the lifecycle below:
// ready, hold, drain, close.
import os from 'node:os';
import type { Logger } from '../lib/logger.js';
import type { Consumer, ConsumeOptions, ProcessRecord, Store } from '../lib/store/index.js';
import type { RunnableHandler } from '../queues/define.js';
import { replaceAtStarts, type WorkerMessage } from '../supervisor/messages.js';
import { Heartbeat } from './heartbeat.js';
import { workerMetrics, type WorkerMetrics } from './metrics.js';
import { JobPipeline, type JobCounters } from './pipeline.js';
import { fencingEvents } from './fencing.js';

export interface RuntimeOptions {
  store: Store;
  queue: string;
  handler: RunnableHandler;
  concurrency: number;
  logger: Logger;
  /** IPC to the supervisor, when there is one. */
  send?: ((message: WorkerMessage) => void) | undefined;
  heartbeatMs?: number;
  /** BullMQ's rate limiter on this queue (QUEUE_<NAME>_RATE_LIMIT). */
  limiter?: { max: number; durationMs: number };
  /** How long after its signal fired a handler may run on before it counts as a zombie. */
  zombieGraceMs?: number;
  metrics?: WorkerMetrics;
  /** QUEUE_<NAME>_MAX_JOBS: start at most this many jobs (0: no limit), then say so and fetch nothing more. */
  maxJobs?: number;
  /** How long this worker's claims on its running jobs outlive its last heartbeat. */
  claimTtlMs?: number;
}

export interface Runtime {
  readonly stats: Readonly<JobCounters>;
  readonly metrics: WorkerMetrics;
  hold(held: boolean): void;
  /** Resolves once the consumer takes jobs (a supervisor drains the worker this one replaces only then). */
  ready(): Promise<void>;
  /** Fields the supervisor owns (its restart counts, crash-loop mark), published with the next heartbeat. */
  annotate(fields: Pick<ProcessRecord, 'supervisor' | 'restarts' | 'crashLooping' | 'scaling'>): void;
  /** Stop fetching, finish active jobs, leave the registry. Idempotent. */
  drain(): Promise<void>;
  /** Stop now; active jobs are left to stalled recovery. Idempotent. */
  close(): Promise<void>;
}

export function startRuntime(options: RuntimeOptions): Runtime {
  const { store, queue, logger } = options;
  const metrics = options.metrics ?? workerMetrics();
  const pipeline = new JobPipeline({ store, queue, handler: options.handler, logger, metrics, zombieGraceMs: options.zombieGraceMs ?? 5000 });
  const maxJobs = options.maxJobs ?? 0;
  const consumeOptions: ConsumeOptions = {
    concurrency: options.concurrency, maxJobs, workerName: `${os.hostname()}:${process.pid}`, ...(options.limiter ? { limiter: options.limiter } : {}),
  };
  let heartbeat: Heartbeat | undefined;
  const started = (count: number) => {
    // The supervisor starts the replacement a little before the last job, and learns of the last one at once.
    if (maxJobs > 0 && count === replaceAtStarts(maxJobs, options.concurrency)) void heartbeat?.beat().catch(() => {});
    if (maxJobs > 0 && count === maxJobs) options.send?.({ type: 'fetching-stopped', started: count });
  };
  const consumer = store.consume(queue, pipeline.run, consumeOptions, { recorded: pipeline.recorded, started, ...fencingEvents(queue, logger, metrics) });
  const record = { ...processRecord(queue), concurrency: options.concurrency };
  heartbeat = new Heartbeat({
    store, record, counters: pipeline.counters, send: options.send, intervalMs: options.heartbeatMs ?? 1000, logger,
    jobs: () => ({ started: consumer.started, held: consumer.held(), storeCutOff: consumer.cutOff }), claimTtlMs: options.claimTtlMs ?? 10 * 60_000,
  });
  let stopping: Promise<void> | undefined;
  const stop = (how: 'drain' | 'close') => (stopping ??= shutdown({ how, consumer, heartbeat: heartbeat!, record, store, logger }));
  return {
    stats: pipeline.counters,
    metrics,
    hold: (held) => {
      consumer.hold(held);
      record.held = held; // published with the next heartbeat, for the fleet page
    },
    ready: () => consumer.ready(),
    annotate: (fields) => void Object.assign(record, fields),
    drain: () => stop('drain'),
    close: () => stop('close'),
  };
}

function processRecord(queue: string): ProcessRecord {
  const host = os.hostname();
  return {
    id: `${host}:${process.pid}:${queue}`, host, pid: process.pid, queue, state: 'starting',
    rss: 0, heapUsed: 0, active: 0, processed: 0, failed: 0, startedAt: Date.now(),
  };
}

interface Stopping {
  how: 'drain' | 'close';
  consumer: Consumer;
  heartbeat: Heartbeat;
  record: ProcessRecord;
  store: Store;
  logger: Logger;
}

/** Every step runs, whichever failed before it: a worker that cannot reach the store still stops its timers. */
async function shutdown({ how, consumer, heartbeat, record, store, logger }: Stopping): Promise<void> {
  record.state = 'draining';
  const steps: [string, () => Promise<void>][] = [
    ['announce draining', () => heartbeat.beat()],
    [how, () => (how === 'drain' ? consumer.drain() : consumer.close())],
    ['stop the heartbeat', () => heartbeat.stop()],
    ['leave the registry', () => store.removeProcess(record.id)],
  ];
  for (const [step, run] of steps) {
    try {
      await run();
    } catch (error) {
      logger.warn({ err: error, step }, 'a step of stopping the worker failed');
    }
  }
}
