// The body of a worker process: one queue, one consumer at the queue's
// concurrency, each job run as a straight pipeline (validate → start timeout →
// perform → normalise outcome), and a heartbeat to the supervisor and to the
// process registry every second.
import os from 'node:os';
import { MAX_TIMER_MS } from '../lib/config.js';
import { JobCancelledError, JobTimeoutError, UnrecoverableError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { HeartbeatMessage, WorkerMessage } from '../supervisor/messages.js';
import { workerMetrics, type WorkerMetrics } from './metrics.js';
import type { ActiveJob, Consumer, ProcessRecord, Store } from '../lib/store/index.js';
import type { RunnableHandler } from '../queues/define.js';

export interface RuntimeOptions {
  store: Store;
  queue: string;
  handler: RunnableHandler;
  concurrency: number;
  logger: Logger;
  /** IPC to the supervisor, when there is one. */
  send?: (message: WorkerMessage) => void;
  heartbeatMs?: number;
  /** BullMQ's rate limiter on this queue (QUEUE_<NAME>_RATE_LIMIT). */
  limiter?: { max: number; durationMs: number };
  /** How long after its signal fired a handler may run on before it counts as a zombie. */
  zombieGraceMs?: number;
  metrics?: WorkerMetrics;
}

export interface RuntimeStats {
  active: number;
  processed: number;
  failed: number;
  zombies: number;
}

export interface Runtime {
  readonly stats: RuntimeStats;
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

function validate(handler: RunnableHandler, data: unknown): unknown {
  if (!handler.schema) return data; // a handler written in plain JavaScript may still leave it out
  const parsed = handler.schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'data';
  throw new UnrecoverableError(`invalid job data: ${where}: ${issue?.message ?? 'invalid'}`);
}

export function startRuntime(options: RuntimeOptions): Runtime {
  const { store, queue, handler, logger } = options;
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const zombieGraceMs = options.zombieGraceMs ?? 5000;
  const metrics = options.metrics ?? workerMetrics();
  const observed = { wait: metrics.wait.labels({ queue }), duration: metrics.duration.labels({ queue }), completed: metrics.completed.labels({ queue }) };
  const stats: RuntimeStats = { active: 0, processed: 0, failed: 0, zombies: 0 };
  const record: ProcessRecord = {
    id: `${os.hostname()}:${process.pid}:${queue}`, host: os.hostname(), pid: process.pid, queue, state: 'starting',
    rss: 0, heapUsed: 0, active: 0, processed: 0, failed: 0, startedAt: Date.now(),
  };

  /** Watch a handler that outlives its aborted signal, so the supervisor can replace this process. */
  function watchForZombie(work: Promise<unknown>): void {
    let settled = false;
    let counted = false;
    void work.finally(() => {
      settled = true;
      if (counted) stats.zombies--;
    }).catch(() => {});
    setTimeout(() => {
      if (settled) return;
      counted = true;
      stats.zombies++;
      logger.warn({ queue, zombies: stats.zombies }, 'a handler ignored its aborted signal and still runs');
    }, zombieGraceMs).unref();
  }

  async function perform(job: ActiveJob, storeSignal: AbortSignal): Promise<unknown> {
    const data = validate(handler, job.data);
    const controller = new AbortController();
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    const onStoreAbort = () => controller.abort(new JobCancelledError());
    storeSignal.addEventListener('abort', onStoreAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new JobTimeoutError(job.timeoutMs)), Math.min(job.timeoutMs, MAX_TIMER_MS));
    const work = Promise.resolve().then(() => handler.run(data, {
      jobId: job.id, name: job.name, attempt: job.attempt, signal: controller.signal, progress: job.progress, log: job.log,
      get logger() {
        return logger.child({ jobId: job.id }); // built on use: most handlers never log
      },
      enqueueFlow: (flow) => store.enqueueFlow(flow),
      state: { get: (key) => store.getValue(key), set: (key, value) => store.setValue(key, value) },
      childrenResults: () => job.children(),
    }));
    try {
      return await Promise.race([work, aborted]);
    } finally {
      clearTimeout(timer);
      storeSignal.removeEventListener('abort', onStoreAbort);
      if (controller.signal.aborted) watchForZombie(work);
    }
  }

  async function runJob(job: ActiveJob, signal: AbortSignal): Promise<unknown> {
    const started = Date.now();
    stats.active++;
    observed.wait.observe(Math.max(0, started - job.enqueuedAt) / 1000);
    try {
      return await perform(job, signal); // whatever it throws, the store's consumer coerces
    } finally {
      stats.active--;
      observed.duration.observe((Date.now() - started) / 1000);
    }
  }

  const consumer: Consumer = store.consume(queue, runJob, {
    concurrency: options.concurrency, ...(options.limiter ? { limiter: options.limiter } : {}),
  }, {
    completed: () => {
      stats.processed++;
      observed.completed.inc();
    },
    failed: (job, error, final) => {
      stats.processed++;
      stats.failed++;
      metrics.failed.inc({ queue, final: String(final) });
      logger.info({ queue, jobId: job.id, attempt: job.attempt, final, error: error.message }, 'job attempt failed');
    },
  });

  let lastBeat = Date.now();
  async function heartbeat(): Promise<void> {
    const now = Date.now();
    const eventLoopLagMs = Math.max(0, now - lastBeat - heartbeatMs);
    lastBeat = now;
    const { rss, heapUsed } = process.memoryUsage();
    const message: HeartbeatMessage = { type: 'heartbeat', rss, heapUsed, eventLoopLagMs, ...stats };
    options.send?.(message);
    Object.assign(record, { rss, heapUsed, active: stats.active, processed: stats.processed, failed: stats.failed });
    if (record.state === 'starting') record.state = 'running';
    await store.heartbeat(record, heartbeatMs * 5);
  }
  const beat = setInterval(() => void heartbeat().catch((e) => logger.warn({ err: e }, 'heartbeat failed')), heartbeatMs);
  void heartbeat().catch(() => {});

  let stopping: Promise<void> | undefined;
  async function stop(how: 'drain' | 'close'): Promise<void> {
    record.state = 'draining';
    await heartbeat().catch(() => {});
    try {
      await (how === 'drain' ? consumer.drain() : consumer.close());
    } finally {
      clearInterval(beat);
      await store.removeProcess(record.id).catch(() => {});
    }
  }

  return {
    stats,
    metrics,
    hold: (held) => consumer.hold(held),
    ready: () => consumer.ready(),
    annotate: (fields) => void Object.assign(record, fields),
    drain: () => (stopping ??= stop('drain')),
    close: () => (stopping ??= stop('close')),
  };
}
