// The handler API: what a queue's module exports, and what a job's handler is given.
import type { ZodType } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { ChildrenOutcome, FlowInput, FlowResult, Progress } from '../lib/store/index.js';

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
}

export interface HandlerDefinition<T = unknown> {
  queue: string;
  /** A job name this handler is meant for, for documentation; every job of the queue reaches `run`. */
  name?: string;
  /** The job's data (zod); invalid data fails the job at once without retry, and the api checks it at enqueue. */
  schema?: ZodType<T, any>;
  run(data: T, ctx: HandlerContext): Promise<unknown>;
}

/**
 * A queue's handler. The schema is required here: it is the job's contract,
 * checked by the worker before `run` and by the api at enqueue (src/workers/schemas.ts).
 * The runtime itself still accepts a bare `{queue, run}` (plain JavaScript, test doubles).
 */
export function defineHandler<T>(definition: HandlerDefinition<T> & { schema: ZodType<T, any> }): HandlerDefinition<T> {
  return definition;
}
