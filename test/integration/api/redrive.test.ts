// Redrive (README, "Redrive"): POST /api/queues/:queue/retry-failed sends failed jobs, and
// cancelled ones on request, back to waiting in bulk, by filter, with a dry run; admin only.
// Over Redis and PostgreSQL, with jobs failed by a real consumer.
import { expect } from 'chai';
import request from 'supertest';
import type { JobView } from '../../../src/lib/store/index.js';
import { waitFor } from '../../helpers/wait.js';
import { openApi, postgresBackend, redisBackend, type Backend, type TestApi } from './harness.js';

const QUEUE = 'document';
const ADMIN = { Authorization: 'Bearer admin-key' };

for (const backend of [redisBackend(), postgresBackend()] as Backend[]) {
  describe(`POST /api/queues/:queue/retry-failed [${backend.name}]`, function () {
    this.timeout(60_000);
    let api: TestApi;
    /** a: name a, project p; b: name b, project q; t: tenant acme; x: cancelled; c: completed. Failed in the order a, b, t. */
    const ids: Record<string, string> = {};
    const ended: Record<string, number> = {};

    const failOne = async (key: string, input: { name: string; projectId: string; tenant?: string }) => {
      ids[key] = (await api.store.enqueue({ queue: QUEUE, attempts: 1, data: { fail: true }, ...input })).job.id;
      const view = await waitFor(async () => {
        const job = await api.store.get(QUEUE, ids[key]!);
        return job?.state === 'failed' && job.finishedAt ? job : undefined;
      }, { message: `${key} failed` });
      ended[key] = Date.parse(view.finishedAt!);
      await waitFor(() => Date.now() > ended[key]! + 2, { intervalMs: 1 }); // distinct failure milliseconds
    };
    const redrive = (body: object, auth: Record<string, string> = ADMIN) =>
      request(api.app).post(`/api/queues/${QUEUE}/retry-failed`).set(auth).send(body);
    const state = async (key: string) => (await api.store.get(QUEUE, ids[key]!))?.state;
    const sorted = (list: string[]) => [...list].sort();

    before(async function () {
      await backend.require(this);
      api = await openApi(backend, { API_KEYS: 'user-key', ADMIN_API_KEYS: 'admin-key' });
      const consumer = api.store.consume(QUEUE, async (job) => (job.data as { fail?: boolean }).fail
        ? { kind: 'failed', error: new Error('boom') }
        : { kind: 'completed', result: null }, { concurrency: 1 });
      await failOne('a', { name: 'a', projectId: 'p' });
      await failOne('b', { name: 'b', projectId: 'q' });
      await failOne('t', { name: 'a', projectId: 'p', tenant: 'acme' });
      ids.c = (await api.store.enqueue({ queue: QUEUE, data: {} })).job.id;
      await waitFor(async () => (await state('c')) === 'completed', { message: 'c completed' });
      await consumer.close();
      ids.x = (await api.store.enqueue({ queue: QUEUE, data: {}, delayMs: 60_000 })).job.id;
      await api.store.cancel(QUEUE, ids.x);
    });
    after(async () => {
      await api?.store.close();
      await backend.cleanup();
    });

    it('refuses user keys, unknown queues and unknown fields', async () => {
      await redrive({ dryRun: true }, { Authorization: 'Bearer user-key' }).expect(403);
      await request(api.app).post('/api/queues/nope/retry-failed').set(ADMIN).send({}).expect(404);
      const typo = await redrive({ dryrun: true }).expect(400);
      expect(typo.body.error.message).to.include('dryrun');
      const tooMany = await redrive({ limit: 10_001 }).expect(400);
      expect(tooMany.body.error.message).to.include('limit');
    });

    it('selects by each filter in a dry run, and changes nothing', async () => {
      const select = async (body: object) => sorted((await redrive({ ...body, dryRun: true }).expect(200)).body.ids);
      expect(await select({})).to.deep.equal(sorted([ids.a!, ids.b!, ids.t!]));
      expect(await select({ name: 'a' })).to.deep.equal(sorted([ids.a!, ids.t!]));
      expect(await select({ projectId: 'q' })).to.deep.equal([ids.b]);
      expect(await select({ tenant: 'acme' })).to.deep.equal([ids.t]);
      expect(await select({ failedAfter: new Date(ended.b!).toISOString() })).to.deep.equal(sorted([ids.b!, ids.t!]));
      expect(await select({ failedBefore: new Date(ended.b!).toISOString() })).to.deep.equal([ids.a]);
      expect(await select({ cancelled: true })).to.deep.equal(sorted([ids.a!, ids.b!, ids.t!, ids.x!]));
      expect(await select({ limit: 1 })).to.have.length(1);
      const { body } = await redrive({ dryRun: true }).expect(200);
      expect(body).to.include({ count: 3, dryRun: true, truncated: false });
      for (const key of ['a', 'b', 't']) expect(await state(key)).to.equal('failed');
      expect(await state('x')).to.equal('cancelled');
    });

    it('sends the matching failed jobs back to waiting with fresh attempts, and leaves the rest', async () => {
      const { body } = await redrive({ name: 'a', tenant: 'default' }).expect(200);
      expect(body).to.deep.equal({ count: 1, dryRun: false, ids: [ids.a], truncated: false });
      const a = (await api.store.get(QUEUE, ids.a!)) as JobView;
      expect(a.state).to.equal('waiting');
      expect(a.attempts).to.equal(0);
      expect(a.timeline.map((e) => e.event)).to.include('retrying');
      expect(await state('b')).to.equal('failed');
      expect(await state('t')).to.equal('failed');
    });

    it('sends cancelled jobs back only when asked', async () => {
      const failedOnly = await redrive({ projectId: 'q' }).expect(200);
      expect(failedOnly.body.ids).to.deep.equal([ids.b]);
      expect(await state('x')).to.equal('cancelled');
      const withCancelled = await redrive({ cancelled: true }).expect(200);
      expect(sorted(withCancelled.body.ids)).to.deep.equal(sorted([ids.t!, ids.x!]));
      expect(await state('x')).to.equal('waiting');
      expect(await state('t')).to.equal('waiting');
      expect(await state('c')).to.equal('completed');
    });
  });
}
