// Every message between the supervisor and its worker processes. One union
// per direction, discriminated by `type`, so both sides switch exhaustively.
import type { RestartReason } from '../lib/metric-names.js';
import type { HeldJob, ScalingRecord } from '../lib/store/index.js';

/**
 * A worker's numbers, as its heartbeat reports them every second. The one
 * definition: the worker's runtime builds it, the supervisor reads it, and the
 * process registry keeps the part of it the api lists.
 */
export interface WorkerStats {
  rss: number;
  heapUsed: number;
  active: number;
  processed: number;
  failed: number;
  /** How late this beat came (the event loop busy); the supervisor logs the last one with a liveness kill. */
  eventLoopLagMs: number;
  /** Jobs whose handler ignored its aborted signal past the grace period and still runs. */
  zombies: number;
  /** Jobs whose handler has started in this process: QUEUE_<NAME>_MAX_JOBS counts these. */
  started: number;
  /** The running jobs with their lock tokens: should this process die, the supervisor gives them back at once. */
  held: HeldJob[];
  /** The store has not answered for longer than the cut-off time: the worker fetches nothing meanwhile. */
  storeCutOff: boolean;
}

export type HeartbeatMessage = { type: 'heartbeat' } & WorkerStats;

export interface ReadyMessage {
  type: 'ready';
}

/** The worker's prom-client registry as JSON, answering a MetricsRequest. */
export interface MetricsResponse {
  type: 'metrics';
  requestId: number;
  metrics: unknown[];
}

/**
 * The worker has started its QUEUE_<NAME>_MAX_JOBS-th job and fetches nothing more: it only
 * finishes what it runs. Sent at once, not with the next heartbeat.
 */
export interface FetchingStoppedMessage {
  type: 'fetching-stopped';
  started: number;
}

/** The worker's start failed (its fetch loop never came up): it exits with this (EX_TEMPFAIL) and never says ready. */
export const START_FAILED_EXIT = 75;

export type WorkerMessage = HeartbeatMessage | ReadyMessage | MetricsResponse | FetchingStoppedMessage;

/** Stop fetching, finish active jobs, exit 0. */
export interface DrainMessage {
  type: 'drain';
}

/** Hold or release fetching under host memory pressure; active jobs go on. */
export interface HoldMessage {
  type: 'hold';
  held: boolean;
}

/** Ask for `registry.getMetricsAsJSON()`; the supervisor aggregates every worker's answer. */
export interface MetricsRequest {
  type: 'metrics';
  requestId: number;
}

/** What the supervisor knows of this worker's queue, for the worker to publish in its registry record. */
export interface SupervisorStateMessage {
  type: 'state';
  supervisor: string;
  restarts: Record<RestartReason, number>;
  crashLooping: boolean;
  /** The queue's autoscaler on this host. */
  scaling?: ScalingRecord;
}

export type SupervisorMessage = DrainMessage | HoldMessage | MetricsRequest | SupervisorStateMessage;

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'heartbeat' || type === 'ready' || type === 'metrics' || type === 'fetching-stopped';
}

export function isSupervisorMessage(value: unknown): value is SupervisorMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'drain' || type === 'hold' || type === 'metrics' || type === 'state';
}

/**
 * The worker enforces max-jobs itself (it starts the N-th job, then fetches nothing); the
 * supervisor starts its replacement this many starts in, one round of its concurrency early,
 * so that the queue has a fetching worker when the old one stops.
 */
export function replaceAtStarts(maxJobs: number, concurrency: number): number {
  return Math.max(1, maxJobs - concurrency);
}
