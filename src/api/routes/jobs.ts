// The jobs routes of the HTTP API (README.md): enqueue, read, list, cancel, retry.
// A user key reaches its own tenant's jobs only, and another tenant's job is a 404
// like one that does not exist (README, Tenants); an admin key reaches every tenant.
import { Router, type Request, type Response } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import { createHash } from 'node:crypto';
import { presentedKey } from '../auth.js';
import { jsonBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { ApiError, unknownJob, unknownQueue } from '../errors.js';
import { enqueueOnce, idempotencyKey } from '../idempotency.js';
import { apiJob, apiListedJob } from '../job-shape.js';
import { enqueueBody, jobParams, listQuery, statusQuery, type EnqueueBody, type ListQuery } from '../schemas.js';
import { parse } from '../validate.js';
import type { AllJobsQuery, EnqueueInput, JobState, JobView } from '../../lib/store/index.js';
import { traceEnqueue } from '../../lib/tracing.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { isQueueName, QUEUES, type QueueName } from '../../queues/index.js';
import { validateJobData } from '../../queues/validate.js';

/** How long past the store timeout a cancel may wait for an active job's handler to stop. */
const CANCEL_EXTRA_MS = 3500;

export function statusUrl(queue: string, id: string): string {
  return `/api/jobs/${encodeURIComponent(queue)}/${encodeURIComponent(id)}`;
}

/** The tenant a request is confined to; undefined for an admin key, which sees every tenant. */
const scopeOf = (res: Response): string | undefined => res.locals.tenant as string | undefined;
const isAdmin = (res: Response) => res.locals.role === 'admin';

/** The job belongs to the key's tenant, never to one the body names; an admin's to the default tenant. */
function toInput(body: EnqueueBody, tenant: string): EnqueueInput {
  return {
    queue: body.queue,
    tenant,
    data: body.data,
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.priority !== undefined ? { priority: body.priority } : {}),
    ...(body.delay !== undefined ? { delayMs: body.delay } : {}),
    ...(body.runAt !== undefined ? { runAt: new Date(body.runAt) } : {}),
    ...(body.attempts !== undefined ? { attempts: body.attempts } : {}),
    ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}),
    ...(body.dedupKey !== undefined ? { dedupKey: body.dedupKey } : {}),
    ...(body.projectId !== undefined ? { projectId: body.projectId } : {}),
    ...(body.callbackUrl !== undefined ? { callbackUrl: body.callbackUrl } : {}),
  };
}

/**
 * Per API key (so that clients behind one proxy do not share a budget), per IP
 * when the api runs open: there a client could make up a new key per request.
 */
