// Admin routes: queue-stats, pause and resume, redrive. Every one needs an admin key.
import { Router } from 'express';
import { jsonBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { redrive } from '../redrive.js';
import { queueParams, redriveBody } from '../schemas.js';
import { limitsOf, queueStats } from '../stats.js';
import { parse } from '../validate.js';
import { queueAccess } from './access.js';

const DEFAULT_REDRIVE_LIMIT = 1000;

export function adminRouter(ctx: ApiContext): Router {
  const { store, call, queues, auth } = ctx;
  const { knownQueue } = queueAccess(queues);
  const router = Router();
  const admin = auth.require('admin');
  const limits = limitsOf(ctx.config.queues);

  router.get('/jobs/queue-stats', admin, async (_req, res) => {
    res.json(await queueStats(store, queues, call, { limits, supervisors: ctx.supervisors }));
  });

  for (const action of ['pause', 'resume'] as const) {
    router.post(`/queues/:queue/${action}`, admin, ...jsonBody(ctx.config.api), async (req, res) => {
      const { queue } = parse(queueParams, req.params, 'params');
      knownQueue(queue);
      await call(action === 'pause' ? store.pause(queue) : store.resume(queue));
      res.json({ queue, paused: await call(store.isPaused(queue)) });
    });
  }

  router.post('/queues/:queue/retry-failed', admin, ...jsonBody(ctx.config.api), async (req, res) => {
    const queue = knownQueue(parse(queueParams, req.params, 'params').queue);
    const body = parse(redriveBody, req.body ?? {}, 'body');
    res.json(await redrive(store, call, queue, {
      ...body,
      limit: body.limit ?? DEFAULT_REDRIVE_LIMIT,
      failedAfter: body.failedAfter === undefined ? undefined : Date.parse(body.failedAfter),
      failedBefore: body.failedBefore === undefined ? undefined : Date.parse(body.failedBefore),
    }));
  });

  return router;
}
