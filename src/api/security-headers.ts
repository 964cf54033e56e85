// helmet's headers, worked out once at start: with a fixed configuration they
// are the same on every response, so each request gets them set from a list
// rather than through helmet's dozen middleware functions.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

type Header = [name: string, value: string | number | readonly string[]];

/** Runs helmet against a response that only records what it is told. */
function helmetHeaders(): { set: Header[]; removed: string[] } {
  const set: Header[] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: Header[1]) => void set.push([name, value]),
    removeHeader: (name: string) => void removed.push(name),
  };
  let done = false;
  helmet()({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously; its headers cannot be precomputed');
  return { set, removed };
}

/** Sets helmet's headers on a response: express's middleware and the lean enqueue path call the same function. */
export function securityHeaderSetter(): (res: ServerResponse) => void {
  const { set, removed } = helmetHeaders();
  return (res) => {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
  };
}

export function securityHeaders(apply: (res: ServerResponse) => void): RequestHandler {
  return (_req, res, next) => {
    apply(res);
    next();
  };
}
