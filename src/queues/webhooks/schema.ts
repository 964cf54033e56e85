// webhooks: one completion webhook delivery, enqueued by the store when a job with a
// callbackUrl ends (src/lib/store/callbacks.ts).
import { z } from 'zod';

export const webhookSchema = z.object({
  url: z.string().url().max(2048),
  payload: z.object({
    id: z.string().min(1),
    queue: z.string().min(1),
    state: z.enum(['completed', 'failed', 'cancelled']),
    result: z.unknown().optional(),
    error: z.string().optional(),
    attempts: z.number().int().min(0),
    finishedAt: z.string(),
  }),
  /** The attempt whose end this is (CallbackSource); a resend enqueued by hand leaves it out and is posted unchecked. */
  source: z.object({ startedAt: z.string().nullable() }).optional(),
});
export type WebhookJob = z.infer<typeof webhookSchema>;
