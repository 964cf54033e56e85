// The store contract: everything the api, the supervisor and the worker runtime
// may ask of the job engine. Implemented once over BullMQ (bullmq-store.ts) and
// proven by test/conformance against Redis, PostgreSQL and embedded PostgreSQL.

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'];

export type TimelineEvent =
  | 'created' | 'delayed' | 'active' | 'progress' | 'retrying' | 'stalled' | 'completed' | 'failed' | 'cancelled';

export interface TimelineEntry {
  at: string;
  event: TimelineEvent;
  detail?: string;
}

export type Progress = number | { current: number; total: number; message?: string };

export interface BackoffSpec {
  type: 'exponential' | 'fixed';
  delayMs: number;
}

export interface JobView {
  id: string;
  queue: string;
  name: string;
  state: JobState;
  priority: number;
  progress: Progress;
  data: unknown;
  attempts: number;
  maxAttempts: number;
  backoff: BackoffSpec;
  timeoutMs: number;
  dedupKey: string | null;
  projectId: string | null;
  result: unknown;
  error: { message: string; stack?: string } | null;
  createdAt: string;
  runAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  timeline: TimelineEntry[];
}

export interface EnqueueInput {
  queue: string;
  name?: string;
  data: unknown;
  /** 1 highest … 10 lowest; default 5. */
  priority?: number;
  delayMs?: number;
  runAt?: Date;
  attempts?: number;
  backoff?: BackoffSpec;
  timeoutMs?: number;
  dedupKey?: string;
  projectId?: string;
}

export interface EnqueueResult {
  job: JobView;
  /** false when a job with the same dedupKey was waiting, delayed or active, and is returned instead. */
  created: boolean;
}

export interface ListQuery {
  queue: string;
  state?: JobState;
  projectId?: string;
  limit: number;
  offset: number;
}

export type StateCounts = Record<JobState, number>;

/** Epoch ms; null when the queue has no such job. */
export interface OldestJobs {
  /** When the longest-running active job started. */
  activeSince: number | null;
  /** Since when the longest-waiting job has been ready to run (its run time, or its last start for a retry). */
  waitingSince: number | null;
}

/** One worker process as the whole cluster sees it, refreshed by its heartbeat. */
export interface ProcessRecord {
  id: string;
  host: string;
  pid: number;
  queue: string;
  state: 'starting' | 'running' | 'draining';
  rss: number;
  heapUsed: number;
  active: number;
  processed: number;
  failed: number;
  startedAt: number;
  /**
   * Set by the supervisor that forked this worker (`host:pid`), with that
   * supervisor's restart counts for this queue since it started (by reason) and
   * whether it marks the queue crash-looping. Every live worker of a queue under
   * one supervisor repeats the same cumulative counts, so a queue's restarts are
   * summed over distinct `supervisor` values (take one record each), never over
   * records; recycled workers still count because the supervisor outlives them.
   */
  supervisor?: string;
  restarts?: Record<string, number>;
  crashLooping?: boolean;
  /** That supervisor's autoscaler for this queue (README, Autoscaling). */
  scaling?: ScalingRecord;
}

/** One queue's autoscaler under one supervisor: its range, desired and live counts, its last step or hold. */
export interface ScalingRecord {
  min: number;
  max: number;
  desired: number;
  live: number;
  lastDecision: { step: 'up' | 'down' | 'hold'; reason: string; detail: string; at: number; from: number; to: number } | null;
}

/** A job as a worker sees it while running it. */
export interface ActiveJob {
  id: string;
  queue: string;
  name: string;
  data: unknown;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  timeoutMs: number;
  enqueuedAt: number;
  progress(value: Progress): Promise<void>;
  log(line: string): Promise<void>;
  /** For the parent of a flow: its children's results, and the failures it was told to ignore. */
  children(): Promise<ChildrenOutcome>;
}

export interface ChildrenOutcome {
  /** Keyed by `<queue>:<id>`. */
  results: Record<string, unknown>;
  /** Children that failed for good, keyed by `<queue>:<id>`, with their failure message. */
  failures: Record<string, string>;
}

/** One node of a flow: the job, and the jobs that must finish before it runs. */
export interface FlowInput extends Omit<EnqueueInput, 'dedupKey' | 'runAt' | 'delayMs'> {
  children?: FlowInput[];
  /** Let the parent run even when this child fails for good; the parent sees the failure in children(). */
  ignoreFailure?: boolean;
}

/** A flow as enqueued: each node's job id, in the shape of the input. */
export interface FlowResult {
  queue: string;
  id: string;
  children: FlowResult[];
}
/** Runs one job; the signal fires when the job is cancelled or the worker is forced down. */
export type JobProcessor = (job: ActiveJob, signal: AbortSignal) => Promise<unknown>;

export interface ConsumeOptions {
  concurrency: number;
  /** BullMQ's rate limiter: at most `max` jobs of this queue start per `durationMs`, across all its workers. */
  limiter?: { max: number; durationMs: number };
}

export interface ConsumerEvents {
  completed?: (jobId: string, result: unknown) => void;
  failed?: (job: ActiveJob, error: Error, final: boolean) => void;
}

