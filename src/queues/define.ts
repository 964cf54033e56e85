// What a queue is: its defaults, who may enqueue to it, its data schema and
// its handler. A queue's folder default-exports one `defineQueue(...)`, and its
// handler module default-exports one `defineHandler(...)`. The definition loads
// no handler code: the api and the supervisor read it without pulling in ffmpeg
// or a PDF parser, and a worker imports only its own queue's handler.
import type { ZodType } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { ChildrenOutcome, FlowInput, FlowResult, JobView, Progress, ScheduleSpec, TimelineEvent } from '../lib/store/index.js';

export interface QueueDefaults {
  /** Jobs at once in one worker process. */
  concurrency: number;
  /** RSS budget of one worker process before a graceful recycle. */
  maxMemoryMb: number;
  /** How long a draining worker may take to finish its active jobs before it is killed. */
  drainTimeoutMs: number;
  /** Lower numbers matter more; under host memory pressure the highest rank is held first. */
  rank: number;
  /** Autoscaling adds a process when the oldest ready job has waited longer than this (README, Autoscaling). */
  targetWaitMs: number;
  /** Worker processes per host, a range to autoscale; 1 when unset. QUEUE_<NAME>_PROCESSES overrides it. */
  processes?: { min: number; max: number };
}

/** Who may enqueue: any key, or admin keys only (housekeeping that deletes files). */
export type QueueAccess = 'user' | 'admin';

export interface QueueDefinition<N extends string = string, T = any> {
  name: N;
  defaults: QueueDefaults;
  access: QueueAccess;
  /** The job's data contract, checked by the api at enqueue and by the worker before `run`. */
  schema: ZodType<T, any>;
  /** The handler module, loaded only by this queue's worker processes. */
  handler: () => Promise<unknown>;
  /** Cron schedules that enqueue to this queue; `CRON_<NAME>` overrides one (README, Schedules). */
  schedules?: readonly Omit<ScheduleSpec, 'queue'>[];
  /**
   * Environment variables holding credentials (a provider's key) that only this
   * queue's workers are given; every other worker is forked without them.
   */
  secrets?: readonly string[];
}

export function defineQueue<const N extends string, T>(definition: QueueDefinition<N, T>): QueueDefinition<N, T> {
  return definition;
}

export interface HandlerContext {
  jobId: string;
  /** The job's name: one handler may serve several kinds of job on its queue. */
  name: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Fires on cancel, on timeout, and when the worker is forced down: stop work and clean up. */
  signal: AbortSignal;
  progress(value: Progress): Promise<void>;
  log(line: string): Promise<void>;
  logger: Logger;
  /** Enqueue a flow (a parent that runs after its children, on any queues) through the store. */
  enqueueFlow(flow: FlowInput): Promise<FlowResult>;
  /** Durable handler state in the store (a sync cursor), shared by every worker of every host. */
  state: {
    get<T = unknown>(key: string): Promise<T | undefined>;
    set(key: string, value: unknown): Promise<void>;
  };
  /** For a flow's parent: its children's results, and the failures it was told to ignore. */
  childrenResults(): Promise<ChildrenOutcome>;
  /** Another job's timeline: the webhooks queue records each delivery attempt on the job it reports. */
  timeline: {
    add(queue: string, jobId: string, event: TimelineEvent, detail: string): Promise<void>;
  };
  /** Another job, whatever its tenant: the webhooks queue checks that the store shows the end it reports. */
  jobs: {
    get(queue: string, jobId: string): Promise<JobView | undefined>;
  };
}

export interface HandlerDefinition<T = unknown> {
  /** The job's data (zod); invalid data fails the job at once without retry. */
  schema: ZodType<T, any>;
  run(data: T, ctx: HandlerContext): Promise<unknown>;
}

/** What the worker runtime runs: a handler module's default export, or a test's bare `{run}`. */
export interface RunnableHandler {
  schema?: ZodType;
  run(data: any, ctx: HandlerContext): Promise<unknown>;
}

/** A queue's handler, typed by the same schema its definition declares. */
export function defineHandler<T>(definition: HandlerDefinition<T>): HandlerDefinition<T> {
  return definition;
}
