// Each queue's job data schema, importable without the handlers: the api checks
// a payload at enqueue with the same schema the worker checks before `run`, and
// never loads ffmpeg or PDF code to do so.
import type { ZodType } from 'zod';
import { aiSchema } from './schemas/ai.js';
import { documentSchema } from './schemas/document.js';
import { maintenanceSchema } from './schemas/maintenance.js';
import { ragSyncSchema } from './schemas/rag-sync.js';
import { videoSchema } from './schemas/video.js';

export const SCHEMAS: Record<string, ZodType> = {
  video: videoSchema,
  document: documentSchema,
  ai: aiSchema,
  'rag-sync': ragSyncSchema,
  maintenance: maintenanceSchema,
};

export type Validation = { ok: true; data: unknown } | { ok: false; field: string; message: string };

/** Check a job's data for its queue; a queue without a schema here takes any data. */
export function validateJobData(queue: string, data: unknown): Validation {
  const schema = Object.hasOwn(SCHEMAS, queue) ? SCHEMAS[queue] : undefined;
  if (!schema) return { ok: true, data };
  const parsed = schema.safeParse(data);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? ['data', ...issue.path].join('.') : 'data';
  return { ok: false, field, message: issue?.message ?? 'invalid' };
}
