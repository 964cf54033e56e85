// The list across queues (README, "One list across queues"): every queue's jobs newest
// first, filtered by state, project, name and creation window, paged by cursor, over
// Redis and PostgreSQL.
import { expect } from 'chai';
import request from 'supertest';
import type { Consumer } from '../../../src/lib/store/index.js';
import { waitFor } from '../../helpers/wait.js';
import { openApi, postgresBackend, redisBackend, useApi, type Backend, type TestApi } from './harness.js';

for (const backend of [redisBackend(), postgresBackend()] as Backend[]) {
  describe(`GET /api/jobs across queues [${backend.name}]`, function () {
    this.timeout(30_000);
    let api: TestApi;
    const consumers: Consumer[] = [];
    const ids: Record<string, string> = {};

    before(async function () {
      await backend.require(this);
      api = await openApi(backend);
      // Oldest first: v1 (video, p) completed, d1 (document, p) completed, d2 (document, q) completed, v2 (video, p) waiting.
      const add = async (key: string, queue: string, projectId: string, name = 'default') => {
        ids[key] = (await api.store.enqueue({ queue, projectId, name, data: { url: 'https://example.com/a.mp4' } })).job.id;
        await new Promise((resolve) => setTimeout(resolve, 3)); // distinct creation milliseconds
      };
      await add('v1', 'video', 'p', 'thumb');
      await add('d1', 'document', 'p');
      await add('d2', 'document', 'q');
      for (const queue of ['video', 'document']) {
        consumers.push(api.store.consume(queue, async (job) => ({ kind: 'completed', result: job.id }), { concurrency: 5 }));
      }
      await waitFor(async () => (await api.store.get('document', ids.d2!))?.state === 'completed'
        && (await api.store.get('video', ids.v1!))?.state === 'completed', { message: 'three jobs completed' });
      await Promise.all(consumers.map((c) => c.close()));
      await add('v2', 'video', 'p');
    });
    after(async () => {
      await Promise.all(consumers.map((c) => c.close()));
      await api?.store.close();
      await backend.cleanup();
    });

    it("lists one project's completed jobs of every queue, newest first", async () => {
      const { body } = await request(api.app).get('/api/jobs?projectId=p&state=completed').expect(200);
      expect(body.jobs.map((j: { id: string }) => j.id)).to.deep.equal([ids.d1, ids.v1]);
      expect(body.jobs[0]).to.include({ queue: 'document', state: 'completed', projectId: 'p' });
      expect(body.jobs[0]).not.to.have.property('data');
      expect(body.nextCursor).to.equal(null);
    });

    it('pages every queue with a cursor, without repeating or skipping a job', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const { body }: { body: { jobs: { id: string }[]; nextCursor: string | null } } = await request(api.app)
          .get(`/api/jobs?limit=1${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
        seen.push(...body.jobs.map((j) => j.id));
        cursor = body.nextCursor;
      } while (cursor);
      expect(seen).to.deep.equal([ids.v2, ids.d2, ids.d1, ids.v1]);
    });

    it('filters by name and by a creation window', async () => {
      const named = await request(api.app).get('/api/jobs?name=thumb').expect(200);
      expect(named.body.jobs.map((j: { id: string }) => j.id)).to.deep.equal([ids.v1]);
      const d1 = await api.store.get('document', ids.d1!);
      const d2 = await api.store.get('document', ids.d2!);
      const window = await request(api.app)
        .get(`/api/jobs?createdAfter=${d1!.createdAt}&createdBefore=${d2!.createdAt}`).expect(200);
      expect(window.body.jobs.map((j: { id: string }) => j.id)).to.deep.equal([ids.d1]);
    });

    it('refuses a cursor it never gave, and an offset in a cursor list', async () => {
      await request(api.app).get('/api/jobs?cursor=bm9wZQ').expect(400);
      await request(api.app).get('/api/jobs?offset=2').expect(400);
    });

    it('keeps the one-queue list with offsets as it was', async () => {
      const { body } = await request(api.app).get('/api/jobs?queue=video&offset=1&limit=1').expect(200);
      expect(body).to.include({ offset: 1, limit: 1 });
      expect(body.jobs.map((j: { id: string }) => j.id)).to.deep.equal([ids.v1]);
    });
  });
}

describe('the list across queues and the event streams keep tenants apart [redis]', function () {
  this.timeout(30_000);
  const backend = redisBackend();
  const api = useApi(backend, { API_KEYS: 'acme:key-a,globex:key-b', ADMIN_API_KEYS: 'admin-key' });

  it("shows a tenant only its own jobs of every queue, an admin every tenant's", async () => {
    const mine = await api.store.enqueue({ queue: 'video', tenant: 'acme', projectId: 'p', data: { url: 'https://example.com/a.mp4' } });
    const theirs = await api.store.enqueue({ queue: 'document', tenant: 'globex', projectId: 'p', data: { content: 'x' } });
    const ids = (body: { jobs: { id: string }[] }) => body.jobs.map((j) => j.id);
    const a = await request(api.app).get('/api/jobs?projectId=p').set('Authorization', 'Bearer key-a').expect(200);
    expect(ids(a.body)).to.deep.equal([mine.job.id]);
    const b = await request(api.app).get('/api/jobs').set('Authorization', 'Bearer key-b').expect(200);
    expect(ids(b.body)).to.deep.equal([theirs.job.id]);
    await request(api.app).get('/api/jobs?tenant=acme').set('Authorization', 'Bearer key-b').expect(403);
    const admin = await request(api.app).get('/api/jobs').set('Authorization', 'Bearer admin-key').expect(200);
    expect(ids(admin.body)).to.deep.equal([theirs.job.id, mine.job.id]);
    const onlyAcme = await request(api.app).get('/api/jobs?tenant=acme').set('Authorization', 'Bearer admin-key').expect(200);
    expect(ids(onlyAcme.body)).to.deep.equal([mine.job.id]);
    // Another tenant's job has no event stream, exactly as a job that does not exist.
    await request(api.app).get(`/api/jobs/video/${mine.job.id}/events`).set('Authorization', 'Bearer key-b').expect(404);
  });
});
