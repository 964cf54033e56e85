// Completion webhooks end to end (README, "Completion webhooks"): a job run by a forked
// worker ends, the store enqueues its delivery, a forked webhooks worker signs and POSTs
// it to a local receiver (allowlisted past the URL guard), retrying until it answers 2xx;
// every attempt shows in the job's timeline.
import { expect } from 'chai';
import type { Store } from '../../src/lib/store/index.js';
import { SIGNATURE_HEADER, verifySignature } from '../../src/lib/webhook-signature.js';
import { fixture, forkWorker } from '../helpers/fork.js';
import type { Receiver } from '../helpers/receiver.js';
import { useWebhookRig } from '../helpers/webhook-rig.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'test-webhook-secret';

interface Delivery { path: string; body: string; verified: boolean }

describe('completion webhooks [redis]', function () {
  this.timeout(60_000);
  let store: Store;
  let receiver: Receiver | undefined;
  let base: string;
  useWebhookRig('jvhook', (rig) => {
    ({ store, receiver } = rig);
    base = rig.receiver.base;
    rig.workers.push(forkWorker('document', rig.env, fixture('progress')));
    rig.workers.push(forkWorker('webhooks', { ...rig.env, JOBVISOR_WEBHOOK_SECRET: SECRET, JOBVISOR_URL_ALLOWLIST: '127.0.0.1' }));
  });
  /** What the receiver took, each with whether its signature checks out. */
  const deliveries = (): Delivery[] => (receiver?.delivered ?? []).map(({ path, body, headers }) =>
    ({ path, body, verified: verifySignature(headers[SIGNATURE_HEADER.toLowerCase()] as string, body, SECRET) }));

  it('delivers exactly one verified webhook per finished job, the cancelled one included', async () => {
    const done = await store.enqueue({ queue: 'document', data: { steps: 1 }, callbackUrl: `${base}/done` });
    const cancelled = await store.enqueue({ queue: 'document', data: { steps: 1 }, delayMs: 60_000, callbackUrl: `${base}/cancelled` });
    await store.cancel('document', cancelled.job.id);
    await waitFor(() => deliveries().some((d) => d.path === '/done') && deliveries().some((d) => d.path === '/cancelled'), { timeoutMs: 30_000, message: 'two deliveries' });
    const view = await waitFor(async () => {
      const v = await store.get('document', done.job.id);
      return v?.timeline.some((e) => e.event === 'webhook') && v;
    }, { message: 'the delivery in the timeline' });
    const [delivered] = deliveries().filter((d) => d.path === '/done');
    expect(delivered!.verified).to.equal(true);
    expect(JSON.parse(delivered!.body)).to.deep.include({ id: done.job.id, queue: 'document', state: 'completed', result: { steps: 1 }, attempts: 1 });
    expect(JSON.parse(deliveries().find((d) => d.path === '/cancelled')!.body)).to.include({ state: 'cancelled' });
    expect(view.timeline.filter((e) => e.event === 'webhook').map((e) => e.detail)).to.deep.equal(['attempt 1: delivered (HTTP 204)']);
    expect(verifySignature('t=1,v1=' + '0'.repeat(64), delivered!.body, SECRET)).to.equal(false);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate would have come by now
    expect(deliveries().filter((d) => d.path === '/done')).to.have.length(1);
  });

  it('retries a delivery that fails twice and succeeds on the third try, each attempt in the timeline', async () => {
    receiver!.failNext('/flaky', 2);
    const { job } = await store.enqueue({ queue: 'document', data: { steps: 1 }, callbackUrl: `${base}/flaky` });
    await waitFor(() => deliveries().some((d) => d.path === '/flaky'), { timeoutMs: 30_000, message: 'the third attempt' });
    const view = await waitFor(async () => {
      const v = await store.get('document', job.id);
      return (v?.timeline.filter((e) => e.event === 'webhook').length ?? 0) >= 3 && v;
    }, { message: 'three attempts in the timeline' });
    expect(view.timeline.filter((e) => e.event === 'webhook').map((e) => e.detail)).to.deep.equal([
      `attempt 1: POST ${base}/flaky: HTTP 500`, `attempt 2: POST ${base}/flaky: HTTP 500`, 'attempt 3: delivered (HTTP 204)',
    ]);
    expect(deliveries().filter((d) => d.path === '/flaky')).to.have.length(1);
  });
});
