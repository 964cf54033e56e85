// The api as an express app, without listening: server.ts listens, tests use
// supertest or their own socket. The app never runs a handler; it reads and
// writes the store, each call bounded in time.
import type { RequestListener } from 'node:http';
import express, { type Router } from 'express';
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
import { enqueueHandlers, enqueueRouter } from './routes/enqueue.js';
import { leanEnqueue } from './lean-enqueue.js';
import { jobsRouter } from './routes/jobs.js';
import { schedulesRouter } from './routes/schedules.js';
import { requestLog, requestStarter } from './request-log.js';
import { sameOriginWrites } from './same-origin.js';
import { securityHeaders, securityHeaderSetter } from './security-headers.js';
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
  /** The server's request listener: the lean enqueue path (lean-enqueue.ts), then express for everything else. */
  app: RequestListener;
  metrics: ApiMetrics;
  /** false when no API key is configured and every route is open. */
  authEnabled: boolean;
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

  const start = requestStarter(logger, metrics);
  const headers = securityHeaderSetter();
  const enqueue = enqueueHandlers(ctx);

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestLog(start), securityHeaders(headers));
  // Enqueue first: what the lean path leaves to express matches its route before any other router is tried.
  app.use('/api', enqueueRouter(ctx, enqueue));

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use('/api/schedules', auth.require('admin'), schedulesRouter(store, { call, maxJsonDepth: config.api.maxJsonDepth, logger }));
  app.use('/api', healthRouter(ctx), adminRouter(ctx), eventsRouter(ctx), jobsRouter(ctx));
  if (options.dashboard) app.use('/admin/queues', sameOriginWrites, auth.require('admin', { basicChallenge: true }), options.dashboard);
  app.use('/admin/fleet', fleetRouter(ctx));
  app.use(notFoundRoute);
  app.use(errorHandler(logger));

  const lean = leanEnqueue(ctx, { handlers: enqueue, start, securityHeaders: headers });
  const listener: RequestListener = (req, res) => {
    if (!lean(req, res)) app(req, res);
  };
  return { app: listener, metrics, authEnabled: auth.enabled };
}
