// Completion webhooks (README, "Completion webhooks"): a job enqueued with a callbackUrl
// gets, on its final state, one delivery job on jobvisor's own `webhooks` queue, whose
// worker signs and POSTs it with retries. The delivery is an outbox entry: the consumer
// enqueues it before BullMQ records the final state, so a worker that dies in between
// leaves a delivery behind rather than none, and the webhooks worker POSTs only once the
// store shows that end (src/queues/webhooks/source.ts). Its id names the end — the job,
// the attempt's start, the state — so enqueueing the same end again is the same delivery,
// while a job retried by hand that ends again gets another one.
import type { Queue } from 'bullmq';
import { jobOptions, type JobDefaults } from './job-options.js';
import { timelineLine } from './job-view.js';
import type { JobState, TimelineEvent } from './types.js';

export const CALLBACK_QUEUE = 'webhooks';
/** Deliveries try this often, with exponential backoff from the deployment's backoff. */
const DELIVERY_ATTEMPTS = 8;

export type FinalState = Extract<JobState, 'completed' | 'failed' | 'cancelled'>;

/** What the receiver is POSTed. */
export interface CallbackPayload {
  id: string;
  queue: string;
  state: FinalState;
  result?: unknown;
  error?: string;
  attempts: number;
  finishedAt: string;
}

/**
 * Which end of the job a delivery reports: the start of the attempt that ended it
 * (BullMQ's processedOn, as the job view's startedAt), null for a job cancelled
 * before it ever ran. The webhooks worker delivers only if the store shows this end.
 */
export interface CallbackSource {
  startedAt: string | null;
}

/** BullMQ refuses `:` in a custom id. `stamp`: the attempt's start, or a pre-run cancel's time, in ms. */
export function deliveryId(payload: Pick<CallbackPayload, 'queue' | 'id' | 'state'>, stamp: number): string {
  return `${payload.queue}.${payload.id}.${stamp}.${payload.state}`.replace(/:/g, '_');
}

/** `startedAt`: the ending attempt's start in ms (BullMQ's processedOn); undefined for a job cancelled before it ran. */
export async function enqueueCallback(webhooks: Queue, defaults: JobDefaults, url: string, payload: CallbackPayload, startedAt: number | undefined): Promise<void> {
  const source: CallbackSource = { startedAt: startedAt === undefined ? null : new Date(startedAt).toISOString() };
  const data = { url, payload, source };
  const id = deliveryId(payload, startedAt ?? Date.parse(payload.finishedAt));
  await webhooks.add('deliver', data, jobOptions(defaults, { queue: CALLBACK_QUEUE, data, attempts: DELIVERY_ATTEMPTS }, id));
}

/** A line on the finished job's timeline, as the webhook worker reports each attempt. */
export async function addTimelineEntry(queue: Queue, id: string, event: TimelineEvent, detail: string): Promise<void> {
  await queue.addJobLog(id, timelineLine(event, Date.now(), detail));
}
