// Admin routes: queue-stats, pause and resume. Every one needs an admin key.
import { Router } from 'express';
import { jsonBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { unknownQueue } from '../errors.js';
import { isQueueName } from '../../queues/index.js';
import { queueParams } from '../schemas.js';
import { limitsOf, queueStats } from '../stats.js';
import { parse } from '../validate.js';

export function adminRouter(ctx: ApiContext): Router {
  const { store, call, queues, auth } = ctx;
  const router = Router();
  const admin = auth.require('admin');
  const limits = limitsOf(ctx.config.queues);

  router.get('/jobs/queue-stats', admin, async (_req, res) => {
    res.json(await queueStats(store, queues, call, { limits, supervisors: ctx.supervisors }));
  });

  for (const action of ['pause', 'resume'] as const) {
    router.post(`/queues/:queue/${action}`, admin, ...jsonBody(ctx.config.api), async (req, res) => {
      const { queue } = parse(queueParams, req.params, 'params');
      if (!isQueueName(queue) || !queues.includes(queue)) throw unknownQueue(queue);
      await call(action === 'pause' ? store.pause(queue) : store.resume(queue));
      res.json({ queue, paused: await call(store.isPaused(queue)) });
    });
  }

  return router;
}
