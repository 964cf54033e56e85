// Tenants in the store (README, Tenants), run unchanged against every mode: a job keeps the
// tenant it was enqueued for; get, cancel and retry scoped to another tenant find nothing and
// change nothing; dedup keys and project labels are per tenant; lists of one tenant read its
// own index.
import { expect } from 'chai';
import { pino } from 'pino';
import { NotFoundError, StateConflictError } from '../../src/lib/errors.js';
import type { JobView, Store } from '../../src/lib/store/index.js';
import { startRuntime, type Runtime } from '../../src/workers/runtime.js';
import { uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { useModeStore, type ModeHarness } from './describe-store.js';

const silent = pino({ level: 'silent' });
const ids = (jobs: JobView[]) => jobs.map((j) => j.id);

export function describeTenants(mode: string, harness: ModeHarness): void {
  describe(`store tenants [${mode}]`, function () {
    this.timeout(60_000);
    let store: Store;
    let queue: string;
    let runtime: Runtime | undefined;

    useModeStore(harness, (opened) => (store = opened));
    beforeEach(() => {
      queue = uniqueName('qt');
    });
    afterEach(async () => {
      await runtime?.close();
      runtime = undefined;
    });

    const notFound = (promise: Promise<unknown>) => promise.then(() => 'resolved', (e: unknown) => e);

    it('keeps the tenant a job was enqueued for, and the default tenant when none was given', async () => {
      const acme = (await store.enqueue({ queue, data: {}, tenant: 'acme' })).job;
      const plain = (await store.enqueue({ queue, data: {} })).job;
      expect(acme.tenant).to.equal('acme');
      expect((await store.get(queue, acme.id))!.tenant).to.equal('acme');
      expect((await store.get(queue, plain.id))!.tenant).to.equal('default');
    });

    it('finds another tenant\'s job as if it did not exist: get, cancel and retry change nothing', async () => {
      const waiting = (await store.enqueue({ queue, data: {}, tenant: 'acme', delayMs: 60_000 })).job;
      expect(await store.get(queue, waiting.id, 'globex')).to.equal(undefined);
      expect(await store.get(queue, waiting.id, 'acme')).to.include({ id: waiting.id });
      expect(await notFound(store.cancel(queue, waiting.id, 'globex'))).to.be.instanceOf(NotFoundError);
      expect((await store.get(queue, waiting.id))!.state).to.equal('delayed');
      // Cancelled (archived beside BullMQ) and failed jobs are scoped the same way.
      expect((await store.cancel(queue, waiting.id, 'acme')).state).to.equal('cancelled');
      expect(await store.get(queue, waiting.id, 'globex')).to.equal(undefined);
      expect(await notFound(store.cancel(queue, waiting.id, 'globex'))).to.be.instanceOf(NotFoundError);
      expect(await notFound(store.cancel(queue, waiting.id, 'acme'))).to.be.instanceOf(StateConflictError);
      expect(await notFound(store.retry(queue, waiting.id, 'globex'))).to.be.instanceOf(NotFoundError);
      expect((await store.get(queue, waiting.id))!.state).to.equal('cancelled');
      const back = await store.retry(queue, waiting.id, 'acme');
      expect(back).to.include({ id: waiting.id, tenant: 'acme' });
    });

    it('scopes retry of a failed job to its tenant', async () => {
      const { job } = await store.enqueue({ queue, data: {}, tenant: 'acme', attempts: 1 });
      runtime = startRuntime({ store, queue, handler: { run: async () => { throw new Error('no'); } }, concurrency: 1, logger: silent, heartbeatMs: 200 });
      await waitFor(async () => (await store.get(queue, job.id))?.state === 'failed', { message: 'the job failed' });
      await runtime.close();
      runtime = undefined;
      expect(await notFound(store.retry(queue, job.id, 'globex'))).to.be.instanceOf(NotFoundError);
      expect((await store.get(queue, job.id))!.state).to.equal('failed');
      expect((await store.retry(queue, job.id, 'acme')).state).to.equal('waiting');
    });

    it('makes the same dedupKey in two tenants two jobs, and shows each its own key', async () => {
      const a = await store.enqueue({ queue, data: { who: 'acme' }, tenant: 'acme', dedupKey: 'doc-1' });
      const g = await store.enqueue({ queue, data: { who: 'globex' }, tenant: 'globex', dedupKey: 'doc-1' });
      // A key that spells another tenant's dedup id is still a key of its own tenant.
      const spelled = await store.enqueue({ queue, data: { who: 'default' }, dedupKey: 'acme:doc-1' });
      expect([a.created, g.created, spelled.created]).to.deep.equal([true, true, true]);
      expect(new Set([a.job.id, g.job.id, spelled.job.id]).size).to.equal(3);
      const again = await store.enqueue({ queue, data: { who: 'acme again' }, tenant: 'acme', dedupKey: 'doc-1' });
      expect(again).to.deep.include({ created: false });
      expect(again.job).to.include({ id: a.job.id, tenant: 'acme', dedupKey: 'doc-1' });
      expect((await store.get(queue, g.job.id))!.dedupKey).to.equal('doc-1');
    });

    it('lists one tenant\'s jobs from its own index, by state and by project label', async () => {
      const a1 = (await store.enqueue({ queue, data: {}, tenant: 'acme', projectId: 'p' })).job;
      const g1 = (await store.enqueue({ queue, data: {}, tenant: 'globex', projectId: 'p' })).job;
      const [a2, g2] = (await store.enqueueBulk([
        { queue, data: {}, tenant: 'acme', delayMs: 60_000 }, { queue, data: {}, tenant: 'globex' },
      ])).map((r) => r.job);
      const list = (query: Partial<Parameters<Store['list']>[0]>) => store.list({ queue, limit: 10, offset: 0, ...query });
      expect(ids(await list({ tenant: 'acme' }))).to.deep.equal([a2!.id, a1.id]);
      expect(ids(await list({ tenant: 'globex' }))).to.deep.equal([g2!.id, g1.id]);
      expect(ids(await list({}))).to.deep.equal([g2!.id, a2!.id, g1.id, a1.id]);
      expect(ids(await list({ tenant: 'acme', state: 'delayed' }))).to.deep.equal([a2!.id]);
      expect(ids(await list({ tenant: 'acme', projectId: 'p' }))).to.deep.equal([a1.id]);
      expect(ids(await list({ projectId: 'p' }))).to.deep.equal([g1.id, a1.id]);
      expect(await list({ tenant: 'initech' })).to.deep.equal([]);
      await store.cancel(queue, a2!.id, 'acme');
      expect(ids(await list({ tenant: 'acme', state: 'cancelled' }))).to.deep.equal([a2!.id]);
      expect(await list({ tenant: 'globex', state: 'cancelled' })).to.deep.equal([]);
    });

    it('puts every job of a flow in its root\'s tenant', async () => {
      const flow = await store.enqueueFlow({
        queue, tenant: 'acme', data: { parent: true }, children: [{ queue, data: { child: true }, tenant: 'globex' }],
      });
      expect((await store.get(queue, flow.id, 'acme'))!.tenant).to.equal('acme');
      expect((await store.get(queue, flow.children[0]!.id, 'acme'))!.tenant).to.equal('acme');
      expect(await store.get(queue, flow.children[0]!.id, 'globex')).to.equal(undefined);
      await waitFor(async () => (await store.list({ queue, tenant: 'acme', limit: 10, offset: 0 })).length === 2, { message: 'the flow listed' });
    });
  });
}
