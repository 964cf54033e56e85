// The fleet page at /admin/fleet, behind the admin key like bull-board: the
// page, its script, and the queue-stats JSON again under the page's own path,
// where the Basic credentials a browser holds for the page apply.
import { Router } from 'express';
import type { ApiContext } from '../context.js';
import { FLEET_HTML } from '../fleet/page.js';
import { FLEET_SCRIPT } from '../fleet/script.js';
import { limitsOf, queueStats } from '../stats.js';

export function fleetRouter(ctx: ApiContext): Router {
  const { store, call, queues, auth } = ctx;
  const limits = limitsOf(ctx.config.queues);
  const router = Router();
  router.use(auth.require('admin', { basicChallenge: true }));

  router.get('/', (req, res) => {
    // The page's links are relative to /admin/fleet; from /admin/fleet/ they would miss.
    if (req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(301, '../fleet');
    res.type('html').set('Cache-Control', 'no-cache').send(FLEET_HTML);
  });
  router.get('/fleet.js', (_req, res) => {
    res.type('js').set('Cache-Control', 'no-cache').send(FLEET_SCRIPT);
  });
  router.get('/queue-stats', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json(await queueStats(store, queues, call, { limits, supervisors: ctx.supervisors }));
  });
  return router;
}
