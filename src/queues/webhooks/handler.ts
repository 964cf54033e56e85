// webhooks: one delivery attempt. It first checks that the store shows the end the
// delivery reports (source.ts), waiting a while for a record not landed yet; then the body
// is signed with JOBVISOR_WEBHOOK_SECRET and POSTed through the URL guard (an address it
// refuses is a failed delivery, for good). Each attempt, and how it went, lands on the
// finished job's timeline, and so does a delivery dropped because that end never landed.
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../lib/config.js';
import { UnrecoverableError, coerceError } from '../../lib/errors.js';
import type { JobView } from '../../lib/store/index.js';
import { SIGNATURE_HEADER, signWebhook } from '../../lib/webhook-signature.js';
import { defineHandler, type HandlerContext } from '../define.js';
import { postUrl } from '../io/url-guard.js';
import { webhookSchema, type WebhookJob } from './schema.js';
import { judgeSource, type SourceVerdict } from './source.js';

/**
 * How long a delivery waits for its job's end to be recorded, spending none of its
 * attempts (those are the receiver's): the lock time plus the stalled interval
 * (60 s by default). By then a job whose worker died has been recovered, and the
 * delivery is dropped. Read once, from the worker's own settings.
 */
let sourceWaitMs: number | undefined;

function sourceWait(): number {
  if (sourceWaitMs === undefined) {
    const { lockMs, stalledIntervalMs } = loadConfig().jobs;
    sourceWaitMs = lockMs + stalledIntervalMs;
  }
  return sourceWaitMs;
}
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 1000;

function secret(): string {
  const value = process.env.JOBVISOR_WEBHOOK_SECRET;
  if (!value) throw new UnrecoverableError('JOBVISOR_WEBHOOK_SECRET is not set: webhooks cannot be signed');
  return value;
}

/** The verdict on the delivery's source job, once it is not "wait"; the job's view beside it. */
async function checkSource(delivery: WebhookJob, ctx: HandlerContext): Promise<{ verdict: SourceVerdict; view?: JobView }> {
  if (!delivery.source) return { verdict: judgeSource(delivery, undefined) };
  const deadline = Date.now() + sourceWait();
  for (let pause = POLL_FIRST_MS; ; pause = Math.min(pause * 2, POLL_MAX_MS)) {
    const view = await ctx.jobs.get(delivery.payload.queue, delivery.payload.id);
    const verdict = judgeSource(delivery, view);
    if (verdict.kind !== 'wait') return { verdict, ...(view ? { view } : {}) };
    // Said once, so that a delivery seen active in the dashboard tells what it waits for.
    if (pause === POLL_FIRST_MS) await ctx.progress({ current: 0, total: 1, message: `waiting for ${delivery.payload.queue}/${delivery.payload.id} to record its end` });
    if (Date.now() + pause > deadline) throw new Error(`the job's ${delivery.payload.state} end is not recorded after ${sourceWait() / 1000} s`);
    await sleep(pause, undefined, { signal: ctx.signal });
  }
}

export default defineHandler({
  schema: webhookSchema,
  async run(delivery, ctx) {
    const { url, payload } = delivery;
    const note = (detail: string) => ctx.timeline.add(payload.queue, payload.id, 'webhook', `attempt ${ctx.attempt}: ${detail}`);
    const { verdict, view } = await checkSource(delivery, ctx).catch(async (error: unknown) => {
      await note(coerceError(error).message);
      throw error;
    });
    if (verdict.kind === 'drop') {
      ctx.logger.info({ queue: payload.queue, jobId: payload.id, state: payload.state, reason: verdict.reason }, 'webhook dropped');
      await note(`not delivered: ${verdict.reason}`);
      return { delivered: false, reason: verdict.reason };
    }
    // The time BullMQ recorded, rather than the worker's guess made just before.
    const body = JSON.stringify(view?.finishedAt ? { ...payload, finishedAt: view.finishedAt } : payload);
    const headers = { 'content-type': 'application/json', [SIGNATURE_HEADER.toLowerCase()]: signWebhook(secret(), body), 'jobvisor-delivery': ctx.jobId };
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
