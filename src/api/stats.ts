// queue-stats and readiness: what the whole cluster looks like, read from the
// store and the process registry. Every read is its own bounded call, made in
// parallel, so that the answer takes one round trip's time, not a sum.
import type { ProcessRecord, Store } from '../lib/store/index.js';
import { RESTART_REASONS } from '../lib/metric-names.js';
import { scalingOf } from './scaling.js';
import type { StoreCall } from './store-call.js';

/**
 * Every worker of one supervisor carries that supervisor's running count for its
 * queue (ProcessRecord.restarts), so the counts are summed over supervisors, once each.
 */
function restartsOf(queue: string, records: ProcessRecord[]): Record<string, number> {
  const totals: Record<string, number> = Object.fromEntries(RESTART_REASONS.map((reason) => [reason, 0]));
  const counted = new Set<string>();
  for (const record of records) {
    const supervisor = record.supervisor ?? record.id;
    if (record.queue !== queue || !record.restarts || counted.has(supervisor)) continue;
    counted.add(supervisor);
    for (const [reason, count] of Object.entries(record.restarts)) totals[reason] = (totals[reason] ?? 0) + count;
  }
  return totals;
}

function workerOf(record: ProcessRecord, now: number) {
  const { host, pid, queue, state, rss, heapUsed, active, processed, failed } = record;
  return { host, pid, queue, state, rss, heapUsed, active, processed, failed, uptimeMs: Math.max(0, now - record.startedAt) };
}

export async function queueStats(store: Store, queues: readonly string[], call: StoreCall) {
  const [records, perQueue] = await Promise.all([
    call(store.listProcesses()),
    Promise.all(queues.map((queue) => Promise.all([
      call(store.counts(queue)), call(store.lastMinute(queue)), call(store.isPaused(queue)),
    ]))),
  ]);
  const now = Date.now();
  return {
    queues: Object.fromEntries(queues.map((queue, i) => {
      const [counts, lastMinute, paused] = perQueue[i]!;
      return [queue, { counts, lastMinute, paused, restarts: restartsOf(queue, records), scaling: scalingOf(queue, records) }];
    })),
    workers: records.map((record) => workerOf(record, now)),
  };
}

export type Check = { ok: boolean; ms: number; error?: string } & Record<string, unknown>;

async function timed(run: () => Promise<{ ok: boolean } & Record<string, unknown>>): Promise<Check> {
  const started = Date.now();
  try {
    return { ...(await run()), ms: Date.now() - started };
  } catch (error) {
    return { ok: false, ms: Date.now() - started, error: (error as Error).message };
  }
}

/** Readiness: the store answers, every expected queue has a live worker, none is crash-looping. */
export async function readiness(store: Store, expectedQueues: readonly string[], call: StoreCall, checkTimeoutMs = 1000) {
  const records = call(store.listProcesses(), checkTimeoutMs);
  records.catch(() => {}); // reported by the checks that read it
  const [storeCheck, workers, crashLooping] = await Promise.all([
    timed(async () => {
      await store.ping(checkTimeoutMs);
      return { ok: true };
    }),
    timed(async () => {
      const live = new Set((await records).filter((r) => r.state !== 'draining').map((r) => r.queue));
      const missing = expectedQueues.filter((queue) => !live.has(queue));
      return { ok: missing.length === 0, missing, ...(missing.length ? { error: `no live worker for ${missing.join(', ')}` } : {}) };
    }),
    timed(async () => {
      const looping = [...new Set((await records).filter((r) => r.crashLooping).map((r) => r.queue))];
      return { ok: looping.length === 0, queues: looping, ...(looping.length ? { error: `crash-looping: ${looping.join(', ')}` } : {}) };
    }),
  ]);
  const checks = { store: storeCheck, workers, crashLooping };
  const failed = Object.entries(checks).filter(([, check]) => !check.ok).map(([name]) => name);
  return { ready: failed.length === 0, failed, checks };
}
