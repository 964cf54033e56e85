// The store contract: everything the api, the supervisor and the worker runtime
// may ask of the job engine. Implemented once over BullMQ (bullmq-store.ts) and
// proven by test/conformance against Redis, PostgreSQL and embedded PostgreSQL.
// Longer than our other files on purpose: the contract reads best as one documented page.
import type { JobLockLostError } from '../errors.js';
import type { CutOffChange } from './fence.js';
import type { JobController } from './job-controller.js';

export type { CutOffChange } from './fence.js';

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'];

export type TimelineEvent =
  | 'created' | 'delayed' | 'active' | 'progress' | 'retrying' | 'stalled' | 'completed' | 'failed' | 'cancelled' | 'webhook';

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
  /** The tenant of the key that enqueued it (README, Tenants); `default` for jobs from before tenants. */
  tenant: string;
  projectId: string | null;
  result: unknown;
  error: { message: string; stack?: string } | null;
  createdAt: string;
  runAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  timeline: TimelineEntry[];
}

/** What the event streams carry (events.ts): a job's state changes, progress and log lines. */
export type JobEventType = 'waiting' | 'delayed' | 'active' | 'progress' | 'completed' | 'failed' | 'stalled' | 'removed' | 'log';

export interface JobEvent {
  /** The store's stream id: a reconnecting subscriber names the last one it saw. */
  eventId: string;
  queue: string;
  jobId: string;
  type: JobEventType;
  /** progress: the value; completed: {result}; failed: {error}; log: {line}; delayed: {until}. */
  detail?: unknown;
}

/** Stream ids are `<ms>-<seq>` (Redis) or a number (PostgreSQL): ordered by their numeric parts. */
export function eventIdAfter(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}

export type JobEventListener = (event: JobEvent) => void;

/** Events from the store, so that they reach every api copy whichever worker made them. */
export interface JobEvents {
  /** Live events from now on, of one job when `jobId` is given; returns the unsubscribe. */
  subscribe(queue: string, listener: JobEventListener, jobId?: string): () => void;
  /** Stored events after `eventId`, oldest first; empty when the store no longer holds them. */
  since(queue: string, eventId: string, jobId?: string): Promise<JobEvent[]>;
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
  /** Scoped to the tenant: the same key in two tenants is two jobs. */
  dedupKey?: string;
  /** The default tenant when unset. */
  tenant?: string;
  projectId?: string;
  /** W3C trace context of the enqueue, so the worker's span continues its trace (src/lib/tracing.ts). */
  traceContext?: Record<string, string>;
  /** The id to create the job with (an idempotent request's reserved id); a job with this id already there is not added again. */
  jobId?: string;
  /** Where the job's final state is POSTed, signed (README, "Completion webhooks"). */
  callbackUrl?: string;
}

export interface EnqueueResult {
  /** The job's id and state, for an answer that needs no more (the api's 202). */
  id: string;
  state: JobState;
  /** The whole view; for a new job it is built on first read, so a caller that only needs id and state never pays for it. */
  job: JobView;
  /** false when a job with the same dedupKey was waiting, delayed or active, and is returned instead. */
  created: boolean;
}

export interface ListQuery {
  queue: string;
  /** Only this tenant's jobs; every tenant's when unset. */
  tenant?: string;
  state?: JobState;
  projectId?: string;
  limit: number;
  offset: number;
}

/** The list across queues (list-all.ts): newest first, by cursor. */
export interface AllJobsQuery {
  /** Only this queue's jobs (a filter on the scan). */
  queue?: string;
  /** Only this tenant's jobs; every tenant's when unset. */
  tenant?: string;
  state?: JobState;
  projectId?: string;
  name?: string;
  /** Epoch ms, inclusive. */
  createdAfter?: number;
  /** Epoch ms, exclusive. */
  createdBefore?: number;
  /** A nextCursor this store gave: the page goes on after it. */
  cursor?: string;
  limit: number;
}

export interface AllJobsPage {
  /** Views without timeline; fewer than the limit when a request's scan bound was reached first. */
  jobs: JobView[];
  /** null: nothing older matches. */
  nextCursor: string | null;
}

export type StateCounts = Record<JobState, number>;

/** Epoch ms; null when the queue has no such job. */
export interface OldestJobs {
  /** When the longest-running active job started. */
  activeSince: number | null;
  /** Since when the longest-waiting job has been ready to run (its run time, or its last start for a retry). */
  waitingSince: number | null;
}

