// Every failure an api request can meet, mapped to one status and the
// {error: {code, message, details?}} shape. Nothing else reaches a client:
// no stack trace, and no 500 for anything a client sent.
import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { fieldIssues, InvalidCursorError, NotFoundError, StateConflictError, StoreUnavailableError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

export const unknownQueue = (queue: string) => new ApiError(404, 'unknown_queue', `no queue named "${queue}"`);
export const unknownJob = (queue: string, id: string) => new ApiError(404, 'job_not_found', `no job ${id} in queue ${queue}`);

/** The first issue names its field, so that a client sees what to fix. */
export function invalid(error: ZodError, where: 'body' | 'query' | 'params'): ApiError {
  const issues = fieldIssues(error, { whole: where });
  const first = issues[0]!;
  return new ApiError(400, 'invalid_request', `invalid ${where}: ${first.field}: ${first.message}`, { issues });
}

/** body-parser's errors carry a `type` and a 4xx `status`. */
function fromBodyParser(error: { type?: string; status?: number; message?: string }): ApiError | undefined {
  switch (error.type) {
    case 'entity.too.large': return new ApiError(413, 'body_too_large', 'request body is larger than the limit');
    case 'entity.parse.failed': return new ApiError(400, 'invalid_json', 'request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported': return new ApiError(415, 'unsupported_media_type', error.message ?? 'unsupported encoding');
    default: break;
  }
  const status = error.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new ApiError(status, 'bad_request', 'bad request');
  return undefined;
}

export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof ZodError) return invalid(error, 'body');
  if (error instanceof InvalidCursorError) return new ApiError(400, 'invalid_request', 'cursor: not a cursor this api gave');
  if (error instanceof NotFoundError) return new ApiError(404, 'job_not_found', error.message);
  if (error instanceof StateConflictError) return new ApiError(409, 'wrong_state', error.message, { state: error.state });
  if (error instanceof StoreUnavailableError) return new ApiError(503, 'store_unavailable', 'the job store is not answering; try again later');
  if (error && typeof error === 'object') return fromBodyParser(error as never);
  return undefined;
}

/**
 * A JSON answer written on the bare response, so that express's routes and the
 * lean enqueue path (lean-enqueue.ts) answer alike; no ETag (a hash of the body
 * that no client of these answers revalidates).
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

export function send(res: ServerResponse, error: ApiError): void {
  if (error.status === 503) res.setHeader('Retry-After', '5');
  sendJson(res, error.status, { error: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) } });
}

export const notFoundRoute: RequestHandler = (req, res) => {
  send(res, new ApiError(404, 'not_found', `no route ${req.method} ${req.path}`));
};

/** Any failure as its status and shape; what is not the client's doing is logged and a 500. */
export function answerFailure(error: unknown, url: string, res: ServerResponse, logger: Logger): void {
  const known = toApiError(error);
  if (known) {
    if (known.status === 503) logger.warn({ err: error, url }, 'store unavailable');
    return send(res, known);
  }
  logger.error({ err: error, url }, 'request failed');
  send(res, new ApiError(500, 'internal', 'internal error'));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    answerFailure(error, req.originalUrl, res, logger);
  };
}
