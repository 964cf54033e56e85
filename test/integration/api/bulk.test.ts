// POST /api/jobs/bulk: many jobs in one request, each checked like a single
// enqueue, all or nothing, in request order, per-item Idempotency-Key, the
// key's tenant, and a rate-limit cost per job.
import { expect } from 'chai';
import request from 'supertest';
import { openApi, postgresBackend, redisBackend, useApi } from './harness.js';

const video = (n: number) => ({ queue: 'video', data: { source: `in-${n}.mp4` } });
const doc = (n: number) => ({ queue: 'document', data: { content: `text ${n}` } });

for (const makeBackend of [redisBackend, postgresBackend]) {
  const backend = makeBackend();
  describe(`HTTP API: bulk enqueue [${backend.name}]`, function () {
    this.timeout(30_000);
    const api = useApi(backend, { API_KEYS: 'acme:key-a, globex:key-g', ADMIN_API_KEYS: 'admin-key', ENQUEUE_RATE_LIMIT: '0', API_BULK_MAX: '50' });
    const asAcme = (req: request.Test) => req.set('X-API-Key', 'key-a');

    it('enqueues every job, answering in request order across queues, each readable at its statusUrl by its tenant only', async () => {
      const jobs = [video(1), doc(2), video(3), doc(4)];
      const res = await asAcme(request(api.app).post('/api/jobs/bulk')).send({ jobs }).expect(202);
      expect(res.body.jobs.map((j: { queue: string }) => j.queue)).to.deep.equal(['video', 'document', 'video', 'document']);
      for (const [i, answer] of (res.body.jobs as { id: string; state: string; statusUrl: string }[]).entries()) {
        expect(answer.state).to.equal('waiting');
        const read = await asAcme(request(api.app).get(answer.statusUrl)).expect(200);
        expect(read.body.data).to.deep.include(jobs[i]!.data);
        await request(api.app).get(answer.statusUrl).set('X-API-Key', 'key-g').expect(404); // another tenant's job
      }
      const asAdmin = await request(api.app).get(res.body.jobs[0].statusUrl).set('X-API-Key', 'admin-key').expect(200);
      expect(asAdmin.body.tenant).to.equal('acme');
    });

    it('refuses the whole bulk when one job is invalid, naming its index and field, and enqueues none', async () => {
      const before = await request(api.app).get('/api/jobs?queue=document&limit=100').set('X-API-Key', 'admin-key').expect(200);
      const res = await asAcme(request(api.app).post('/api/jobs/bulk')).send({ jobs: [doc(1), doc(2), { queue: 'document', data: {} }, doc(4)] }).expect(400);
      expect(res.body.error.details.issues[0].field).to.equal('jobs.2.data.source');
      const wrongShape = await asAcme(request(api.app).post('/api/jobs/bulk')).send({ jobs: [doc(1), { queue: 'document', data: {}, priorty: 2 }] }).expect(400);
      expect(wrongShape.body.error.message).to.contain('jobs.1.priorty');
      const after = await request(api.app).get('/api/jobs?queue=document&limit=100').set('X-API-Key', 'admin-key').expect(200);
      expect(after.body.jobs.length).to.equal(before.body.jobs.length);
    });

    it('refuses more jobs than API_BULK_MAX, an empty bulk, and a queue the key may not change', async () => {
      await asAcme(request(api.app).post('/api/jobs/bulk')).send({ jobs: Array.from({ length: 51 }, (_, i) => doc(i)) }).expect(400);
      await asAcme(request(api.app).post('/api/jobs/bulk')).send({ jobs: [] }).expect(400);
      await asAcme(request(api.app).post('/api/jobs/bulk')).send({ jobs: [doc(1), { queue: 'maintenance', data: {} }] }).expect(403);
    });

    it('answers a repeated Idempotency-Key with the same jobs and creates none; another body under it is a 422', async () => {
      const jobs = [doc(10), video(11)];
      const first = await asAcme(request(api.app).post('/api/jobs/bulk')).set('Idempotency-Key', 'b-1').send({ jobs }).expect(202);
      const again = await asAcme(request(api.app).post('/api/jobs/bulk')).set('Idempotency-Key', 'b-1').send({ jobs }).expect(200);
      expect(again.body.jobs.map((j: { id: string }) => j.id)).to.deep.equal(first.body.jobs.map((j: { id: string }) => j.id));
      await asAcme(request(api.app).post('/api/jobs/bulk')).set('Idempotency-Key', 'b-1').send({ jobs: [doc(10), video(12)] }).expect(422);
      // The key is the tenant's: another tenant's same key is a request of its own.
      const globex = await request(api.app).post('/api/jobs/bulk').set('X-API-Key', 'key-g').set('Idempotency-Key', 'b-1').send({ jobs }).expect(202);
      expect(globex.body.jobs[0].id).to.not.equal(first.body.jobs[0].id);
    });

    it('spends one unit of ENQUEUE_RATE_LIMIT per job, all or nothing', async () => {
      const limited = await openApi(backend, { API_KEYS: 'k1', ENQUEUE_RATE_LIMIT: '5' });
      try {
        const send = (jobs: object[]) => request(limited.app).post('/api/jobs/bulk').set('X-API-Key', 'k1').send({ jobs });
        await send([doc(1), doc(2), doc(3), doc(4)]).expect(202);
        const refused = await send([doc(5), doc(6)]).expect(429);
        expect(refused.headers).to.have.property('ratelimit-policy');
        await request(limited.app).post('/api/jobs').set('X-API-Key', 'k1').send(doc(7)).expect(202); // the refused bulk spent nothing
        await request(limited.app).post('/api/jobs').set('X-API-Key', 'k1').send(doc(8)).expect(429);
      } finally {
        await limited.store.close();
      }
    });
  });
}
