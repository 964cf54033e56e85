// Per-request bookkeeping in one middleware and one `finish` listener: the
// X-Request-Id, the request log line and the HTTP metrics. It replaces
// pino-http (a child logger and serializers per request) and a second listener
// for the metrics; on the enqueue path every microsecond here is per job.
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../lib/logger.js';
import type { ApiMetrics } from './metrics.js';

const QUIET_PATHS = new Set(['/api/health', '/api/health/ready', '/metrics']);
const GIVEN_ID = /^[\w.-]{1,100}$/;

function requestId(req: Request): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && GIVEN_ID.test(given) ? given : randomUUID();
}

/** The route pattern, not the URL, so that job ids do not become series. */
const routeOf = (req: Request) => (req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched');

function finished(req: Request, res: Response, id: string, startedAt: bigint, logger: Logger, metrics: ApiMetrics): void {
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const route = routeOf(req);
  const status = res.statusCode;
  metrics.latency.observe({ method: req.method, route }, seconds);
  metrics.requests.inc({ method: req.method, route, status: String(status) });
  const path = req.originalUrl.split('?')[0] ?? '';
  if (QUIET_PATHS.has(path)) return;
  const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  const ms = Math.round(seconds * 1000);
  // Headers are left out of the logs: they carry API keys.
  logger[level]({ req: { id, method: req.method, url: req.originalUrl, remoteAddress: req.socket.remoteAddress }, res: { statusCode: status }, responseTime: ms },
    `${req.method} ${req.originalUrl} ${status} ${status >= 500 ? 'failed' : `${ms} ms`}`);
}

export function requestLog(logger: Logger, metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const startedAt = process.hrtime.bigint();
    const id = requestId(req);
    res.setHeader('X-Request-Id', id);
    res.once('finish', () => finished(req, res, id, startedAt, logger, metrics));
    next();
  };
}
