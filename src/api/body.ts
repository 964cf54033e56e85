// Request bodies: JSON only (415 otherwise), within the configured size (413),
// with no NUL byte and no deeper nesting than the configured depth (400).
// express's routes read them with express.json(); the lean enqueue path with
// read-json.ts, through the same checks and the same errors.
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import typeis from 'type-is';
import type { ApiConfig } from '../lib/config.js';
import { ApiError } from './errors.js';
import { jsonShapeIssue } from './json-shape.js';

const JSON_TYPES = ['application/json', 'application/*+json'];

const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

export type BodyOptions = Pick<ApiConfig, 'bodyLimitBytes' | 'maxJsonDepth'>;

/** The 415 of a body that is not JSON; with `required`, a request with no JSON body at all is refused too. */
export function typeIssue(req: IncomingMessage, required: boolean): ApiError | undefined {
  // type-is is what express's req.is() calls: the lean path and express judge a type alike.
  if ((hasBody(req) || required) && !typeis(req, JSON_TYPES)) {
    return new ApiError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
  }
  return undefined;
}

/** The 400 of a parsed body with a NUL byte or nested too deep. */
export function shapeIssue(body: unknown, maxDepth: number): ApiError | undefined {
  const issue = jsonShapeIssue(body, maxDepth);
  return issue && new ApiError(400, 'invalid_request', `invalid body: ${issue.field}: ${issue.message}`, { issues: [issue] });
}

export const jsonParser = (api: BodyOptions): RequestHandler => express.json({ limit: api.bodyLimitBytes, type: JSON_TYPES, strict: true });

/** A body, when there is one, must be JSON; with `required` (enqueue needs one), there must be one. */
export function jsonBody(api: BodyOptions, { required = false } = {}): RequestHandler[] {
  const checkType: RequestHandler = (req, _res, next) => next(typeIssue(req, required));
  return [checkType, jsonParser(api), checkShape(api.maxJsonDepth)];
}

export function checkShape(maxDepth: number): RequestHandler {
  return (req, _res, next) => next(shapeIssue(req.body, maxDepth));
}