/**
 * One worker process as the whole cluster sees it, refreshed by its heartbeat.
 * Its numbers are the registry's copy of the heartbeat's (WorkerStats in
 * src/supervisor/messages.ts, which this folder does not import): the ones the
 * api lists.
 */
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
  /** Jobs it runs at once (its queue's concurrency), for the estimated wait; absent in records of older workers. */
  concurrency?: number;
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
  /** Set by the worker while its supervisor holds its fetching (host memory pressure). */
  held?: boolean;
  /** That supervisor's autoscaler for this queue (README, Autoscaling). */
  scaling?: ScalingRecord;
  /** When the store received its last heartbeat (ms since the epoch, by the store's clock); set when listed, ignored when written. */
  lastSeen?: number;
}

/**
 * The registry as listed: the live records (heartbeat within its TTL), and the silent ones
 * (TTL past, last seen within the registry's forget time). A clean exit removes a record at
 * once, so only silence puts one in `silent`.
 */
export interface ProcessListing {
  live: ProcessRecord[];
  silent: ProcessRecord[];
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
  /** No retry follows if this attempt fails: BullMQ's own rule (attempts made + 1 ≥ attempts). */
  finalAttempt: boolean;
  timeoutMs: number;
  enqueuedAt: number;
  /** The enqueue's trace context, when it was traced. */
  traceContext?: Record<string, string>;
  /** Its tenant: jobs its handler enqueues, and the state it keeps, stay that tenant's. */
  tenant: string;
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
/**
 * How one attempt of a job ended: exactly one of these. The worker's pipeline
 * decides it, the consumer records it in BullMQ and reports it back once
 * BullMQ has.
 */
export type JobOutcome =
  | { kind: 'completed'; result: unknown }
  /** Failed; BullMQ runs it again after its backoff. */
  | { kind: 'retry'; error: Error }
  /** Failed for good: its last attempt, an UnrecoverableError, or invalid data. */
  | { kind: 'failed'; error: Error }
  /** Ran past its timeoutMs: a failure, retried like any other while attempts remain. */
  | { kind: 'timed-out'; error: Error; retry: boolean }
  /** A cancel request reached it while it ran: it ends `cancelled`, never retried. */
  | { kind: 'cancelled' };

/** Whether BullMQ runs the job again after this outcome. */
export function retries(outcome: JobOutcome): boolean {
  return outcome.kind === 'retry' || (outcome.kind === 'timed-out' && outcome.retry);
}

/**
 * Runs one attempt to its outcome, and never rejects. The controller is the
 * job's one abort switch: a cancel request aborts it with a JobCancelledError,
 * and the processor may abort it too (its timeout).
 */
export type JobProcessor = (job: ActiveJob, controller: JobController) => Promise<JobOutcome>;

/** What an idempotency key stands for: the job its first request created (or was about to). */
export interface IdempotencyRecord {
  queue: string;
  id: string;
  /** A digest of the request: the same key with another request is refused. */
  fingerprint: string;
  /** Set once the store said the job exists: a record without it may name a job never created. */
  created?: boolean;
}

/** A job a worker runs, with BullMQ's lock token for it: what it takes to give the job back at once should the worker die. */
export interface HeldJob {
  id: string;
  token: string;
}

/** The jobs a worker process held at its last heartbeat, kept past the process registry's TTL so a dead worker's jobs can be released. */
export interface ProcessClaims {
  /** The registry id, `host:pid:queue`. */
  id: string;
  host: string;
  pid: number;
  queue: string;
  held: HeldJob[];
}

export interface ConsumeOptions {
  concurrency: number;
  /**
   * Start at most this many jobs, then fetch nothing more (QUEUE_<NAME>_MAX_JOBS; 0: no limit).
   * A job fetched past it is given back to the queue before its handler runs.
   */
  maxJobs?: number;
  /** Recorded as BullMQ's processedBy on every job this consumer starts: `host:pid`. */
  workerName?: string;
  /** BullMQ's rate limiter: at most `max` jobs of this queue start per `durationMs`, across all its workers. */
  limiter?: { max: number; durationMs: number };
}

export interface ConsumerEvents {
  /**
   * An attempt's outcome, once BullMQ has recorded it; an attempt whose record
   * failed (its lock lost) is not reported, since another worker runs it again.
   */
  recorded?: (job: ActiveJob, outcome: JobOutcome) => void;
  /** A job's handler is about to run: `count` jobs started so far, this one included. */
  started?: (count: number) => void;
  /** An attempt given up because its lock could not be renewed: its outcome was discarded, never recorded. */
  lockLost?: (job: ActiveJob, reason: JobLockLostError) => void;
  /** The worker was cut off from its store (and stopped fetching), or it answers again (and fetching resumed). */
  storeCutOff?: (change: CutOffChange, jobs: { held: number; aborted: number }) => void;
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
  /** Jobs whose handler has started, given-back ones not counted. */
  readonly started: number;
  /** The jobs running now, with their lock tokens. */
  held(): HeldJob[];
  /** Whether the store has not answered for longer than the cut-off time (fetching stopped meanwhile). */
  readonly cutOff: boolean;
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
  /**
   * `tenant`, where given, scopes get, cancel and retry: another tenant's job is
   * not found, exactly as a job that does not exist.
   */
  get(queue: string, id: string, tenant?: string): Promise<JobView | undefined>;
  /** Newest first. */
  list(query: ListQuery): Promise<JobView[]>;
  /** Every queue's jobs, newest first, a bounded scan per page (AllJobsPage). Rejects a cursor it never gave with InvalidCursorError. */
  listAll(query: AllJobsQuery): Promise<AllJobsPage>;
  /** Waiting or delayed: becomes cancelled at once. Active: its signal fires and it ends cancelled. */
  cancel(queue: string, id: string, tenant?: string): Promise<JobView>;
  /** A failed or cancelled job goes back to waiting. */
  retry(queue: string, id: string, tenant?: string): Promise<JobView>;
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
  /** The queue's rolling mean attempt duration in ms (README, "Estimated wait"); null before any attempt ended. */
  meanDuration(queue: string): Promise<number | null>;
  /** Jobs ready to run by priority: index 0 those without one (taken first), then priorities 1 … 10. */
  waitingByPriority(queue: string): Promise<number[]>;
  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  isPaused(queue: string): Promise<boolean>;
  heartbeat(record: ProcessRecord, ttlMs: number): Promise<void>;
  removeProcess(id: string): Promise<void>;
  /** The live records only. */
  listProcesses(): Promise<ProcessRecord[]>;
  /** The live records and the silent ones, in one read (queue-stats, /metrics, readiness). */
  listFleet(): Promise<ProcessListing>;
  /** Records what a worker holds now (with its heartbeat); kept `ttlMs`, longer than the registry record. */
  claim(claims: ProcessClaims, ttlMs: number): Promise<void>;
  /** The claims left by the workers of a host: a supervisor starting there releases those of dead processes. */
  claimsOf(host: string): Promise<ProcessClaims[]>;
  /**
   * A worker that held these jobs is gone: each still active under its token goes back to
   * waiting now, as BullMQ's stalled check would move it (or fails, past the stall limit).
   * Resolves with the ids moved.
   */
  releaseJobs(queue: string, held: HeldJob[], reason: string): Promise<string[]>;
  /** Reserves an idempotency key (24 h, across api copies) unless it is live: then resolves with its record. */
  reserveIdempotencyKey(key: string, record: IdempotencyRecord, ttlMs: number): Promise<IdempotencyRecord | undefined>;
  markIdempotencyCreated(key: string, record: IdempotencyRecord): Promise<void>;
  consume(queue: string, processor: JobProcessor, options: ConsumeOptions, events?: ConsumerEvents): Consumer;
  /** Cron schedules, kept as BullMQ job schedulers (see schedules.ts). */
  readonly schedules: ScheduleStore;
  readonly events: JobEvents;
  /** Enqueue a tree of jobs: each parent runs after its children; children may sit on other queues. */
  enqueueFlow(flow: FlowInput): Promise<FlowResult>;
  /** A small durable key-value facility for handlers' own state (a sync cursor); values are JSON. */
  getValue<T = unknown>(key: string): Promise<T | undefined>;
  setValue(key: string, value: unknown): Promise<void>;
  /** Adds an entry to a job's timeline (a webhook delivery attempt); nothing when the job is gone. */
  addTimelineEntry(queue: string, id: string, event: TimelineEvent, detail: string): Promise<void>;
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
