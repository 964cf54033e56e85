// The api as an express app, without listening: server.ts listens, tests use
// supertest or their own socket. The app never runs a handler; it reads and
// writes the store, each call bounded in time.
import express, { type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { randomUUID } from 'node:crypto';
import { pinoHttp } from 'pino-http';
import { QUEUE_NAMES } from '../queues/index.js';
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../lib/store/index.js';
import { createAuth } from './auth.js';
import type { ApiContext } from './context.js';
import { waitEstimator } from './wait-estimate.js';
import { errorHandler, notFoundRoute } from './errors.js';
import { apiMetrics, type ApiMetrics } from './metrics.js';
import { adminRouter } from './routes/admin.js';
import { eventsRouter } from './routes/events.js';
import { fleetRouter } from './routes/fleet.js';
import { healthRouter } from './routes/health.js';
import { jobsRouter } from './routes/jobs.js';
import { schedulesRouter } from './routes/schedules.js';
import { sameOriginWrites } from './same-origin.js';
import { limitsOf } from './stats.js';
import { SupervisorMemory } from './supervisor-memory.js';
import { storeCaller } from './store-call.js';

export interface AppOptions {
  store: Store;
  config: Pick<Config, 'api' | 'workerQueues' | 'queues' | 'apiKeys' | 'adminApiKeys' | 'production'>;
  logger: Logger;
  /** bull-board's router (src/lib/store/dashboard.ts), mounted at /admin/queues behind the admin key. */
  dashboard?: Router;
  /** How long queue counts for /metrics are cached. */
  metricsCountsTtlMs?: number;
}

export interface App {
  app: Express;
  metrics: ApiMetrics;
  /** false when no API key is configured and every route is open. */
  authEnabled: boolean;
}

const QUIET_PATHS = new Set(['/api/health', '/api/health/ready', '/metrics']);

function httpMetrics(metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.latency.startTimer();
    res.on('finish', () => {
      // The route pattern, not the URL, so that job ids do not become series.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      stop({ method: req.method, route });
      metrics.requests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

function requestLogs(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // Headers are left out of the logs: they carry API keys.
    serializers: {
      req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({ id: req.id, method: req.method, url: req.url, remoteAddress: req.remoteAddress }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    autoLogging: { ignore: (req) => QUIET_PATHS.has(req.url?.split('?')[0] ?? '') },
    customSuccessMessage: (req, res, ms) => `${req.method} ${(req as { originalUrl?: string }).originalUrl ?? req.url} ${res.statusCode} ${Math.round(ms)} ms`,
    customErrorMessage: (req, res) => `${req.method} ${(req as { originalUrl?: string }).originalUrl ?? req.url} ${res.statusCode} failed`,
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
  }) as unknown as RequestHandler;
}

export function createApp(options: AppOptions): App {
  const { store, config, logger } = options;
  const queues = QUEUE_NAMES;
  const auth = createAuth(config);
  const call = storeCaller(config.api.storeTimeoutMs);
  const supervisors = new SupervisorMemory();
  const metrics = apiMetrics({
    store, queues, call, logger, supervisors, expectedQueues: config.workerQueues, limits: limitsOf(config.queues),
    ...(options.metricsCountsTtlMs ? { countsTtlMs: options.metricsCountsTtlMs } : {}),
  });
  const ctx: ApiContext = { store, call, queues, auth, metrics, supervisors, config, logger, waits: waitEstimator(store, call, logger) };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestLogs(logger), helmet(), httpMetrics(metrics));

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use('/api/schedules', auth.require('admin'), schedulesRouter(store, { call, maxJsonDepth: config.api.maxJsonDepth, logger }));
  app.use('/api', healthRouter(ctx), adminRouter(ctx), eventsRouter(ctx), jobsRouter(ctx));
  if (options.dashboard) app.use('/admin/queues', sameOriginWrites, auth.require('admin', { basicChallenge: true }), options.dashboard);
  app.use('/admin/fleet', fleetRouter(ctx));
  app.use(notFoundRoute);
  app.use(errorHandler(logger));
  return { app, metrics, authEnabled: auth.enabled };
}
