// The dashboard is reached in a browser with HTTP Basic credentials, which the
// browser caches and sends by itself, so a page on another site could make it
// POST to bull-board's add-job or clean routes. A state-changing request must
// come from the dashboard's own pages: its Origin (or, when a browser sends
// none, its Referer) must name the host it was sent to.
import type { RequestHandler } from 'express';
import { ApiError, send } from './errors.js';

const READS = new Set(['GET', 'HEAD']);

function hostOf(url: string | undefined): string | undefined {
  if (!url || url === 'null') return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

export const sameOriginWrites: RequestHandler = (req, res, next) => {
  if (READS.has(req.method)) return next();
  const from = hostOf(req.get('origin') ?? req.get('referer'));
  if (from !== undefined && from === req.get('host')) return next();
  send(res, new ApiError(403, 'cross_origin', 'the dashboard takes changes only from its own pages (Origin must name this host)'));
};
