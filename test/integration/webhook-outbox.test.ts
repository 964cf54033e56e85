// Completion webhooks as an outbox (README, "Completion webhooks"): the delivery is enqueued
// before the job's end is recorded, so a worker killed right after that record still leaves
// exactly one delivery; and a delivery whose end the store does not show is not POSTed while
// the job is active, and is dropped, saying why, once the job has gone back to waiting.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { deliveryId } from '../../src/lib/store/callbacks.js';
import type { JobOutcome, Store } from '../../src/lib/store/index.js';
import { exited, fixture, forkWorker } from '../helpers/fork.js';
import type { Received, Receiver } from '../helpers/receiver.js';
import { loseWorkerUntilFailed } from '../helpers/lost-worker.js';
import { useWebhookRig } from '../helpers/webhook-rig.js';
import { latch, waitFor } from '../helpers/wait.js';

describe('completion webhooks as an outbox [redis]', function () {
  this.timeout(90_000);
  let store: Store;
  let receiver: Receiver | undefined;
  let base: string;
  const { env, workers } = useWebhookRig('jvoutbox', (rig) => {
    ({ store, receiver } = rig);
    base = rig.receiver.base;
  });
  /** The POSTs the receiver took. */
  const posted = (): Received[] => receiver?.delivered ?? [];
  let webhooks: ChildProcess | undefined;
  /** The ids of every delivery job, in any state, that reports this document job. */
  const deliveriesOf = async (jobId: string) => {
    const states = ['waiting', 'delayed', 'active', 'completed', 'failed'] as const;
    const views = (await Promise.all(states.map((state) => store.list({ queue: 'webhooks', state, limit: 1000, offset: 0 })))).flat();
    return views.filter((v) => (v.data as { payload?: { id?: string } }).payload?.id === jobId).map((v) => v.id);
  };
  const startWebhooks = () => {
    webhooks ??= forkWorker('webhooks', { ...env, JOBVISOR_WEBHOOK_SECRET: 'outbox-secret', JOBVISOR_URL_ALLOWLIST: '127.0.0.1' });
    if (!workers.includes(webhooks)) workers.push(webhooks);
  };

  it('delivers exactly once the end of a job whose worker was killed as soon as that end was recorded', async () => {
    const worker = forkWorker('document', env, fixture('progress'));
    workers.push(worker);
    const { job } = await store.enqueue({ queue: 'document', data: { steps: 1 }, callbackUrl: `${base}/killed` });
    const view = await waitFor(async () => {
      const v = await store.get('document', job.id);
      return v?.state === 'completed' && v;
    }, { timeoutMs: 30_000, intervalMs: 2, message: 'the job completed' });
    worker.kill('SIGKILL');
    const id = deliveryId({ queue: 'document', id: job.id, state: 'completed' }, Date.parse(view.startedAt!));
    expect(await store.get('webhooks', id), 'the delivery, enqueued before the end was recorded').to.not.equal(undefined);
    await exited(worker);

    startWebhooks();
    await waitFor(() => posted().some((p) => p.path === '/killed'), { timeoutMs: 30_000, message: 'the delivery' });
    await waitFor(async () => (await store.get('webhooks', id))?.state === 'completed', { message: 'the delivery job completed' });
    expect(await deliveriesOf(job.id), 'no second delivery job to post again').to.deep.equal([id]);
    const bodies = posted().filter((p) => p.path === '/killed').map((p) => JSON.parse(p.body));
    expect(bodies).to.have.length(1);
    expect(bodies[0]).to.deep.equal({ id: job.id, queue: 'document', state: 'completed', result: { steps: 1 }, attempts: 1, finishedAt: view.finishedAt });
  });

  it('delivers each end of a job retried by hand: a failure, then the completion of its retry', async () => {
    startWebhooks();
    let runs = 0;
    const consumer = store.consume('document', async (): Promise<JobOutcome> => (++runs === 1
      ? { kind: 'failed', error: new Error('first run fails') }
      : { kind: 'completed', result: { run: runs } }), { concurrency: 1 });
    try {
      const { job } = await store.enqueue({ queue: 'document', data: { steps: 1 }, attempts: 1, callbackUrl: `${base}/twice` });
      await waitFor(() => posted().some((p) => p.path === '/twice'), { timeoutMs: 30_000, message: 'the failure delivered' });
      await store.retry('document', job.id);
      await waitFor(() => posted().filter((p) => p.path === '/twice').length === 2, { timeoutMs: 30_000, message: 'the completion delivered' });
      expect(posted().filter((p) => p.path === '/twice').map((p) => JSON.parse(p.body).state)).to.deep.equal(['failed', 'completed']);
    } finally {
      await consumer.close();
    }
  });

  it('delivers once the cancel of a running job, after its cancelled record is kept', async () => {
    startWebhooks();
    const consumer = store.consume('document', (_, controller) => new Promise<JobOutcome>((resolve) => {
      controller.signal.addEventListener('abort', () => resolve({ kind: 'cancelled' }));
    }), { concurrency: 1 });
    try {
      const { job } = await store.enqueue({ queue: 'document', data: { steps: 1 }, callbackUrl: `${base}/cancel-active` });
      await waitFor(async () => (await store.get('document', job.id))?.state === 'active', { message: 'the job active' });
      expect((await store.cancel('document', job.id)).state).to.equal('cancelled');
      await waitFor(() => posted().some((p) => p.path === '/cancel-active'), { timeoutMs: 30_000, message: 'the delivery' });
      const view = (await store.get('document', job.id))!;
      const id = deliveryId({ queue: 'document', id: job.id, state: 'cancelled' }, Date.parse(view.startedAt!));
      await waitFor(async () => (await store.get('webhooks', id))?.state === 'completed', { message: 'the delivery job completed' });
      expect(await deliveriesOf(job.id), 'no second delivery job to post again').to.deep.equal([id]);
      const bodies = posted().filter((p) => p.path === '/cancel-active').map((p) => JSON.parse(p.body));
      expect(bodies).to.have.length(1);
      expect(bodies[0]).to.deep.include({ id: job.id, state: 'cancelled', error: 'job cancelled', finishedAt: view.finishedAt });
    } finally {
      await consumer.close();
    }
  });

  it('holds a delivery while the job it reports is still active, and drops it without a POST once the job is back to waiting', async () => {
    startWebhooks();
    const outcome = latch<JobOutcome>();
    const consumer = store.consume('document', () => outcome.promise, { concurrency: 1 });
    try {
      const { job } = await store.enqueue({ queue: 'document', data: { steps: 1 } });
      const active = await waitFor(async () => {
        const v = await store.get('document', job.id);
        return v?.state === 'active' && consumer.held().length === 1 && v;
      }, { message: 'the job active' });
      // As the consumer enqueues it once the attempt's outcome is known, before BullMQ records it.
      const payload = { id: job.id, queue: 'document', state: 'completed' as const, result: { steps: 1 }, attempts: 1, finishedAt: new Date().toISOString() };
      const id = deliveryId(payload, Date.parse(active.startedAt!));
      await store.enqueue({ queue: 'webhooks', data: { url: `${base}/early`, payload, source: { startedAt: active.startedAt } }, jobId: id, attempts: 8 });
      // The handler looked at the job, found it active, and chose to wait (it says so once, in its progress).
      await waitFor(async () => {
        const delivery = await store.get('webhooks', id);
        return delivery?.state === 'active' && (delivery.progress as { message?: string } | null)?.message === `waiting for document/${job.id} to record its end`;
      }, { timeoutMs: 30_000, message: 'the delivery waiting for the job' });
      expect(posted().filter((p) => p.path === '/early'), 'no POST while the job is active').to.have.length(0);
      expect((await store.get('webhooks', id))!.state, 'the delivery waits').to.equal('active');

      // Its worker is lost: the supervisor's release gives the job back before that end was recorded.
      expect(await store.releaseJobs('document', consumer.held(), 'was killed')).to.deep.equal([job.id]);
      const dropped = await waitFor(async () => {
        const v = await store.get('webhooks', id);
        return v?.state === 'completed' && v;
      }, { timeoutMs: 10_000, message: 'the delivery dropped' });
      expect(dropped.result).to.deep.include({ delivered: false });
      expect(dropped.attempts, 'the wait spent no delivery attempt').to.equal(1);
      const source = (await store.get('document', job.id))!;
      expect(source.state).to.equal('waiting');
      expect(source.timeline.filter((e) => e.event === 'webhook').map((e) => e.detail)).to.deep.equal([
        'attempt 1: not delivered: the job is waiting again: its completed end was never recorded',
      ]);
      expect(posted().filter((p) => p.path === '/early')).to.have.length(0);
    } finally {
      outcome.resolve({ kind: 'retry', error: new Error('released') });
      await consumer.close();
    }
  });

  it('delivers the failure of a job the supervisor fails for good, its worker lost once too often', async () => {
    startWebhooks();
    const { job } = await store.enqueue({ queue: 'document', data: { steps: 1 }, callbackUrl: `${base}/lost` });
    await loseWorkerUntilFailed(store, 'document', job.id); // an earlier test's waiting job just completes
    const delivered = await waitFor(() => posted().find((p) => p.path === '/lost'), { timeoutMs: 30_000, message: 'the failure POSTed' });
    expect(JSON.parse(delivered.body)).to.deep.include({ id: job.id, queue: 'document', state: 'failed', error: 'job lost its worker 3 times (was killed)' });
    expect(await deliveriesOf(job.id), 'one delivery').to.have.length(1);
  });
});
