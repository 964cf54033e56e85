// The handler API: what a queue's module exports, and what a job's handler is given.
import type { ZodType } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { Progress } from '../lib/store/index.js';

export interface HandlerContext {
  jobId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Fires on cancel, on timeout, and when the worker is forced down: stop work and clean up. */
  signal: AbortSignal;
  progress(value: Progress): Promise<void>;
  log(line: string): Promise<void>;
  logger: Logger;
}

export interface HandlerDefinition<T = unknown> {
  queue: string;
  /** A job name this handler is meant for, for documentation; every job of the queue reaches `run`. */
  name?: string;
  /** The job's data; invalid data fails the job at once without retry. */
  schema?: ZodType<T>;
  run(data: T, ctx: HandlerContext): Promise<unknown>;
}

export function defineHandler<T>(definition: HandlerDefinition<T>): HandlerDefinition<T> {
  return definition;
}
