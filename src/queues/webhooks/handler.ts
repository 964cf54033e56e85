// webhooks: one delivery attempt. The body is signed with JOBVISOR_WEBHOOK_SECRET and
// POSTed through the URL guard (an address it refuses is a failed delivery, for good);
// each attempt, and how it went, lands on the finished job's timeline.
import { UnrecoverableError, coerceError } from '../../lib/errors.js';
import { SIGNATURE_HEADER, signWebhook } from '../../lib/webhook-signature.js';
import { defineHandler } from '../define.js';
import { postUrl } from '../io/url-guard.js';
import { webhookSchema } from './schema.js';

function secret(): string {
  const value = process.env.JOBVISOR_WEBHOOK_SECRET;
  if (!value) throw new UnrecoverableError('JOBVISOR_WEBHOOK_SECRET is not set: webhooks cannot be signed');
  return value;
}

export default defineHandler({
  schema: webhookSchema,
  async run({ url, payload }, ctx) {
    const body = JSON.stringify(payload);
    const headers = { 'content-type': 'application/json', [SIGNATURE_HEADER.toLowerCase()]: signWebhook(secret(), body), 'jobvisor-delivery': ctx.jobId };
    const note = (detail: string) => ctx.timeline.add(payload.queue, payload.id, 'webhook', `attempt ${ctx.attempt}: ${detail}`);
    try {
      const status = await postUrl(url, { headers, body: Buffer.from(body) }, { signal: ctx.signal });
      await note(`delivered (HTTP ${status})`);
      return { delivered: true, status, attempt: ctx.attempt };
    } catch (error) {
      await note(coerceError(error).message);
      throw error;
    }
  },
});
