// ENQUEUE_RATE_LIMIT: jobs per minute per API key (per IP when the api runs
// open, where a client could make up a key per request). A request costs the
// jobs it enqueues, so a bulk of 500 spends 500, all or nothing. Fixed
// one-minute windows in this process's memory, as express-rate-limit's memory
// store keeps them, at the cost of a Map lookup per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Caller } from './auth.js';
import { ApiError } from './errors.js';

const WINDOW_MS = 60_000;

export interface EnqueueLimit {
  /** Spends `cost` of the caller's budget, or throws a 429 (and spends nothing). Sets the RateLimit headers either way. */
  take(caller: Caller, req: IncomingMessage, res: ServerResponse, cost: number): void;
}

export function enqueueLimit(limit: number): EnqueueLimit {
  if (limit <= 0) return { take: () => {} };
  const policy = `"enqueue";q=${limit};w=${WINDOW_MS / 1000}`;
  let window = 0;
  let spent = new Map<string, number>();
  return {
    take(caller, req, res, cost) {
      const now = Date.now();
      const current = Math.floor(now / WINDOW_MS);
      if (current !== window) {
        window = current;
        spent = new Map(); // every budget starts again with the window; no per-key timers to keep
      }
      // The socket's address is express's req.ip here: the api trusts no proxy header.
      const key = caller.keyId ?? `ip:${ipKeyGenerator(req.socket.remoteAddress ?? 'unknown')}`;
      const used = spent.get(key) ?? 0;
      const resetSeconds = Math.ceil(((current + 1) * WINDOW_MS - now) / 1000);
      res.setHeader('RateLimit-Policy', policy);
      if (used + cost > limit) {
        res.setHeader('RateLimit', `"enqueue";r=${limit - used};t=${resetSeconds}`);
        res.setHeader('Retry-After', String(resetSeconds));
        throw new ApiError(429, 'rate_limited', cost > 1
          ? `${cost} jobs would pass ${limit} enqueues in a minute (${limit - used} left); slow down or send fewer`
          : `more than ${limit} enqueues in a minute; slow down`);
      }
      spent.set(key, used + cost);
      res.setHeader('RateLimit', `"enqueue";r=${limit - used - cost};t=${resetSeconds}`);
    },
  };
}

