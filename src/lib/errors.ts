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

/**
 * This worker could no longer renew the job's lock (cut off from the store, or
 * the lock taken by another worker): the attempt is abandoned, its outcome never
 * recorded and its files never published, since another attempt may own the job.
 */
export class JobLockLostError extends Error {
  override name = 'JobLockLostError';
  constructor(readonly sinceRenewalMs: number) {
    super(`job lock lost: not renewed for ${sinceRenewalMs} ms`);
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

/** A list cursor the store never gave (or from another list). */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
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

/** One zod issue, as a dotted field path and what is wrong with it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/**
 * Every issue of a zod error, named by its dotted field path (`data.source`
 * with `prefix: 'data'`), or `whole` when the value itself is wrong; an unknown
 * key is its own issue, so a client sees which field to drop. Typed
 * structurally so that this shared module does not depend on zod.
 */
export function fieldIssues(error: { issues: readonly ZodLikeIssue[] }, { prefix, whole = prefix ?? 'value' }: { prefix?: string; whole?: string } = {}): FieldIssue[] {
  const issues = error.issues.flatMap((issue) => {
    const path = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys' && issue.keys) return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: 'unknown field' }));
    return [{ field: path.join('.') || whole, message: issue.message }];
  });
  return issues.length ? issues : [{ field: whole, message: 'invalid' }];
}

interface ZodLikeIssue {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  keys?: readonly string[];
}
