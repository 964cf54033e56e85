// The lean path: POST /api/jobs and POST /api/jobs/bulk served straight from
// the node:http server, ahead of express. Express's per-request machinery (its
// request and response prototypes, the router's layer walk, body-parser's
// setup) cost more than the rest of an enqueue; these two routes carry most of
// the api's traffic, so they skip it. They run the same checks in the same
// order as express would, through the same functions: auth, the request id
// and log line and metrics, the security headers, the enqueue rate limit, the
// JSON body's type, size and shape, then the route's handler (zod, the queue's
// schema, tenancy, Idempotency-Key). Anything else, including another
// spelling of these paths and a request whose key does not pass, goes to
// express, which still has the same routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from './auth.js';
import type { ApiContext } from './context.js';
import { ApiError, answerFailure } from './errors.js';
import { jsonReader } from './read-json.js';
import type { StartRequest } from './request-log.js';
import type { EnqueueHandler, EnqueueHandlers } from './routes/enqueue.js';

export interface LeanParts {
  handlers: EnqueueHandlers;
  start: StartRequest;
  securityHeaders: (res: ServerResponse) => void;
}

/** Serves the request and says true, or says false and leaves it to express. */
export type LeanRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export function leanEnqueue(ctx: ApiContext, { handlers, start, securityHeaders }: LeanParts): LeanRoute {
  const read = jsonReader(ctx.config.api);
  const routes = new Map<string, EnqueueHandler>([['/api/jobs', handlers.single], ['/api/jobs/bulk', handlers.bulk]]);

  const serve = async (req: IncomingMessage, res: ServerResponse, handler: EnqueueHandler, caller: Caller) => {
    // The single route spends its budget before reading the body, as the express route's takeOne does; a bulk after counting its jobs.
    if (handler === handlers.single) handlers.limit.take(caller, req, res, 1);
    await handler(req, res, caller, await read(req, res));
  };

  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const handler = routes.get(path);
    if (!handler) return false;
    const caller = ctx.auth.callerOf(req);
    if (!caller) return false; // no key or a wrong one: express answers (401, or the failed-auth limit's 429)
    start(req, res, url, () => path);
    securityHeaders(res);
    serve(req, res, handler, caller).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy(error as Error);
      // A body refused for its size is not read on: the connection closes after the answer instead.
      if (error instanceof ApiError && error.status === 413 && !req.complete) res.setHeader('Connection', 'close');
      answerFailure(error, url, res, ctx.logger);
    });
    return true;
  };
}
