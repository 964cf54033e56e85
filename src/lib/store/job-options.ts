// The BullMQ options every jobvisor job gets: the caller's choices over the deployment's
// defaults, with a cap on log lines. Flows, retries and schedules use them too. Retention is
// the deployment's, the same for every job, so it is the Worker's option (`workerRetention`),
// which BullMQ applies to any job that names none: not a copy in every job's options, which
// BullMQ's add script would decode and encode again for every job.
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
  /** A worker whose store has not answered this long stops fetching; half the lock time when unset. */
  storeCutOffMs?: number;
}

/** Log lines (user lines and timeline entries) kept per job; the oldest go first. */
const KEEP_LOG_LINES = 500;

export type JobOptions = JobsOptions & { timeoutMs: number; tenant: string; projectId?: string; traceContext?: Record<string, string>; callbackUrl?: string };

/** A job's priority when its enqueue names none: BullMQ's prioritized set, 1 the most urgent. */
export const DEFAULT_PRIORITY = 5;

/** BullMQ priority 0 is its plain wait list, which its workers take before any prioritized job; jobvisor's are 1 … 10. */
export const PRIORITIES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/**
 * BullMQ's deduplication id: the key within its tenant. Tenant names hold no `:`,
 * so no key of one tenant can spell another's.
 */
export function dedupId(tenant: string, dedupKey: string): string {
  return `${tenant}:${dedupKey}`;
}

/** The default backoff, made once per defaults: BullMQ copies options, never changes them. */
const backoffs = new WeakMap<JobDefaults, { type: 'exponential'; delay: number }>();

function defaultBackoff(defaults: JobDefaults) {
  let backoff = backoffs.get(defaults);
  if (!backoff) backoffs.set(defaults, (backoff = { type: 'exponential', delay: defaults.backoffMs }));
  return backoff;
}

export interface WorkerRetention {
  removeOnComplete: { count: number; age: number };
  removeOnFail: { count: number; age: number };
}

/**
 * Bounded retention, for the Worker (and for a job failed outside one): BullMQ
 * trims the finished set by count and age as each job ends, on Redis and
 * PostgreSQL alike.
 */
export function workerRetention({ keepCompleted, keepFailed }: Pick<JobDefaults, 'keepCompleted' | 'keepFailed'>): WorkerRetention {
  return {
    removeOnComplete: { count: keepCompleted.count, age: keepCompleted.ageSeconds },
    removeOnFail: { count: keepFailed.count, age: keepFailed.ageSeconds },
  };
}

/** Assigned field by field rather than spread: a bulk makes a thousand of these per request. */
export function jobOptions(defaults: JobDefaults, input: EnqueueInput, jobId: string): JobOptions {
  const delay = input.runAt ? Math.max(0, input.runAt.getTime() - Date.now()) : (input.delayMs ?? 0);
  const tenant = input.tenant ?? DEFAULT_TENANT;
  const options: JobOptions = {
    jobId,
    priority: input.priority ?? DEFAULT_PRIORITY,
    attempts: input.attempts ?? defaults.attempts,
    backoff: input.backoff ? { type: input.backoff.type, delay: input.backoff.delayMs } : defaultBackoff(defaults),
    keepLogs: KEEP_LOG_LINES, // a handler that reports progress every second must not grow its job without bound
    timeoutMs: input.timeoutMs ?? defaults.timeoutMs,
    tenant,
  };
  if (delay > 0) options.delay = delay;
  if (input.dedupKey) options.deduplication = { id: dedupId(tenant, input.dedupKey) };
  if (input.projectId) options.projectId = input.projectId;
  if (input.traceContext) options.traceContext = input.traceContext;
  if (input.callbackUrl) options.callbackUrl = input.callbackUrl;
  return options;
}

/** The options of a schedule's jobs: those of any job of that priority, less the id BullMQ gives per tick. */
export function templateOptions(defaults: JobDefaults, priority: number): JobsOptions {
  const { jobId: _jobId, ...opts } = jobOptions(defaults, { queue: '', data: null, priority }, '');
  return opts;
}
