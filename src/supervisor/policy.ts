// The supervisor's decisions as pure functions of numbers: when to recycle,
// when a worker is dead, how long to wait before a restart, when a queue is
// crash-looping, when the host is short of memory. supervisor.ts applies them.
import type { RestartReason } from '../lib/metric-names.js';
import { replaceAtStarts } from './messages.js';

export interface PolicySettings {
  /** A worker silent this long (a blocked event loop) is killed and replaced. */
  heartbeatTimeoutMs: number;
  /** A worker that has not said `ready` this long after its fork is killed and replaced. */
  startTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Uptime after which a worker counts as healthy: the crash backoff and the crash-loop mark reset. */
  healthyUptimeMs: number;
  crashLoopWindowMs: number;
  crashLoopCrashes: number;
  /** RSS over budget for this many heartbeats in a row triggers a recycle. */
  overBudgetBeats: number;
  /** The host is under memory pressure below this share of its memory available (0–1). */
  minAvailableRatio: number;
  /** After a pressure recycle, wait this long before the next one, so memory can settle. */
  pressureCooldownMs: number;
}

export const DEFAULT_POLICY: PolicySettings = {
  heartbeatTimeoutMs: 30_000,
  startTimeoutMs: 60_000,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  healthyUptimeMs: 60_000,
  crashLoopWindowMs: 5 * 60_000,
  crashLoopCrashes: 5,
  overBudgetBeats: 3,
  minAvailableRatio: 0.1,
  pressureCooldownMs: 30_000,
};

/** backoffBaseMs × 2^n (1 s by default), capped at backoffMaxMs: n is the number of crashes since the queue was last healthy. */
export function backoffDelay(crashesSinceHealthy: number, policy: Pick<PolicySettings, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  return Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.min(crashesSinceHealthy, 30));
}

/**
 * What the supervisor remembers of a queue's crashes (liveness kills count too):
 * how many since it was last healthy, the n of the backoff, and when the recent ones were.
 */
export interface CrashHistory {
  sinceHealthy: number;
  times: readonly number[];
  lastAt?: number;
}

export const NO_CRASHES: CrashHistory = { sinceHealthy: 0, times: [] };

/** A crash now: the history after it, and how long the crashed worker's slot waits before a new worker. */
export function recordCrash(
  history: CrashHistory, now: number, policy: Pick<PolicySettings, 'backoffBaseMs' | 'backoffMaxMs' | 'crashLoopWindowMs'>,
): { history: CrashHistory; delayMs: number } {
  return {
    delayMs: backoffDelay(history.sinceHealthy, policy),
    history: { sinceHealthy: history.sinceHealthy + 1, times: [...recentCrashes(history.times, now, policy.crashLoopWindowMs), now], lastAt: now },
  };
}

/** The new count of consecutive heartbeats over budget, after one with this RSS. */
export function overBudgetStreak(streak: number, rss: number, budgetBytes: number): number {
  return rss > budgetBytes ? streak + 1 : 0;
}

/** Past the hard ceiling (factor × budget) a worker is killed at once: a graceful recycle would come too late. */
export function overHardCeiling(rss: number, budgetBytes: number, hardMemoryFactor: number): boolean {
  return rss > budgetBytes * hardMemoryFactor;
}

export interface WorkerFacts {
  overBudgetStreak: number;
  /** Jobs started; the worker itself stops fetching at max-jobs. */
  started: number;
  zombies: number;
  /** The worker said it reached max-jobs and fetches nothing more. */
  fetchingStopped?: boolean;
}

/** Why a running worker should be replaced gracefully now, if it should. */
export function recycleReason(worker: WorkerFacts, maxJobs: number, policy: Pick<PolicySettings, 'overBudgetBeats'>, concurrency = 1): RestartReason | undefined {
  if (worker.zombies > 0) return 'timeout';
  if (worker.overBudgetStreak >= policy.overBudgetBeats) return 'memory';
  if (maxJobs > 0 && (worker.fetchingStopped || worker.started >= replaceAtStarts(maxJobs, concurrency))) return 'max_jobs';
  return undefined;
}

/**
 * A worker is dead to us when it has been silent past the heartbeat timeout, or
 * when it has not become ready (and sent a first heartbeat) within the start timeout.
 */
export function livenessFailure(
  worker: { ready: boolean; forkedAt: number; lastHeartbeatAt?: number },
  now: number,
  policy: Pick<PolicySettings, 'heartbeatTimeoutMs' | 'startTimeoutMs'>,
): boolean {
  if (worker.ready && worker.lastHeartbeatAt !== undefined) return now - worker.lastHeartbeatAt > policy.heartbeatTimeoutMs;
  return now - worker.forkedAt > policy.startTimeoutMs;
}

/** Crash times still inside the window. */
export function recentCrashes(crashTimes: readonly number[], now: number, windowMs: number): number[] {
  return crashTimes.filter((at) => now - at < windowMs);
}

export function isCrashLooping(crashTimes: readonly number[], now: number, policy: Pick<PolicySettings, 'crashLoopWindowMs' | 'crashLoopCrashes'>): boolean {
  return recentCrashes(crashTimes, now, policy.crashLoopWindowMs).length >= policy.crashLoopCrashes;
}

/** A queue is healthy again once one of its workers has run this long since the last crash. */
export function isHealthy(workerStartedAt: number, lastCrashAt: number | undefined, now: number, healthyUptimeMs: number): boolean {
  return (lastCrashAt === undefined || workerStartedAt >= lastCrashAt) && now - workerStartedAt >= healthyUptimeMs;
}

export interface HostMemory {
  totalBytes: number;
  availableBytes: number;
}

export function underPressure(memory: HostMemory, minAvailableRatio: number): boolean {
  return memory.totalBytes > 0 && memory.availableBytes / memory.totalBytes < minAvailableRatio;
}

/** The worker to recycle first under pressure: the largest. */
export function largest<T extends { rss: number }>(workers: readonly T[]): T | undefined {
  return workers.reduce<T | undefined>((big, w) => (!big || w.rss > big.rss ? w : big), undefined);
}

/** The queue whose fetching is held under pressure: the lowest priority, i.e. the highest rank. */
export function queueToHold<T extends { name: string; rank: number }>(queues: readonly T[]): string | undefined {
  return queues.reduce<T | undefined>((low, q) => (!low || q.rank > low.rank ? q : low), undefined)?.name;
}

/**
 * V8's old-space limit for a worker: above its RSS budget, so the graceful
 * recycle comes first and an out-of-memory crash is only the backstop.
 */
export function maxOldSpaceMb(budgetMb: number): number {
  return Math.max(64, Math.round(budgetMb * 1.5));
}
