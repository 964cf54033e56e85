// Idempotency-Key on POST /api/jobs: the same key from the same tenant returns the first job,
// across api copies; another request under the key is refused; a 503 names the would-be id.
import { expect } from 'chai';
import request from 'supertest';
import { openApi, postgresBackend, redisBackend, type TestApi } from './harness.js';

for (const makeBackend of [redisBackend, postgresBackend]) {
  const backend = makeBackend();
  describe(`HTTP API: Idempotency-Key [${backend.name}]`, function () {
    this.timeout(30_000);
    let one: TestApi;
    let two: TestApi;
    const body = { queue: 'video', data: { source: 'in.mp4' } };

    before(async function () {
      await backend.require(this);
      one = await openApi(backend, { ENQUEUE_RATE_LIMIT: '0' });
      two = await openApi(backend, { ENQUEUE_RATE_LIMIT: '0' }); // a second api copy
    });
    after(async () => {
      await Promise.all([one?.store.close(), two?.store.close()]);
      await backend.cleanup();
    });

    it('answers a repeated key with the first job, from another api copy too, and creates one job', async () => {
      const first = await request(one.app).post('/api/jobs').set('Idempotency-Key', 'k-1').send(body).expect(202);
      const again = await request(one.app).post('/api/jobs').set('Idempotency-Key', 'k-1').send(body).expect(200);
      const elsewhere = await request(two.app).post('/api/jobs').set('Idempotency-Key', 'k-1').send(body).expect(200);
      expect(again.body.id).to.equal(first.body.id);
      expect(elsewhere.body.id).to.equal(first.body.id);
      const other = await request(one.app).post('/api/jobs').set('Idempotency-Key', 'k-2').send(body).expect(202);
      expect(other.body.id).to.not.equal(first.body.id);
    });

    it('creates one job when copies race on one key', async () => {
      const answers = await Promise.all([one, two, one, two].map((api) =>
        request(api.app).post('/api/jobs').set('Idempotency-Key', 'race').send(body)));
      const ids = new Set(answers.map((a) => a.body.id as string));
      expect(ids.size, JSON.stringify(answers.map((a) => a.body))).to.equal(1);
      const listed = await request(one.app).get('/api/jobs?queue=video&limit=100').expect(200);
      expect(listed.body.jobs.filter((j: { id: string }) => ids.has(j.id))).to.have.length(1);
    });

    it('refuses the key with another request, and a malformed key', async () => {
      await request(one.app).post('/api/jobs').set('Idempotency-Key', 'k-3').send(body).expect(202);
      const res = await request(one.app).post('/api/jobs').set('Idempotency-Key', 'k-3').send({ ...body, priority: 1 }).expect(422);
      expect(res.body.error.code).to.equal('idempotency_key_reused');
      await request(one.app).post('/api/jobs').set('Idempotency-Key', 'bad key').send(body).expect(400);
    });

    it('keeps keys apart per tenant, and shares them between keys of one tenant', async () => {
      const keyed = await openApi(backend, { ENQUEUE_RATE_LIMIT: '0', API_KEYS: 'acme:alpha,acme:alpha-2,globex:beta' });
      try {
        const a = await request(keyed.app).post('/api/jobs').set('x-api-key', 'alpha').set('Idempotency-Key', 'same').send(body).expect(202);
        const b = await request(keyed.app).post('/api/jobs').set('x-api-key', 'beta').set('Idempotency-Key', 'same').send(body).expect(202);
        expect(a.body.id).to.not.equal(b.body.id);
        const again = await request(keyed.app).post('/api/jobs').set('x-api-key', 'alpha-2').set('Idempotency-Key', 'same').send(body).expect(200);
        expect(again.body.id, 'another key of the same tenant gets the first job').to.equal(a.body.id);
      } finally {
        await keyed.store.close();
      }
    });
  });
}
