// webhooks: whether the store shows the end a delivery reports. The consumer enqueues a
// delivery before BullMQ records the job's end (src/lib/store/callbacks.ts), so a delivery
// may run before that record lands, or for an end that never landed (its worker died, its
// completion was refused, another attempt took the job): it is posted only for an end the
// store shows, and dropped, saying why, once the job has moved on without it.
import type { JobView } from '../../lib/store/index.js';
import type { WebhookJob } from './schema.js';

export type SourceVerdict = { kind: 'deliver' } | { kind: 'wait' } | { kind: 'drop'; reason: string };

/** `view`: the source job as the store shows it now; undefined once retention removed it. */
export function judgeSource(delivery: Pick<WebhookJob, 'payload' | 'source'>, view: JobView | undefined): SourceVerdict {
  const { payload, source } = delivery;
  // A resend enqueued by hand carries no source: the admin asked for it.
  if (!source) return { kind: 'deliver' };
  // Retention removes only finished jobs: this end, or a later one, was recorded. At least once: post it.
  if (!view) return { kind: 'deliver' };
  const sameAttempt = view.startedAt === source.startedAt;
  // A cancel request that reached the job as it failed shows it cancelled: the same end.
  const sameState = view.state === payload.state || (payload.state === 'failed' && view.state === 'cancelled');
  if (sameAttempt && sameState) return { kind: 'deliver' };
  if (sameAttempt && view.state === 'active') return { kind: 'wait' };
  if (view.state === 'waiting' || view.state === 'delayed') return { kind: 'drop', reason: `the job is ${view.state} again: its ${payload.state} end was never recorded` };
  if (!sameAttempt) return { kind: 'drop', reason: `another attempt ${view.state === 'active' ? 'runs' : `ended it ${view.state}`}: its ${payload.state} end was never recorded` };
  return { kind: 'drop', reason: `the job ended ${view.state}, not ${payload.state}` };
}
