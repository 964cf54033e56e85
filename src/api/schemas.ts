// What a client may send, as zod schemas. Unknown fields are refused rather
// than ignored, so that a typo (`priorty`) is a 400 and not a silent default.
import { z } from 'zod';
import { JOB_STATES } from '../lib/store/index.js';
import { TENANT_NAME } from '../lib/tenants.js';

const DAY_MS = 86_400_000;
/** How far ahead a job may be put, by `delay` or by `runAt`: a dedup key cannot be held for good. */
const MAX_DELAY_MS = 365 * DAY_MS;
const text = (max: number) => z.string().min(1).max(max).refine((s) => !s.includes('\0'), 'contains a NUL byte');

export const enqueueBody = z.strictObject({
  queue: text(100),
  name: text(200).optional(),
  data: z.unknown().refine((value) => value !== undefined, 'data is required'),
  priority: z.number().int().min(1).max(10).optional(),
  delay: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
  runAt: z.iso.datetime({ offset: true }).refine((at) => Date.parse(at) - Date.now() <= MAX_DELAY_MS, 'at most 365 days from now').optional(),
  attempts: z.number().int().min(1).max(100).optional(),
  timeoutMs: z.number().int().min(1).max(7 * DAY_MS).optional(),
  dedupKey: text(256).optional(),
  projectId: text(256).optional(),
  /** Where the final state is POSTed, signed; the webhooks worker's URL guard decides what it may reach. */
  callbackUrl: z.string().max(2048).refine((url) => /^https?:\/\//i.test(url) && URL.canParse(url), 'an http or https URL').optional(),
}).refine((body) => body.delay === undefined || body.runAt === undefined, { message: 'give delay or runAt, not both', path: ['runAt'] });

export type EnqueueBody = z.infer<typeof enqueueBody>;

const jobId = text(256);

export const jobParams = z.object({ queue: text(100), id: jobId });
export const queueParams = z.object({ queue: text(100) });

export const statusQuery = z.strictObject({ queue: text(100), jobId });

const wholeNumber = (min: number, max: number) =>
  z.string().regex(/^\d{1,6}$/, 'a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

export const listQuery = z.strictObject({
  /** Without it, every queue's jobs (the list across queues, paged by cursor). */
  queue: text(100).optional(),
  name: text(200).optional(),
  createdAfter: z.iso.datetime({ offset: true }).optional(),
  createdBefore: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().regex(/^[\w-]{1,1200}$/, 'not a cursor').optional(),
  state: z.enum(JOB_STATES as [string, ...string[]]).optional(),
  projectId: text(256).optional(),
  /** Admin keys only: one tenant's jobs. */
  tenant: z.string().regex(TENANT_NAME, 'a tenant name: letters, digits and ._-').optional(),
  limit: wholeNumber(1, 100).optional(),
  /** Bounded: the store reads offset + limit jobs of each state to answer. */
  offset: wholeNumber(0, 10_000).optional(),
});

export type ListQuery = z.infer<typeof listQuery>;

/** POST /api/queues/:queue/retry-failed (README, "Redrive"). */
export const redriveBody = z.strictObject({
  name: text(200).optional(),
  projectId: text(256).optional(),
  tenant: z.string().regex(TENANT_NAME, 'a tenant name: letters, digits and ._-').optional(),
  failedAfter: z.iso.datetime({ offset: true }).optional(),
  failedBefore: z.iso.datetime({ offset: true }).optional(),
  cancelled: z.boolean().optional(),
  dryRun: z.boolean().optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
});
