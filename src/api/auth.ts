// API keys (README.md, Auth): API_KEYS may use the jobs routes, ADMIN_API_KEYS
// every route. A key comes as `Authorization: Bearer <key>`, `X-API-Key`, or
// (for the dashboard in a browser) as the password of HTTP Basic auth. Failed
// attempts are counted per address, and past AUTH_FAILURE_LIMIT a minute the
// address gets 429 instead of another guess; a valid key is never held back.
// A user key belongs to one tenant (README, Tenants): routes read the caller
// from `res.locals.caller`, whose tenant is unset for an admin key (every tenant).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { ConfigError, type Config } from '../lib/config.js';
import { ApiError, send } from './errors.js';

export type Role = 'user' | 'admin';

/** Who a request's key makes it: an admin sees every tenant, a user only its own. */
export interface Caller {
  role: Role;
  /** The user key's tenant; undefined for an admin. */
  tenant?: string;
  /** Which configured key matched (`user:<i>`, `admin:<i>`); undefined when the api runs open. */
  keyId?: string;
}

export interface Auth {
  /** false when no key is configured: every route is open. */
  readonly enabled: boolean;
  require(role: Role, options?: { basicChallenge?: boolean }): RequestHandler;
  /** Who a request's key makes it, if anyone (on the bare request: the lean enqueue path asks too). */
  callerOf(req: IncomingMessage): Caller | undefined;
}

const digest = (key: string) => createHash('sha256').update(key).digest();

/**
 * Compares digests so that the time taken says nothing about a key's prefix, and
 * compares every one, so that it says nothing about which key matched either.
 */
function matchIndex(candidate: Buffer, keys: Buffer[]): number {
  let found = -1;
  for (const [i, key] of keys.entries()) if (timingSafeEqual(candidate, key)) found = i;
  return found;
}

export function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (colon >= 0 ? decoded.slice(colon + 1) : decoded) || undefined;
  }
  const apiKey = req.headers['x-api-key'];
  return (typeof apiKey === 'string' ? apiKey.trim() : undefined) || undefined;
}

/** Counts only what it is called for (failures); past the limit it answers 429 with Retry-After. */
function failureLimiter(limit: number): RequestHandler | undefined {
  if (limit <= 0) return undefined;
  return rateLimit({
    windowMs: 60_000,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
    handler: (_req, res) => send(res, new ApiError(429, 'rate_limited', 'too many failed authentications from this address; try again later')),
  });
}

/** Refuses to run open in production; says how the api runs otherwise. */
export function createAuth(config: Pick<Config, 'apiKeys' | 'adminApiKeys' | 'production'> & { api: Pick<Config['api'], 'authFailureLimit'> }): Auth {
  const userKeys = config.apiKeys.map(({ key }) => digest(key));
  const tenants = config.apiKeys.map(({ tenant }) => tenant);
  const adminKeys = config.adminApiKeys.map(digest);
  const enabled = userKeys.length + adminKeys.length > 0;
  if (!enabled && config.production) {
    throw new ConfigError('API_KEYS or ADMIN_API_KEYS: at least one key is required with NODE_ENV=production');
  }

  const callerOf = (req: IncomingMessage): Caller | undefined => {
    if (!enabled) return { role: 'admin' };
    const key = presentedKey(req);
    if (!key) return undefined;
    const candidate = digest(key);
    const admin = matchIndex(candidate, adminKeys);
    if (admin >= 0) return { role: 'admin', keyId: `admin:${admin}` };
    const user = matchIndex(candidate, userKeys);
    return user >= 0 ? { role: 'user', tenant: tenants[user]!, keyId: `user:${user}` } : undefined;
  };

  const failures = failureLimiter(config.api.authFailureLimit);
  const refuse = (req: Request, res: Response, basicChallenge: boolean) => {
    res.setHeader('WWW-Authenticate', basicChallenge ? 'Basic realm="jobvisor", charset="UTF-8"' : 'Bearer realm="jobvisor"');
    const message = presentedKey(req) ? 'the API key is not valid' : 'an API key is required (Authorization: Bearer <key> or X-API-Key)';
    send(res, new ApiError(401, 'unauthorized', message));
  };

  const require = (role: Role, options: { basicChallenge?: boolean } = {}): RequestHandler => (req, res, next) => {
    const granted = callerOf(req);
    if (!granted) {
      if (!failures) return refuse(req, res, Boolean(options.basicChallenge));
      return void Promise.resolve(failures(req, res, () => refuse(req, res, Boolean(options.basicChallenge)))).catch(next);
    }
    if (role === 'admin' && granted.role !== 'admin') return send(res, new ApiError(403, 'forbidden', 'this route needs an admin key'));
    res.locals.caller = granted; // with which configured key, for per-key budgets without digesting it again
    next();
  };

  return { enabled, require, callerOf };
}
