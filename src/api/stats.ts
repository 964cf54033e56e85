// queue-stats and readiness: what the whole cluster looks like, read from the
// store and the process registry (its live and silent workers, hosts.ts). Every
// read is its own bounded call, made in parallel, so that the answer takes one
// round trip's time, not a sum.
import type { ProcessRecord, Store } from '../lib/store/index.js';
import { hostsOf, orphanedOf, unreachableHosts } from './hosts.js';
import { scalingOf } from './scaling.js';
import type { StoreCall } from './store-call.js';
import { SupervisorMemory } from './supervisor-memory.js';

/** A silent worker keeps its last record's numbers, under the state `unreachable`. */
function workerOf(record: ProcessRecord, now: number, silent = false) {
  const { host, pid, queue, rss, heapUsed, active, processed, failed } = record;
  return {
    host, pid, queue, state: silent ? 'unreachable' as const : record.state, rss, heapUsed, active, processed, failed,
    uptimeMs: Math.max(0, now - record.startedAt), lastSeen: record.lastSeen ? new Date(record.lastSeen).toISOString() : null,
    supervisor: record.supervisor ?? null, held: record.held ?? false,
  };
}

/** What the registry says of one queue across hosts: its live (not draining) workers, and whether one is held. */
export function workersOf(queue: string, records: readonly ProcessRecord[]) {
  const mine = records.filter((record) => record.queue === queue);
  return {
    liveWorkers: mine.filter((record) => record.state !== 'draining').length,
    held: mine.some((record) => record.held === true),
  };
}

/** A worker's RSS budget, and the hard ceiling past which the supervisor kills it rather than drain it. */
export interface MemoryLimits {
  maxMemoryMb: number;
  hardMemoryFactor: number;
}

/** As this api's configuration has them: give it the workers' QUEUE_<NAME>_MAX_MEMORY_MB and hard factor. */
function memoryOf(limits: MemoryLimits | undefined) {
  if (!limits) return null;
  const budgetBytes = limits.maxMemoryMb * 1024 * 1024;
  return { budgetBytes, ceilingBytes: Math.round(budgetBytes * limits.hardMemoryFactor) };
}

export interface QueueStatsOptions {
  /** Each queue's memory limits per worker process. */
  limits?: Partial<Record<string, MemoryLimits>>;
  /** The app's memory of what supervisors said; a fresh one knows only the records read now. */
  supervisors?: SupervisorMemory;
}

export async function queueStats(store: Store, queues: readonly string[], call: StoreCall, options: QueueStatsOptions = {}) {
  const { limits = {}, supervisors = new SupervisorMemory() } = options;
  const [listing, perQueue] = await Promise.all([
    call(store.listFleet()),
    Promise.all(queues.map((queue) => Promise.all([
      call(store.counts(queue)), call(store.lastMinute(queue)), call(store.isPaused(queue)),
    ]))),
  ]);
  const now = Date.now();
  const records = listing.live;
  supervisors.observe(records, now);
  return {
    queues: Object.fromEntries(queues.map((queue, i) => {
      const [counts, lastMinute, paused] = perQueue[i]!;
      const { restarts, crashLooping } = supervisors.queue(queue);
      return [queue, {
        counts, orphaned: orphanedOf(queue, counts.active, listing), lastMinute, paused, restarts, crashLooping,
        ...workersOf(queue, records), memory: memoryOf(limits[queue]), scaling: scalingOf(queue, records),
      }];
    })),
    hosts: hostsOf(listing),
    workers: [...records.map((record) => workerOf(record, now)), ...listing.silent.map((record) => workerOf(record, now, true))],
  };
}

/** Each queue's memory limits, from the configuration. */
export function limitsOf(queues: Record<string, MemoryLimits>): Record<string, MemoryLimits> {
  return Object.fromEntries(Object.entries(queues).map(([name, { maxMemoryMb, hardMemoryFactor }]) => [name, { maxMemoryMb, hardMemoryFactor }]));
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

/**
 * The expected queues with no live worker now and none seen within `graceMs`.
 * A store that restarts without persistence loses the registry; its workers
 * write their records again within a heartbeat, so a queue seen live a moment
 * ago is not reported missing in that gap (readiness would flap to 503).
 */
export function missingQueues(expected: readonly string[], live: ReadonlySet<string>, lastLive: Map<string, number>, now: number, graceMs: number): string[] {
  for (const queue of live) lastLive.set(queue, now);
  return expected.filter((queue) => !live.has(queue) && now - (lastLive.get(queue) ?? -Infinity) > graceMs);
}

/** How long a queue seen live stays ready through a gap in the registry: a few heartbeats. */
export const LIVE_GRACE_MS = 3000;

/**
 * Readiness: the store answers, every expected queue has a live worker, none is crash-looping.
 * Unreachable hosts are named but fail nothing: this api can serve while another host is gone.
 */
export async function readiness(store: Store, expectedQueues: readonly string[], call: StoreCall, checkTimeoutMs = 1000, lastLive = new Map<string, number>()) {
  const listing = call(store.listFleet(), checkTimeoutMs);
  const records = listing.then(({ live }) => live);
  records.catch(() => {}); // reported by the checks that read it
  const [storeCheck, workers, crashLooping] = await Promise.all([
    timed(async () => {
      await store.ping(checkTimeoutMs);
      return { ok: true };
    }),
    timed(async () => {
      const live = new Set((await records).filter((r) => r.state !== 'draining').map((r) => r.queue));
      const missing = missingQueues(expectedQueues, live, lastLive, Date.now(), LIVE_GRACE_MS);
      return { ok: missing.length === 0, missing, ...(missing.length ? { error: `no live worker for ${missing.join(', ')}` } : {}) };
    }),
    timed(async () => {
      const looping = [...new Set((await records).filter((r) => r.crashLooping).map((r) => r.queue))];
      return { ok: looping.length === 0, queues: looping, ...(looping.length ? { error: `crash-looping: ${looping.join(', ')}` } : {}) };
    }),
  ]);
  const checks = { store: storeCheck, workers, crashLooping };
  const failed = Object.entries(checks).filter(([, check]) => !check.ok).map(([name]) => name);
  const unreachable = await listing.then(unreachableHosts, () => null);
  return { ready: failed.length === 0, failed, checks, unreachableHosts: unreachable };
}
