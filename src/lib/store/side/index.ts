// What BullMQ does not keep for us, one file per concern (not per backend): a concern's Redis and
// PostgreSQL versions change together and must agree, so they sit beside their interface. Opened here.
import { ALL_JOBS_TABLES, pgAllJobs, redisAllJobs, type AllJobsIndex } from './all-jobs.js';
import { CANCELLATION_TABLES, pgCancellations, redisCancellations, type Cancellations } from './cancellations.js';
import { IDEMPOTENCY_TABLES, pgIdempotency, redisIdempotency, type Idempotency } from './idempotency.js';
import { JOB_INDEX_TABLES, pgJobIndex, redisJobIndex, type JobIndex } from './job-index.js';
import { KEY_VALUE_TABLES, pgKeyValue, redisKeyValue, type KeyValue } from './key-value.js';
import { openPgSide } from './pg.js';
import { openRedisSide } from './redis.js';
import { pgRegistry, redisRegistry, REGISTRY_TABLES, type ProcessRegistry } from './registry.js';
import { pgScheduleRuns, redisScheduleRuns, SCHEDULE_TABLES, type ScheduleRuns } from './schedule-runs.js';
import { pgThroughput, redisThroughput, THROUGHPUT_TABLES, type Throughput } from './throughput.js';

export type { AllJobsEntry, AllJobsIndex, AllJobsRange } from './all-jobs.js';
export type { Cancellations, Retention } from './cancellations.js';
export type { Idempotency } from './idempotency.js';
export type { IndexEntry, IndexScope, JobIndex } from './job-index.js';
export type { KeyValue } from './key-value.js';
export type { ProcessRegistry } from './registry.js';
export type { ScheduleRun, ScheduleRuns } from './schedule-runs.js';
export type { Throughput } from './throughput.js';

export interface SideData {
  readonly registry: ProcessRegistry;
  readonly cancellations: Cancellations;
  readonly jobIndex: JobIndex;
  readonly allJobs: AllJobsIndex;
  readonly throughput: Throughput;
  readonly scheduleRuns: ScheduleRuns;
  readonly keyValue: KeyValue;
  readonly idempotency: Idempotency;
  /** Resolves when the backend answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `failFast`: a command while disconnected fails at once instead of waiting in the client's queue (the api). */
export function openRedisSideData(url: string, prefix: string, failFast = false): SideData {
  const redis = openRedisSide(url, prefix, failFast);
  return {
    registry: redisRegistry(redis),
    cancellations: redisCancellations(redis),
    jobIndex: redisJobIndex(redis),
    allJobs: redisAllJobs(redis),
    throughput: redisThroughput(redis),
    scheduleRuns: redisScheduleRuns(redis),
    keyValue: redisKeyValue(redis),
    idempotency: redisIdempotency(redis),
    ping: redis.ping,
    close: redis.close,
  };
}

const PG_TABLES = [REGISTRY_TABLES, CANCELLATION_TABLES, JOB_INDEX_TABLES, ALL_JOBS_TABLES, THROUGHPUT_TABLES, KEY_VALUE_TABLES, SCHEDULE_TABLES, IDEMPOTENCY_TABLES];

export function openPgSideData(connectionString: string, schema: string, failFast = false): SideData {
  const db = openPgSide(connectionString, schema, PG_TABLES, failFast);
  return {
    registry: pgRegistry(db),
    cancellations: pgCancellations(db),
    jobIndex: pgJobIndex(db),
    allJobs: pgAllJobs(db),
    throughput: pgThroughput(db),
    scheduleRuns: pgScheduleRuns(db),
    keyValue: pgKeyValue(db),
    idempotency: pgIdempotency(db),
    ping: db.ping,
    close: db.close,
  };
}
