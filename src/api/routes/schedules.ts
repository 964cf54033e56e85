// Admin routes for cron schedules. The api mounts them under /api/schedules,
// behind its admin auth. Every store call goes through the api's bounded caller
// (a store that is down is a 503 with Retry-After, never a 500 or a hang), and
// errors take the api's shape and codes (src/api/errors.ts). Self-contained (own
// body parser and error mapping) so it answers the same whether or not the app
// in front of it parsed the body first.
import express, { Router, type ErrorRequestHandler } from 'express';
import { pino } from 'pino';
import { fieldIssues, NotFoundError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { checkShape } from '../body.js';
import { ApiError, errorHandler, send } from '../errors.js';
import { storeCaller, type StoreCall } from '../store-call.js';
import { statusUrl } from './access.js';
import { InvalidScheduleError, schedulePatchSchema, updateSchedule } from '../../queues/schedules.js';
import type { Store } from '../../lib/store/index.js';

export interface SchedulesRouterOptions {
  /** The api's bounded store caller; a 5 s one when not given. */
  call?: StoreCall;
  maxJsonDepth?: number;
  logger?: Logger;
}

/** What only schedules throw; the rest goes to the api's own mapping. */
const scheduleErrors: ErrorRequestHandler = (error, _req, res, next) => {
  if (error instanceof InvalidScheduleError) return send(res, new ApiError(400, 'invalid_request', error.message, { field: error.field }));
  if (error instanceof NotFoundError) return send(res, new ApiError(404, 'schedule_not_found', error.message));
  next(error);
};

export function schedulesRouter(store: Store, { call = storeCaller(5000), maxJsonDepth = 32, logger = pino({ level: 'silent' }) }: SchedulesRouterOptions = {}): Router {
  const router = Router();
  router.use(express.json({ limit: '64kb' }), checkShape(maxJsonDepth));
  router.param('name', (_req, _res, next, name: string) => {
    next(name.includes('\0') ? new ApiError(400, 'invalid_request', 'name: contains a NUL byte', { field: 'name' }) : undefined);
  });

  router.get('/', async (_req, res) => {
    res.json({ schedules: await call(store.schedules.list()) });
  });

  router.get('/:name', async (req, res) => {
    const view = await call(store.schedules.get(req.params.name));
    if (!view) throw new NotFoundError(`no schedule ${req.params.name}`);
    res.json(view);
  });

  router.put('/:name', async (req, res) => {
    if (!req.is('application/json')) throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
    const parsed = schedulePatchSchema.safeParse(req.body);
    if (!parsed.success) {
      const { field, message } = fieldIssues(parsed.error, { whole: 'body' })[0]!;
      throw new ApiError(400, 'invalid_request', `${field}: ${message}`, { field });
    }
    res.json(await call(updateSchedule(store, req.params.name, parsed.data)));
  });

  router.post('/:name/run', async (req, res) => {
    const job = await call(store.schedules.runNow(req.params.name));
    res.status(202).json({ id: job.id, queue: job.queue, state: job.state, statusUrl: statusUrl(job.queue, job.id) });
  });

  router.use(scheduleErrors, errorHandler(logger));
  return router;
}
