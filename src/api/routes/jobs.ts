// The jobs routes of the HTTP API (README.md) that read and change jobs: read, list, cancel, retry
// (enqueue is routes/enqueue.ts). A user key reaches its own tenant's jobs only, and another
// tenant's job is a 404 like one that does not exist (README, Tenants); an admin key reaches every tenant.
import { Router, type Request, type Response } from 'express';
import { jsonBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { ApiError, unknownJob } from '../errors.js';
import { apiJob, apiListedJob } from '../job-shape.js';
import { jobParams, listQuery, statusQuery, type ListQuery } from '../schemas.js';
import { parse } from '../validate.js';
import type { AllJobsQuery, JobState, JobView } from '../../lib/store/index.js';
import { isAdmin, queueAccess, scopeOf } from './access.js';
import type { QueueName } from '../../queues/index.js';

/** How long past the store timeout a cancel may wait for an active job's handler to stop. */
const CANCEL_EXTRA_MS = 3500;

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

/** One queue's list (offsets), or every queue's (cursor), newest first, in the key's tenant. */
async function listJobs(ctx: ApiContext, knownQueue: (queue: string) => QueueName, req: Request, res: Response): Promise<void> {
  const { store, call } = ctx;
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
}

export function jobsRouter(ctx: ApiContext): Router {
  const { store, call, queues, auth } = ctx;
  const router = Router();
  const user = auth.require('user');
  const { knownQueue, changeable } = queueAccess(queues);

  /** A waiting job's view carries its estimated wait (README, "Estimated wait"), from cached numbers. */
  const withWait = (job: JobView, res: Response) => ({
    ...apiJob(job, isAdmin(res)),
    ...(job.state === 'waiting' ? { estimatedWait: ctx.waits.estimate(job.queue, job.priority, true) } : {}),
  });

  router.get('/jobs/status', user, async (req, res) => {
    const { queue, jobId } = parse(statusQuery, req.query, 'query');
    const job = await call(store.get(knownQueue(queue), jobId, scopeOf(res)));
    if (!job) throw unknownJob(queue, jobId);
    res.json(withWait(job, res));
  });

  router.get('/jobs', user, (req, res) => listJobs(ctx, knownQueue, req, res));

  router.get('/jobs/:queue/:id', user, async (req, res) => {
    const { queue, id } = parse(jobParams, req.params, 'params');
    const job = await call(store.get(knownQueue(queue), id, scopeOf(res)));
    if (!job) throw unknownJob(queue, id);
    res.json(withWait(job, res));
  });

  router.delete('/jobs/:queue/:id', user, ...jsonBody(ctx.config.api), async (req, res) => {
    const { queue, id } = parse(jobParams, req.params, 'params');
    const job = await call(store.cancel(changeable(queue, isAdmin(res)), id, scopeOf(res)), ctx.config.api.storeTimeoutMs + CANCEL_EXTRA_MS);
    res.json(apiJob(job, isAdmin(res)));
  });

  router.post('/jobs/:queue/:id/retry', user, ...jsonBody(ctx.config.api), async (req, res) => {
    const { queue, id } = parse(jobParams, req.params, 'params');
    const job = await call(store.retry(changeable(queue, isAdmin(res)), id, scopeOf(res)));
    res.json(apiJob(job, isAdmin(res)));
  });

  return router;
}
