// One error type per cause, so that "retry or not" and "which HTTP status" are
// type checks, and anything a handler throws is coerced into an Error first.

/** Thrown by a handler to fail its job for good: no further attempts. */
export class UnrecoverableError extends Error {
  override name = 'UnrecoverableError';
}

/** The job ran past its timeoutMs; retried like any other failure. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`job timed out after ${timeoutMs} ms`);
  }
}

/**
 * The job's signal fired from outside (a cancel request, or the worker forced
 * down). The store decides which: a cancelled job ends `cancelled`, never
 * retried; one the worker gave up on is retried.
 */
export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
  constructor() {
    super('job aborted');
  }
}

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The job is in a state that does not allow the operation (cancel a completed job…). */
export class StateConflictError extends Error {
  override name = 'StateConflictError';
  constructor(message: string, readonly state: string) {
    super(message);
  }
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** Whatever was thrown, an Error with a message; a non-Error throw never crashes the runtime. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`non-error thrown: ${String(thrown)}`);
  }
}

export function isUnrecoverable(error: Error): boolean {
  return error instanceof UnrecoverableError || error.name === 'UnrecoverableError';
}
