// The BullMQ options every jobvisor job gets: the caller's choices over the deployment's
// defaults, with retention and a cap on log lines. Flows, retries and schedules use them too.
import type { JobsOptions } from 'bullmq';
import { DEFAULT_TENANT } from '../tenants.js';
import type { Retention } from './side/index.js';
import type { EnqueueInput } from './types.js';

export interface JobDefaults {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  keepCompleted: Retention;
  keepFailed: Retention;
  lockMs: number;
  stalledIntervalMs: number;
}

/** Log lines (user lines and timeline entries) kept per job; the oldest go first. */
const KEEP_LOG_LINES = 500;

export type JobOptions = JobsOptions & { timeoutMs: number; tenant: string; projectId?: string; traceContext?: Record<string, string>; callbackUrl?: string };

/**
 * BullMQ's deduplication id: the key within its tenant. Tenant names hold no `:`,
 * so no key of one tenant can spell another's.
 */
export function dedupId(tenant: string, dedupKey: string): string {
  return `${tenant}:${dedupKey}`;
}

export function jobOptions(defaults: JobDefaults, input: EnqueueInput, jobId: string): JobOptions {
  const delay = input.runAt ? Math.max(0, input.runAt.getTime() - Date.now()) : (input.delayMs ?? 0);
  const backoff = input.backoff ?? { type: 'exponential', delayMs: defaults.backoffMs };
  const { keepCompleted, keepFailed } = defaults;
  const tenant = input.tenant ?? DEFAULT_TENANT;
  return {
    jobId,
    priority: input.priority ?? 5,
    ...(delay > 0 ? { delay } : {}),
    attempts: input.attempts ?? defaults.attempts,
    backoff: { type: backoff.type, delay: backoff.delayMs },
    removeOnComplete: { count: keepCompleted.count, age: keepCompleted.ageSeconds },
    removeOnFail: { count: keepFailed.count, age: keepFailed.ageSeconds },
    keepLogs: KEEP_LOG_LINES, // a handler that reports progress every second must not grow its job without bound
    ...(input.dedupKey ? { deduplication: { id: dedupId(tenant, input.dedupKey) } } : {}),
    timeoutMs: input.timeoutMs ?? defaults.timeoutMs,
    tenant,
    ...(input.projectId ? { projectId: input.projectId } : {}),
    ...(input.traceContext ? { traceContext: input.traceContext } : {}),
    ...(input.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
  };
}

/** The options of a schedule's jobs: those of any job of that priority, less the id BullMQ gives per tick. */
export function templateOptions(defaults: JobDefaults, priority: number): JobsOptions {
  const { jobId: _jobId, ...opts } = jobOptions(defaults, { queue: '', data: null, priority }, '');
  return opts;
}