function rateKey(authEnabled: boolean) {
  return (req: Request): string => {
    const key = authEnabled ? presentedKey(req) : undefined;
    if (key) return `key:${createHash('sha256').update(key).digest('hex')}`;
    return `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
  };
}

/** The cursor list answers without a queue, and for what only it filters on; offsets stay for one queue's list. */
function acrossQueues(query: ListQuery): boolean {
  return query.queue === undefined || query.cursor !== undefined || query.name !== undefined
    || query.createdAfter !== undefined || query.createdBefore !== undefined;
}

function allJobsQuery(query: ListQuery, limit: number, queue: string | undefined): AllJobsQuery {
  return {
    limit,
    ...(queue !== undefined ? { queue } : {}),
    ...(query.state ? { state: query.state as JobState } : {}),
    ...(query.projectId ? { projectId: query.projectId } : {}),
    ...(query.name ? { name: query.name } : {}),
    ...(query.cursor ? { cursor: query.cursor } : {}),
    ...(query.createdAfter ? { createdAfter: Date.parse(query.createdAfter) } : {}),
    ...(query.createdBefore ? { createdBefore: Date.parse(query.createdBefore) } : {}),
  };
}

export function jobsRouter(ctx: ApiContext): Router {
  const { store, call, queues, auth, metrics } = ctx;
  const router = Router();
  const user = auth.require('user');
  const knownQueue = (queue: string): QueueName => {
    if (!isQueueName(queue) || !queues.includes(queue)) throw unknownQueue(queue);
    return queue;
  };
  /** A queue whose definition says `access: 'admin'` (housekeeping) takes no change from a user key. */
  const changeable = (queue: string, res: Response): QueueName => {
    const known = knownQueue(queue);
    if (QUEUES[known].access === 'admin' && res.locals.role !== 'admin') {
      throw new ApiError(403, 'forbidden', `queue "${known}" takes jobs from admin keys only`);
    }
    return known;
  };

  /** A waiting job's view carries its estimated wait (README, "Estimated wait"), from cached numbers. */
  const withWait = (job: JobView, res: Response) => ({
    ...apiJob(job, isAdmin(res)),
    ...(job.state === 'waiting' ? { estimatedWait: ctx.waits.estimate(job.queue, job.priority, true) } : {}),
  });

  const limiter = ctx.config.api.enqueueRateLimit > 0
    ? [rateLimit({
        windowMs: 60_000,
        limit: ctx.config.api.enqueueRateLimit,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        keyGenerator: rateKey(auth.enabled),
        handler: (_req, _res, next) => next(new ApiError(429, 'rate_limited', `more than ${ctx.config.api.enqueueRateLimit} enqueues in a minute; slow down`)),
      })]
    : [];

  router.post('/jobs', user, ...limiter, ...jsonBody(ctx.config.api, { required: true }), async (req, res) => {
    const body = parse(enqueueBody, req.body, 'body');
    // The worker checks the same schema again; here a bad payload never reaches a queue.
    const checked = validateJobData(changeable(body.queue, res), body.data);
    if (!checked.ok) {
      throw new ApiError(400, 'invalid_request', `invalid body: ${checked.field}: ${checked.message}`, { issues: [{ field: checked.field, message: checked.message }] });
    }
    const tenant = scopeOf(res) ?? DEFAULT_TENANT;
    const enqueued = await traceEnqueue(body.queue, { 'jobvisor.tenant': tenant },
      async (traceContext) => {
        const once = await enqueueOnce(ctx, { ...toInput(body, tenant), ...(traceContext ? { traceContext } : {}) }, idempotencyKey(req, res));
        return { once, id: once.kind === 'gone' ? once.id : once.result.job.id };
      });
    if (enqueued.once.kind === 'gone') return void res.status(200).json({ id: enqueued.id, queue: enqueued.once.queue, statusUrl: statusUrl(enqueued.once.queue, enqueued.id) });
    const { job, created } = enqueued.once.result;
    if (!created) return void res.status(200).json(apiJob(job, isAdmin(res)));
    metrics.enqueued.inc({ queue: job.queue });
    const url = statusUrl(job.queue, job.id);
    const estimatedWait = job.state === 'waiting' ? ctx.waits.estimate(job.queue, job.priority) : null;
    res.status(202).location(url).json({ id: job.id, queue: job.queue, state: job.state, statusUrl: url, estimatedWait });
  });

  router.get('/jobs/status', user, async (req, res) => {
    const { queue, jobId } = parse(statusQuery, req.query, 'query');
    const job = await call(store.get(knownQueue(queue), jobId, scopeOf(res)));
    if (!job) throw unknownJob(queue, jobId);
    res.json(withWait(job, res));
  });

  router.get('/jobs', user, async (req, res) => {
    const query = parse(listQuery, req.query, 'query');
    const limit = query.limit ?? 20;
    const tenant = scopeOf(res) ?? query.tenant;
    if (query.tenant !== undefined && tenant !== query.tenant) throw new ApiError(403, 'forbidden', 'only admin keys may choose a tenant');
    if (acrossQueues(query)) {
      if (query.offset !== undefined) throw new ApiError(400, 'invalid_request', 'offset: lists across queues page with cursor');
      const queue = query.queue === undefined ? undefined : knownQueue(query.queue);
      const page = await call(store.listAll({ ...allJobsQuery(query, limit, queue), ...(tenant !== undefined ? { tenant } : {}) }));
      return void res.json({ jobs: page.jobs.map((job) => apiListedJob(job, isAdmin(res))), limit, nextCursor: page.nextCursor });
    }
    const offset = query.offset ?? 0;
    const jobs = await call(store.list({
      queue: knownQueue(query.queue!), limit, offset,
      ...(tenant !== undefined ? { tenant } : {}),
      ...(query.state ? { state: query.state as never } : {}),
      ...(query.projectId ? { projectId: query.projectId } : {}),
    }));
    res.json({ jobs: jobs.map((job) => apiListedJob(job, isAdmin(res))), limit, offset });
  });

  router.get('/jobs/:queue/:id', user, async (req, res) => {
    const { queue, id } = parse(jobParams, req.params, 'params');
    const job = await call(store.get(knownQueue(queue), id, scopeOf(res)));
    if (!job) throw unknownJob(queue, id);
    res.json(withWait(job, res));
  });

  router.delete('/jobs/:queue/:id', user, ...jsonBody(ctx.config.api), async (req, res) => {
    const { queue, id } = parse(jobParams, req.params, 'params');
    const job = await call(store.cancel(changeable(queue, res), id, scopeOf(res)), ctx.config.api.storeTimeoutMs + CANCEL_EXTRA_MS);
    res.json(apiJob(job, isAdmin(res)));
  });

  router.post('/jobs/:queue/:id/retry', user, ...jsonBody(ctx.config.api), async (req, res) => {
    const { queue, id } = parse(jobParams, req.params, 'params');
    const job = await call(store.retry(changeable(queue, res), id, scopeOf(res)));
    res.json(apiJob(job, isAdmin(res)));
  });

  return router;
}
