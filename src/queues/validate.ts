// A job's data checked against its queue's schema: the api does it at enqueue
// (and for schedule payloads, named `payload`), the worker again before `run`.
import { fieldIssues, type FieldIssue } from '../lib/errors.js';
import { QUEUES, type QueueName } from './index.js';
import type { ZodType } from 'zod';

export type Validation = { ok: true; data: unknown } | ({ ok: false } & FieldIssue);

export function validateWith(schema: ZodType, data: unknown, prefix = 'data'): Validation {
  const parsed = schema.safeParse(data);
  if (parsed.success) return { ok: true, data: parsed.data };
  return { ok: false, ...fieldIssues(parsed.error, { prefix })[0]! };
}

export function validateJobData(queue: QueueName, data: unknown): Validation {
  return validateWith(QUEUES[queue].schema, data);
}
