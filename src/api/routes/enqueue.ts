// Enqueue over HTTP, the api's hot path (README, HTTP API): one job, or up to
// API_BULK_MAX in one request. Each job passes the same checks (its queue, who
// may change it, its queue's schema); the answer is built from the id and the
// state alone; a bulk goes to the store as one addBulk per queue. The handlers
// are plain functions of the bare request: the lean path (lean-enqueue.ts)
// serves them ahead of express, and express's router below serves them too,
// for the requests the lean path leaves to it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { traceEnqueue } from '../../lib/tracing.js';
import { DEFAULT_PRIORITY } from '../../lib/store/index.js';
import { validateWith } from '../../queues/validate.js';
import { QUEUES } from '../../queues/index.js';
import type { Caller } from '../auth.js';
import { jsonBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { enqueueLimit, type EnqueueLimit } from '../enqueue-limit.js';
import { ApiError, sendJson } from '../errors.js';
import { enqueueBulkOnce, enqueueOnce, idempotencyKey, type Enqueued } from '../idempotency.js';
import { apiJob } from '../job-shape.js';
import { enqueueBody } from '../schemas.js';
import { parse } from '../validate.js';
import { callerOfResponse, queueAccess, statusUrl, toInput, type IdentifiedInput } from './access.js';

const invalidField = (field: string, message: string) =>
  new ApiError(400, 'invalid_request', `invalid body: ${field}: ${message}`, { issues: [{ field, message }] });

/** What a bulk's answer says of each job, in request order: a job it found (a dedup or Idempotency-Key hit) with that job's state. */
function answerOf(enqueued: Enqueued, queue: string) {
  if (enqueued.kind === 'gone') return { id: enqueued.id, queue: enqueued.queue, statusUrl: statusUrl(enqueued.queue, enqueued.id) };
  const { id, state } = enqueued.result;
  return { id, queue, state, statusUrl: statusUrl(queue, id) };
}

const isNew = (enqueued: Enqueued) => enqueued.kind === 'created' && enqueued.result.created;

/** A route's work once auth let the caller in and the body was read; it answers, or throws the ApiError to answer. */
export type EnqueueHandler = (req: IncomingMessage, res: ServerResponse, caller: Caller, body: unknown) => Promise<void>;

export interface EnqueueHandlers {
  /** ENQUEUE_RATE_LIMIT: the single route spends one before its body is read, the bulk route one per job after. */
  limit: EnqueueLimit;
  single: EnqueueHandler;
  bulk: EnqueueHandler;
}

// Whole on purpose: both hot routes close over what is made once here (the limiter, metric children, schemas).
export function enqueueHandlers(ctx: ApiContext): EnqueueHandlers {
  const { changeable } = queueAccess(ctx.queues);
  const limit = enqueueLimit(ctx.config.api.enqueueRateLimit);
  const bulkBody = z.strictObject({ jobs: z.array(enqueueBody).min(1).max(ctx.config.api.bulkMax) });
  const counted = new Map(ctx.queues.map((queue) => [queue as string, ctx.metrics.enqueued.labels({ queue })]));

  /** The job's queue and data checked, as an input of the key's tenant; `at` names the job in a bulk. */
  const checked = (job: z.infer<typeof enqueueBody>, caller: Caller, at: string): IdentifiedInput => {
    const queue = changeable(job.queue, caller.role === 'admin');
    // The worker checks the same schema again; here a bad payload never reaches a queue.
    const data = validateWith(QUEUES[queue].schema, job.data, `${at}data`);
    if (!data.ok) throw invalidField(data.field, data.message);
    return toInput(job, caller.tenant ?? DEFAULT_TENANT);
  };

  const single: EnqueueHandler = async (req, res, caller, body) => {
    const input = checked(parse(enqueueBody, body, 'body'), caller, '');
    const enqueued = await traceEnqueue(input.queue, { 'jobvisor.tenant': input.tenant! }, async (traceContext) => {
      if (traceContext) input.traceContext = traceContext; // the input is this request's own: set, not copied
      const once = await enqueueOnce(ctx, input, idempotencyKey(req, caller));
      return { once, id: once.kind === 'gone' ? once.id : once.result.id };
    });
    const { once } = enqueued;
    if (once.kind === 'gone') return sendJson(res, 200, { id: once.id, queue: once.queue, statusUrl: statusUrl(once.queue, once.id) });
    if (!once.result.created) return sendJson(res, 200, apiJob(once.result.job, caller.role === 'admin'));
    counted.get(input.queue)?.inc();
    const url = statusUrl(input.queue, once.result.id);
    res.setHeader('Location', url);
    const { state } = once.result;
    const estimatedWait = state === 'waiting' ? ctx.waits.estimate(input.queue, input.priority ?? DEFAULT_PRIORITY) : null;
    sendJson(res, 202, { id: once.result.id, queue: input.queue, state, statusUrl: url, estimatedWait });
  };

  const bulk: EnqueueHandler = async (req, res, caller, body) => {
    const { jobs } = parse(bulkBody, body, 'body');
    const inputs = jobs.map((job, i) => checked(job, caller, `jobs.${i}.`)); // all or nothing: the first bad job refuses the bulk
    limit.take(caller, req, res, inputs.length);
    const queues = [...new Set(inputs.map((input) => input.queue))].join(',');
    const enqueued = await traceEnqueue(queues, { 'jobvisor.tenant': inputs[0]!.tenant!, 'jobvisor.bulk': inputs.length }, async (traceContext) => {
      if (traceContext) for (const input of inputs) input.traceContext = traceContext;
      const all = await enqueueBulkOnce(ctx, inputs, idempotencyKey(req, caller));
      return { all, id: answerOf(all[0]!, inputs[0]!.queue).id };
    });
    for (const [i, one] of enqueued.all.entries()) if (isNew(one)) counted.get(inputs[i]!.queue)?.inc();
    const answers = enqueued.all.map((one, i) => answerOf(one, inputs[i]!.queue));
    sendJson(res, enqueued.all.some(isNew) ? 202 : 200, { jobs: answers });
  };

  return { limit, single, bulk };
}

/** The limit as middleware, for the single route: it spends one before the body is read, as the lean path does. */
const takeOne = (limit: EnqueueLimit): RequestHandler => (req, res, next) => {
  try {
    limit.take(callerOfResponse(res), req, res, 1);
    next();
  } catch (error) {
    next(error);
  }
};

/** The same routes through express, for the requests the lean path does not take (another spelling of the path, a failed auth). */
export function enqueueRouter(ctx: ApiContext, handlers: EnqueueHandlers): Router {
  const router = Router();
  const user = ctx.auth.require('user');
  const body = jsonBody(ctx.config.api, { required: true });
  router.post('/jobs', user, takeOne(handlers.limit), ...body, (req, res) => handlers.single(req, res, callerOfResponse(res), req.body));
  router.post('/jobs/bulk', user, ...body, (req, res) => handlers.bulk(req, res, callerOfResponse(res), req.body));
  return router;
}
