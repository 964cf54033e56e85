// Completion webhooks (README, "Completion webhooks"): a job enqueued with a callbackUrl
// gets, on its final state, one delivery job on jobvisor's own `webhooks` queue, whose
// worker signs and POSTs it with retries. The delivery is enqueued where the final state
// is recorded (the consumer, or a cancel before the job ran); the POST is never made
// there. Its id is the finished job's, so a second enqueue of the same end (a record
// seen twice) is the same delivery, not another one.
import type { Queue } from 'bullmq';
import { jobOptions, type JobDefaults } from './job-options.js';
import { timelineLine } from './job-view.js';
import type { JobState, TimelineEvent } from './types.js';

export const CALLBACK_QUEUE = 'webhooks';
/** Deliveries try this often, with exponential backoff from the deployment's backoff. */
const DELIVERY_ATTEMPTS = 8;

/** What the receiver is POSTed. */
export interface CallbackPayload {
  id: string;
  queue: string;
  state: Extract<JobState, 'completed' | 'failed' | 'cancelled'>;
  result?: unknown;
  error?: string;
  attempts: number;
  finishedAt: string;
}

/** BullMQ refuses `:` in a custom id; queue names and job ids hold no `.`-joined ambiguity that matters here. */
export function deliveryId(queue: string, id: string): string {
  return `${queue}.${id}`.replace(/:/g, '_');
}

export async function enqueueCallback(webhooks: Queue, defaults: JobDefaults, url: string, payload: CallbackPayload): Promise<void> {
  const id = deliveryId(payload.queue, payload.id);
  const data = { url, payload };
  await webhooks.add('deliver', data, {
    ...jobOptions(defaults, { queue: CALLBACK_QUEUE, data, attempts: DELIVERY_ATTEMPTS }, id),
  });
}

/** A line on the finished job's timeline, as the webhook worker reports each attempt. */
export async function addTimelineEntry(queue: Queue, id: string, event: TimelineEvent, detail: string): Promise<void> {
  await queue.addJobLog(id, timelineLine(event, Date.now(), detail));
}
