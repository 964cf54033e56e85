// Request bodies: JSON only (415 otherwise), within the configured size (413),
// with no NUL byte and no deeper nesting than the configured depth (400).
import express, { type RequestHandler } from 'express';
import type { ApiConfig } from '../lib/config.js';
import { ApiError } from './errors.js';
import { jsonShapeIssue } from './json-shape.js';

const JSON_TYPES = ['application/json', 'application/*+json'];

const hasBody = (req: Parameters<RequestHandler>[0]) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/**
 * A body, when there is one, must be JSON. With `required`, a request with no
 * JSON body at all is refused too (enqueue needs one).
 */
export function jsonBody(api: Pick<ApiConfig, 'bodyLimitBytes' | 'maxJsonDepth'>, { required = false } = {}): RequestHandler[] {
  const checkType: RequestHandler = (req, _res, next) => {
    const isJson = Boolean(req.is(JSON_TYPES));
    if ((hasBody(req) || required) && !isJson) {
      return next(new ApiError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json'));
    }
    next();
  };
  return [checkType, express.json({ limit: api.bodyLimitBytes, type: JSON_TYPES, strict: true }), checkShape(api.maxJsonDepth)];
}

export function checkShape(maxDepth: number): RequestHandler {
  return (req, _res, next) => {
    const issue = jsonShapeIssue(req.body, maxDepth);
    if (!issue) return next();
    next(new ApiError(400, 'invalid_request', `invalid body: ${issue.field}: ${issue.message}`, { issues: [issue] }));
  };
}
