// API keys (README.md, Auth): API_KEYS may use the jobs routes, ADMIN_API_KEYS
// every route. A key comes as `Authorization: Bearer <key>`, `X-API-Key`, or
// (for the dashboard in a browser) as the password of HTTP Basic auth. Failed
// attempts are counted per address, and past AUTH_FAILURE_LIMIT a minute the
// address gets 429 instead of another guess; a valid key is never held back.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { ConfigError, type Config } from '../lib/config.js';
import { ApiError, send } from './errors.js';

export type Role = 'user' | 'admin';

export interface Auth {
  /** false when no key is configured: every route is open. */
  readonly enabled: boolean;
  require(role: Role, options?: { basicChallenge?: boolean }): RequestHandler;
  /** The role a request's key grants, if any. */
  roleOf(req: Request): Role | undefined;
}

const digest = (key: string) => createHash('sha256').update(key).digest();

/** Compares digests so that the time taken says nothing about a key's prefix. */
function matches(candidate: Buffer, keys: Buffer[]): boolean {
  let found = false;
  for (const key of keys) found = timingSafeEqual(candidate, key) || found;
  return found;
}

export function presentedKey(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (colon >= 0 ? decoded.slice(colon + 1) : decoded) || undefined;
  }
  return req.get('x-api-key')?.trim() || undefined;
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
  const userKeys = config.apiKeys.map(digest);
  const adminKeys = config.adminApiKeys.map(digest);
  const enabled = userKeys.length + adminKeys.length > 0;
  if (!enabled && config.production) {
    throw new ConfigError('API_KEYS or ADMIN_API_KEYS: at least one key is required with NODE_ENV=production');
  }

  const roleOf = (req: Request): Role | undefined => {
    if (!enabled) return 'admin';
    const key = presentedKey(req);
    if (!key) return undefined;
    const candidate = digest(key);
    if (matches(candidate, adminKeys)) return 'admin';
    return matches(candidate, userKeys) ? 'user' : undefined;
  };

  const failures = failureLimiter(config.api.authFailureLimit);
  const refuse = (req: Request, res: Response, basicChallenge: boolean) => {
    res.setHeader('WWW-Authenticate', basicChallenge ? 'Basic realm="jobvisor", charset="UTF-8"' : 'Bearer realm="jobvisor"');
    const message = presentedKey(req) ? 'the API key is not valid' : 'an API key is required (Authorization: Bearer <key> or X-API-Key)';
    send(res, new ApiError(401, 'unauthorized', message));
  };

  const require = (role: Role, options: { basicChallenge?: boolean } = {}): RequestHandler => (req, res, next) => {
    const granted = roleOf(req);
    if (!granted) {
      if (!failures) return refuse(req, res, Boolean(options.basicChallenge));
      return void Promise.resolve(failures(req, res, () => refuse(req, res, Boolean(options.basicChallenge)))).catch(next);
    }
    if (role === 'admin' && granted !== 'admin') return send(res, new ApiError(403, 'forbidden', 'this route needs an admin key'));
    res.locals.role = granted;
    next();
  };

  return { enabled, require, roleOf };
}
