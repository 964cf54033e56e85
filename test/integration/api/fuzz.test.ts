// A thousand and more malformed requests across the routes: every answer is a
// 4xx in the error shape, and the server still serves good requests afterwards.
import { expect } from 'chai';
import fc from 'fast-check';
import http from 'node:http';
import request from 'supertest';
import { QUEUE_NAMES } from '../../../src/queues/index.js';
import { openApi, redisBackend, type TestApi } from './harness.js';

interface Malformed {
  method: 'get' | 'post' | 'delete' | 'put' | 'patch';
  path: string;
  contentType?: string;
  body?: string;
}

const known = new Set<string>(QUEUE_NAMES);
const segment = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).map(encodeURIComponent);
const badQueue = segment.filter((s) => !known.has(decodeURIComponent(s)));
const goodQueue = fc.constantFrom(...QUEUE_NAMES);
const brokenEscape = fc.constantFrom('%', '%E0%A4%A', '%zz', '%ff%fe', 'a%2');

const invalidField = fc.oneof(
  fc.record({ priority: fc.oneof(fc.integer({ min: 11 }), fc.integer({ max: 0 }), fc.double({ noInteger: true }), fc.string()) }),
  fc.record({ delay: fc.oneof(fc.integer({ max: -1 }), fc.string(), fc.constant(null)) }),
  fc.record({ runAt: fc.string({ maxLength: 30 }) }),
  fc.record({ attempts: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 101 }), fc.boolean()) }),
  fc.record({ timeoutMs: fc.oneof(fc.integer({ max: 0 }), fc.string()) }),
  fc.record({ dedupKey: fc.oneof(fc.constant(''), fc.integer(), fc.string({ minLength: 257, maxLength: 300 })) }),
  fc.record({ name: fc.oneof(fc.constant(''), fc.integer(), fc.array(fc.string())) }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !['queue', 'name', 'data', 'priority', 'delay', 'runAt', 'attempts', 'timeoutMs', 'dedupKey', 'projectId', '__proto__'].includes(k)), fc.jsonValue(), { minKeys: 1, maxKeys: 3 }),
);

const enqueueBodies: fc.Arbitrary<Malformed> = fc.oneof(
  // Valid queue and data, plus at least one bad field.
  fc.tuple(goodQueue, fc.jsonValue(), invalidField).map(([queue, data, bad]) => ({ method: 'post' as const, path: '/api/jobs', contentType: 'application/json', body: JSON.stringify({ queue, data, ...bad }) })),
  // Any JSON that is not an object with a known queue and data.
  fc.jsonValue().filter((v) => !(v && typeof v === 'object' && !Array.isArray(v) && known.has((v as { queue?: string }).queue ?? '') && 'data' in v))
    .map((v) => ({ method: 'post' as const, path: '/api/jobs', contentType: 'application/json', body: JSON.stringify(v) })),
  // Not JSON at all, sent as JSON.
  fc.string({ minLength: 1, maxLength: 200 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } })
    .map((body) => ({ method: 'post' as const, path: '/api/jobs', contentType: 'application/json', body })),
  // Another content type.
  fc.tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'image/png'), fc.string({ minLength: 1 }))
    .map(([contentType, body]) => ({ method: 'post' as const, path: '/api/jobs', contentType, body })),
);

const jobRoutes: fc.Arbitrary<Malformed> = fc.oneof(
  fc.tuple(fc.oneof(badQueue, goodQueue), segment, fc.constantFrom('get', 'delete') as fc.Arbitrary<'get' | 'delete'>)
    .map(([q, id, method]) => ({ method, path: `/api/jobs/${q}/${id}` })),
  fc.tuple(fc.oneof(badQueue, goodQueue), segment).map(([q, id]) => ({ method: 'post' as const, path: `/api/jobs/${q}/${id}/retry` })),
  fc.tuple(goodQueue, brokenEscape).map(([q, bad]) => ({ method: 'get' as const, path: `/api/jobs/${q}/${bad}` })),
  fc.tuple(badQueue, fc.constantFrom('pause', 'resume')).map(([q, action]) => ({ method: 'post' as const, path: `/api/queues/${q}/${action}` })),
  fc.tuple(goodQueue, segment).map(([q, id]) => ({ method: 'get' as const, path: `/api/jobs/status?queue=${q}&jobId=${id}` })),
  fc.tuple(goodQueue, fc.oneof(
    fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/^\d{1,6}$/.test(s)).map((s) => `limit=${encodeURIComponent(s)}`),
    fc.integer({ min: 101, max: 10 ** 9 }).map((n) => `limit=${n}`),
    fc.integer({ min: 10_001 }).map((n) => `offset=${n}`),
    fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'].includes(s)).map((s) => `state=${encodeURIComponent(s)}`),
    fc.constant('limit=1&limit=2'),
  )).map(([q, query]) => ({ method: 'get' as const, path: `/api/jobs?queue=${q}&${query}` })),
  fc.tuple(fc.constantFrom('get', 'post', 'delete', 'put', 'patch') as fc.Arbitrary<Malformed['method']>, fc.array(segment, { minLength: 1, maxLength: 4 }))
    .map(([method, parts]) => ({ method, path: `/api/x/${parts.join('/')}` })),
);

describe('HTTP API under malformed requests (fuzz)', function () {
  this.timeout(180_000);
  const backend = redisBackend();
  let api: TestApi;
  let server: http.Server;

  before(async function () {
    await backend.require(this);
    api = await openApi(backend, { ENQUEUE_RATE_LIMIT: '0', API_BODY_LIMIT: '64kb' });
    server = http.createServer(api.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await api?.store.close();
    await backend.cleanup();
  });

  it('answers 1,200 malformed requests with 4xx only, then still serves good ones', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(fc.asyncProperty(fc.oneof(enqueueBodies, jobRoutes), async (malformed) => {
      let test = request(server)[malformed.method](malformed.path);
      if (malformed.contentType) test = test.set('Content-Type', malformed.contentType);
      const res = await (malformed.body === undefined ? test : test.send(malformed.body));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `${malformed.method.toUpperCase()} ${malformed.path} ${malformed.body ?? ''} → ${res.status} ${res.text}`).to.be.within(400, 499);
      expect(res.body?.error?.code, res.text).to.be.a('string');
      expect(res.text).to.not.match(/\n\s+at /);
    }), { numRuns: 1200 });
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).to.equal(1200);
    expect([...statuses.keys()]).to.include.members([400, 404, 415]);

    await request(server).get('/api/health').expect(200);
    const { body } = await request(server).post('/api/jobs').send({ queue: 'video', data: { source: 'after fuzz' } }).expect(202);
    await request(server).get(body.statusUrl).expect(200);
  });
});
