// Enqueue rate limit (429), per key, and the configurable body limit (413).
import { expect } from 'chai';
import request from 'supertest';
import { openApi, redisBackend, useApi } from './harness.js';

describe('HTTP API limits', function () {
  this.timeout(30_000);
  const backend = redisBackend();
  const api = useApi(backend, { API_KEYS: 'k1,k2', ENQUEUE_RATE_LIMIT: '3', API_BODY_LIMIT: '2kb' });

  const enqueue = (key: string, body: object = { queue: 'document', data: { content: 'x' } }) =>
    request(api.app).post('/api/jobs').set('X-API-Key', key).send(body);

  it('answers 429 past ENQUEUE_RATE_LIMIT enqueues a minute, per key, with RateLimit headers', async () => {
    for (let i = 0; i < 3; i++) await enqueue('k1').expect(202);
    const limited = await enqueue('k1').expect(429);
    expect(limited.body.error.code).to.equal('rate_limited');
    expect(limited.headers).to.have.property('ratelimit-policy');
    await enqueue('k2').expect(202); // another key has its own budget
    await request(api.app).get('/api/jobs?queue=document').set('X-API-Key', 'k1').expect(200); // reads are not limited
  });

  it('counts per IP when the api runs open, so that made-up keys buy no budget', async () => {
    const open = await openApi(backend, { ENQUEUE_RATE_LIMIT: '2' });
    try {
      for (const key of ['a', 'b']) await request(open.app).post('/api/jobs').set('X-API-Key', key).send({ queue: 'video', data: { source: 'x' } }).expect(202);
      await request(open.app).post('/api/jobs').set('X-API-Key', 'c').send({ queue: 'video', data: { source: 'x' } }).expect(429);
    } finally {
      await open.store.close();
    }
  });

  it('answers 413 past API_BODY_LIMIT', async () => {
    const res = await enqueue('k2', { queue: 'document', data: { content: 'y'.repeat(4096) } }).expect(413);
    expect(res.body.error.code).to.equal('body_too_large');
  });
});
