// Per-request bookkeeping in one `finish` listener: the X-Request-Id, the
// request log line and the HTTP metrics. It replaces pino-http (a child logger
// and serializers per request) and a second listener for the metrics; on the
// enqueue path every microsecond here is per job. Express's routes and the
// lean enqueue path (lean-enqueue.ts) both start their requests here.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../lib/logger.js';
import type { ApiMetrics } from './metrics.js';

const QUIET_PATHS = new Set(['/api/health', '/api/health/ready', '/metrics']);
const GIVEN_ID = /^[\w.-]{1,100}$/;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && GIVEN_ID.test(given) ? given : randomUUID();
}

/** Starts a request's bookkeeping: `url` as received, `route` the pattern once answered (so that job ids do not become series). */
export type StartRequest = (req: IncomingMessage, res: ServerResponse, url: string, route: () => string) => void;

export function requestStarter(logger: Logger, metrics: ApiMetrics): StartRequest {
  const finished = (req: IncomingMessage, res: ServerResponse, url: string, route: string, id: string, startedAt: bigint) => {
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const method = req.method ?? '';
    const status = res.statusCode;
    metrics.latency.observe({ method, route }, seconds);
    metrics.requests.inc({ method, route, status: String(status) });
    const path = url.split('?')[0] ?? '';
    if (QUIET_PATHS.has(path)) return;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    const ms = Math.round(seconds * 1000);
    // Headers are left out of the logs: they carry API keys.
    logger[level]({ req: { id, method, url, remoteAddress: req.socket.remoteAddress }, res: { statusCode: status }, responseTime: ms },
      `${method} ${url} ${status} ${status >= 500 ? 'failed' : `${ms} ms`}`);
  };
  return (req, res, url, route) => {
    const startedAt = process.hrtime.bigint();
    const id = requestId(req);
    res.setHeader('X-Request-Id', id);
    res.once('finish', () => finished(req, res, url, route(), id, startedAt));
  };
}

/** The route pattern express matched, or 'unmatched'. */
const routeOf = (req: Request) => (req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched');

export function requestLog(start: StartRequest): RequestHandler {
  return (req, res, next) => {
    start(req, res, req.originalUrl, () => routeOf(req));
    next();
  };
}