/** A running fetch loop over one queue, inside one worker process. */
export interface Consumer {
  /** Resolves once the fetch loop's connection is up: from then on the consumer takes jobs. */
  ready(): Promise<void>;
  /** Stop fetching, let active jobs finish, then release the connection. Idempotent. */
  drain(): Promise<void>;
  /** Stop now; active jobs are left to stalled recovery. Idempotent. */
  close(): Promise<void>;
  /** Whether fetching is held (host memory pressure); active jobs go on. */
  hold(held: boolean): void;
}

/**
 * The job engine as the api, the supervisor and the worker runtime see it, the same in
 * every mode.
 *
 * Deliberately not in the contract:
 * - exactly once: a job runs at least once, and a handler must bear a second run;
 * - arbitrary job updates, deleting a job by hand (cancel and retention remove jobs),
 *   and moving jobs between queues;
 * - BullMQ itself: its Queue and Job objects and its finer states (prioritized,
 *   waiting-children, paused) fold into the six JobStates; bull-board reaches BullMQ
 *   through dashboard.ts, beside this interface;
 * - how the side data is laid out (Redis keys, PostgreSQL tables), which may change;
 * - flows beyond a tree of enqueues whose parent runs after its children (enqueueFlow),
 *   rate limits beyond a per-consumer option, and job schedulers beyond named cron
 *   schedules (schedules).
 */
export interface Store {
  readonly mode: 'redis' | 'postgres' | 'embedded';
  enqueue(input: EnqueueInput): Promise<EnqueueResult>;
  enqueueBulk(inputs: EnqueueInput[]): Promise<EnqueueResult[]>;
  get(queue: string, id: string): Promise<JobView | undefined>;
  /** Newest first. */
  list(query: ListQuery): Promise<JobView[]>;
  /** Waiting or delayed: becomes cancelled at once. Active: its signal fires and it ends cancelled. */
  cancel(queue: string, id: string): Promise<JobView>;
  /** A failed or cancelled job goes back to waiting. */
  retry(queue: string, id: string): Promise<JobView>;
  counts(queue: string): Promise<StateCounts>;
  /** The oldest active and oldest waiting job's times: a few reads, whatever the backlog. */
  oldest(queue: string): Promise<OldestJobs>;
  /**
   * Jobs ready to run now, of any priority: not delayed, not a flow's parent waiting on
   * its children (both of which `counts` folds into waiting and delayed). A paused
   * queue's jobs still count; isPaused says whether any may start. One read.
   */
  readyCount(queue: string): Promise<number>;
  /** Jobs completed and failed in the last minute. */
  lastMinute(queue: string): Promise<{ completed: number; failed: number }>;
  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  isPaused(queue: string): Promise<boolean>;
  heartbeat(record: ProcessRecord, ttlMs: number): Promise<void>;
  removeProcess(id: string): Promise<void>;
  listProcesses(): Promise<ProcessRecord[]>;
  consume(queue: string, processor: JobProcessor, options: ConsumeOptions, events?: ConsumerEvents): Consumer;
  /** Cron schedules, kept as BullMQ job schedulers (see schedules.ts). */
  readonly schedules: ScheduleStore;
  /** Enqueue a tree of jobs: each parent runs after its children; children may sit on other queues. */
  enqueueFlow(flow: FlowInput): Promise<FlowResult>;
  /** A small durable key-value facility for handlers' own state (a sync cursor); values are JSON. */
  getValue<T = unknown>(key: string): Promise<T | undefined>;
  setValue(key: string, value: unknown): Promise<void>;
  /** Resolves when the backend answers; rejects with StoreUnavailableError otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  /** Idempotent; runs every cleanup step even if one fails. */
  close(): Promise<void>;
}

/** A recurring job: what the catalog declares, and what the api may change. */
export interface ScheduleSpec {
  name: string;
  queue: string;
  /** 5 fields, or 6 with seconds first. */
  cron: string;
  /** IANA zone; the server's zone when unset. */
  timezone?: string;
  payload: unknown;
  /** 1 highest … 10 lowest. */
  priority: number;
  enabled: boolean;
}

/** A schedule as stored: its definition, plus which declaration it came from. */
export interface ScheduleRecord extends ScheduleSpec {
  /** Hash of the declared definition this record was last reset to; a new hash means the catalog changed. */
  declaredHash: string;
  changedBy: 'catalog' | 'api';
  updatedAt: string;
}

export interface ScheduleView extends Omit<ScheduleSpec, 'timezone'> {
  /** null: the local zone of the process computing the next tick. */
  timezone: string | null;
  changedBy: 'catalog' | 'api';
  /** When the last job started (or was enqueued by run-now); null before the first. */
  lastRunAt: string | null;
  /** When the pending job is due; null when disabled. A past time means no worker has taken it yet. */
  nextRunAt: string | null;
  /** state is null once retention has removed the job. */
  lastJob: { id: string; state: JobState | null } | null;
}

/** Schedules over BullMQ's job schedulers: one scheduler per enabled schedule, id = name. */
export interface ScheduleStore {
  records(): Promise<ScheduleRecord[]>;
  /** Writes the record and brings its BullMQ scheduler in line (upserted when enabled, removed when not). */
  save(record: ScheduleRecord): Promise<void>;
  /** Removes the record and its scheduler. */
  remove(name: string): Promise<void>;
  list(): Promise<ScheduleView[]>;
  get(name: string): Promise<ScheduleView | undefined>;
  /** Enqueues one job now with the schedule's payload and priority; the schedule itself is untouched. */
  runNow(name: string): Promise<JobView>;
}
