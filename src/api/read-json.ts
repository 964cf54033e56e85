// The lean enqueue path's body reader (lean-enqueue.ts): what express.json()
// does for the common request (UTF-8 JSON, no Content-Encoding), without its
// per-request machinery, and with the same answers: 415 for another type, 413
// past API_BODY_LIMIT_BYTES (as soon as the declared length or the bytes read
// pass it), 400 invalid_json for what JSON.parse or strict mode refuses. Any
// other charset or an encoded body goes through express.json() itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { jsonParser, shapeIssue, typeIssue, type BodyOptions } from './body.js';
import { ApiError, toApiError } from './errors.js';

const PLAIN_JSON = /^application\/json(\s*;\s*charset=("?)utf-8\2)?$/i;
const BOM = 0xfeff;

const tooLarge = () => new ApiError(413, 'body_too_large', 'request body is larger than the limit');
const notJson = () => new ApiError(400, 'invalid_json', 'request body is not valid JSON');

/** Strict JSON as body-parser reads it: an empty body is `{}`, and only an object or an array is a body. */
function parseStrict(text: string): unknown {
  if (text.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw notJson();
  }
  if (typeof value !== 'object' || value === null) throw notJson();
  return value;
}

function readPlain(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: ApiError) => {
      req.off('data', onData);
      req.pause(); // the answer closes the connection (lean-enqueue.ts): the rest is never read
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop(tooLarge());
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8');
      resolve(text.charCodeAt(0) === BOM ? text.slice(1) : text);
    });
    req.once('aborted', () => stop(new ApiError(400, 'bad_request', 'bad request')));
    req.once('error', () => stop(new ApiError(400, 'bad_request', 'bad request')));
  });
}

/** express.json() itself, for what the plain reader leaves to it; its errors mapped as the express routes map them. */
function throughParser(parser: RequestHandler, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  return new Promise((resolve, reject) => {
    parser(req as never, res as never, (error?: unknown) => {
      if (error) return reject(toApiError(error) ?? error);
      resolve((req as { body?: unknown }).body);
    });
  });
}

/** Reads a required JSON body with express.json()'s rules and the api's shape check; throws the ApiError to answer. */
export function jsonReader(api: BodyOptions): (req: IncomingMessage, res: ServerResponse) => Promise<unknown> {
  const parser = jsonParser(api);
  return async (req, res) => {
    const refused = typeIssue(req, true);
    if (refused) throw refused;
    const encoding = req.headers['content-encoding'];
    const plain = PLAIN_JSON.test(req.headers['content-type'] ?? '') && (encoding === undefined || encoding.toLowerCase() === 'identity');
    let body: unknown;
    if (plain) {
      if (Number(req.headers['content-length']) > api.bodyLimitBytes) throw tooLarge();
      body = parseStrict(await readPlain(req, api.bodyLimitBytes));
    } else {
      body = await throughParser(parser, req, res);
    }
    const shape = shapeIssue(body, api.maxJsonDepth);
    if (shape) throw shape;
    return body;
  };
}
