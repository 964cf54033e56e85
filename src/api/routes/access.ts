// What the jobs routes share: which queue a name means, who may change it, and
// the tenant a request is confined to (README, Tenants).
import type { Response } from 'express';
import { newJobId, type EnqueueInput } from '../../lib/store/index.js';
import type { Caller } from '../auth.js';
import { isQueueName, QUEUES, type QueueName } from '../../queues/index.js';
import { ApiError, unknownQueue } from '../errors.js';
import type { EnqueueBody } from '../schemas.js';

export function statusUrl(queue: string, id: string): string {
  return `/api/jobs/${encodeURIComponent(queue)}/${encodeURIComponent(id)}`;
}

/** The tenant a request is confined to; undefined for an admin key, which sees every tenant. */
export const scopeOf = (res: Response): string | undefined => (res.locals.caller as Caller | undefined)?.tenant;
export const isAdmin = (res: Response) => (res.locals.caller as Caller | undefined)?.role === 'admin';
/** Who auth's middleware let through, as the lean enqueue path gets it from auth directly. */
export const callerOfResponse = (res: Response): Caller => res.locals.caller as Caller;

export function queueAccess(queues: readonly QueueName[]) {
  const knownQueue = (queue: string): QueueName => {
    if (!isQueueName(queue) || !queues.includes(queue)) throw unknownQueue(queue);
    return queue;
  };
  /** A queue whose definition says `access: 'admin'` (housekeeping) takes no change from a user key. */
  const changeable = (queue: string, admin: boolean): QueueName => {
    const known = knownQueue(queue);
    if (QUEUES[known].access === 'admin' && !admin) {
      throw new ApiError(403, 'forbidden', `queue "${known}" takes jobs from admin keys only`);
    }
    return known;
  };
  return { knownQueue, changeable };
}

/** An input whose job id is chosen: the id it is added under, unless an Idempotency-Key's first request chose another. */
export type IdentifiedInput = EnqueueInput & { jobId: string };

/**
 * The job belongs to the key's tenant, never to one the body names; an admin's to the default tenant.
 * Assigned field by field, not spread: a bulk makes a thousand of these per request.
 */
export function toInput(body: EnqueueBody, tenant: string): IdentifiedInput {
  const input: IdentifiedInput = { queue: body.queue, tenant, data: body.data, jobId: newJobId() };
  if (body.name !== undefined) input.name = body.name;
  if (body.priority !== undefined) input.priority = body.priority;
  if (body.delay !== undefined) input.delayMs = body.delay;
  if (body.runAt !== undefined) input.runAt = new Date(body.runAt);
  if (body.attempts !== undefined) input.attempts = body.attempts;
  if (body.timeoutMs !== undefined) input.timeoutMs = body.timeoutMs;
  if (body.dedupKey !== undefined) input.dedupKey = body.dedupKey;
  if (body.projectId !== undefined) input.projectId = body.projectId;
  if (body.callbackUrl !== undefined) input.callbackUrl = body.callbackUrl;
  return input;
}
