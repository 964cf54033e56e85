// Admin routes for cron schedules. The api mounts them under /api/schedules,
// behind its admin auth: app.use('/api/schedules', requireAdmin, schedulesRouter(store)).
// Self-contained (own body parser and error mapping) so it answers the same
// whether or not the app in front of it parsed the body first.
import express, { Router, type ErrorRequestHandler, type Response } from 'express';
import { fieldIssues, NotFoundError, StoreUnavailableError } from '../../lib/errors.js';
import { checkShape } from '../body.js';
import { ApiError } from '../errors.js';
import { InvalidScheduleError, schedulePatchSchema, updateSchedule } from '../../queues/schedules.js';
import type { Store } from '../../lib/store/index.js';

function sendError(res: Response, status: number, code: string, message: string, details?: unknown): void {
  res.status(status).json({ error: { code, message, ...(details === undefined ? {} : { details }) } });
}

const toHttp: ErrorRequestHandler = (error, _req, res, _next) => {
  const type = (error as { type?: string }).type;
  if (type === 'entity.parse.failed') return sendError(res, 400, 'invalid_json', 'the body is not valid JSON');
  if (type === 'entity.too.large') return sendError(res, 413, 'payload_too_large', 'the body is too large');
  if (error instanceof ApiError) return sendError(res, error.status, error.code, error.message, error.details);
  if (error instanceof InvalidScheduleError) {
    return sendError(res, 400, 'invalid_request', error.message, { field: error.field });
  }
  if (error instanceof NotFoundError) return sendError(res, 404, 'not_found', error.message);
  if (error instanceof StoreUnavailableError) return sendError(res, 503, 'store_unavailable', error.message);
  sendError(res, 500, 'internal', 'internal error');
};

export function schedulesRouter(store: Store, { maxJsonDepth = 32 } = {}): Router {
  const router = Router();
  router.use(express.json({ limit: '64kb' }), checkShape(maxJsonDepth));
  router.param('name', (_req, _res, next, name: string) => {
    next(name.includes('\0') ? new ApiError(400, 'invalid_request', 'name: contains a NUL byte', { field: 'name' }) : undefined);
  });

  router.get('/', async (_req, res) => {
    res.json({ schedules: await store.schedules.list() });
  });

  router.get('/:name', async (req, res) => {
    const view = await store.schedules.get(req.params.name);
    if (!view) throw new NotFoundError(`no schedule ${req.params.name}`);
    res.json(view);
  });

  router.put('/:name', async (req, res) => {
    if (!req.is('application/json')) return sendError(res, 415, 'unsupported_media_type', 'send the body as application/json');
    const parsed = schedulePatchSchema.safeParse(req.body);
    if (!parsed.success) {
      const { field, message } = fieldIssues(parsed.error, { whole: 'body' })[0]!;
      return sendError(res, 400, 'invalid_request', `${field}: ${message}`, { field });
    }
    res.json(await updateSchedule(store, req.params.name, parsed.data));
  });

  router.post('/:name/run', async (req, res) => {
    const job = await store.schedules.runNow(req.params.name);
    res.status(202).json({ id: job.id, queue: job.queue, state: job.state, statusUrl: `/api/jobs/${job.queue}/${job.id}` });
  });

  router.use(toHttp);
  return router;
}
