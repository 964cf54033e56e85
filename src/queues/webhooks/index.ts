// webhooks: delivers completion webhooks, signed, at least once, with retries and
// backoff, on workers of its own, never from the worker that ran the job. Deliveries are
// enqueued by the store; a direct enqueue (a resend) takes an admin key.
import { defineQueue } from '../define.js';
import { webhookSchema } from './schema.js';

export default defineQueue({
  name: 'webhooks',
  defaults: { concurrency: 20, maxMemoryMb: 256, drainTimeoutMs: 15_000, rank: 2, targetWaitMs: 10_000 },
  access: 'admin',
  schema: webhookSchema,
  handler: () => import('./handler.js'),
  // The signing secret: withheld from every other worker, like any webhook secret (README, What runs as whom).
  secrets: ['JOBVISOR_WEBHOOK_SECRET'],
});
