// The lean enqueue path (src/api/lean-enqueue.ts) answers POST /api/jobs and
// /api/jobs/bulk ahead of express. Express keeps the same routes for another
// spelling of the path (`/api/jobs/`), so each request below is sent both ways
// and the answers must match; other methods and failed auth still reach express;
// an oversized chunked body is refused without being read to its end.
import net from 'node:net';
import http from 'node:http';
import { expect } from 'chai';
import request from 'supertest';
import { redisBackend, useApi } from './harness.js';

const LIMIT = 2048;
/** Headers both paths set, whose values must agree (X-Request-Id only in shape: it is per request). */
const COMPARED = ['content-type', 'content-security-policy', 'x-content-type-options', 'strict-transport-security', 'ratelimit-policy', 'www-authenticate', 'retry-after'];

describe('HTTP API: the lean enqueue path', function () {
  this.timeout(30_000);
  const backend = redisBackend();
  const api = useApi(backend, { API_KEYS: 'acme:k1', ADMIN_API_KEYS: 'root', ENQUEUE_RATE_LIMIT: '1000', API_BODY_LIMIT: `${LIMIT}b`, API_MAX_JSON_DEPTH: '8' });

  const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });
  const job = { queue: 'document', data: { content: 'x' } };
  const CASES: [string, (path: string) => request.Test][] = [
    ['no body', (path) => request(api.app).post(path).set('X-API-Key', 'k1')],
    ['text/plain', (path) => request(api.app).post(path).set('X-API-Key', 'k1').set('Content-Type', 'text/plain').send('hi')],
    ['invalid JSON', (path) => request(api.app).post(path).set('X-API-Key', 'k1').set('Content-Type', 'application/json').send('{"queue":')],
    ['a JSON string', (path) => request(api.app).post(path).set('X-API-Key', 'k1').set('Content-Type', 'application/json').send('"document"')],
    ['too large', (path) => request(api.app).post(path).set('X-API-Key', 'k1').send({ queue: 'document', data: { content: 'x'.repeat(LIMIT) } })],
    ['a NUL byte', (path) => request(api.app).post(path).set('X-API-Key', 'k1').send({ queue: 'document', data: { content: 'a\u0000b' } })],
    ['nested too deep', (path) => request(api.app).post(path).set('X-API-Key', 'k1').send({ queue: 'document', data: deep(12) })],
    ['an unknown field', (path) => request(api.app).post(path).set('X-API-Key', 'k1').send({ ...job, priorty: 1 })],
    ['an unknown queue', (path) => request(api.app).post(path).set('X-API-Key', 'k1').send({ queue: 'nope', data: {} })],
    ["data against the queue's schema", (path) => request(api.app).post(path).set('X-API-Key', 'k1').send({ queue: 'document', data: { content: 5 } })],
    ['a bad Idempotency-Key', (path) => request(api.app).post(path).set('X-API-Key', 'k1').set('Idempotency-Key', 'a b').send(job)],
    ['no key', (path) => request(api.app).post(path).send(job)],
    ['a wrong key', (path) => request(api.app).post(path).set('Authorization', 'Bearer nope').send(job)],
    ['a charset body-parser refuses', (path) => request(api.app).post(path).set('X-API-Key', 'k1').set('Content-Type', 'application/json; charset=latin1').send(JSON.stringify(job))],
    ['a BOM before the JSON', (path) => request(api.app).post(path).set('X-API-Key', 'k1').set('Content-Type', 'application/json').send(`\ufeff${JSON.stringify(job)}`)],
    ['a job', (path) => request(api.app).post(path).set('X-API-Key', 'k1').send(job)],
    ['an admin key', (path) => request(api.app).post(path).set('X-API-Key', 'root').send(job)],
  ];

  /** What must agree: status, body (ids and URLs made per job aside) and the compared headers. */
  const answer = (res: request.Response) => ({
    status: res.status,
    body: JSON.parse(JSON.stringify(res.body).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')),
    headers: Object.fromEntries(COMPARED.map((name) => [name, res.headers[name]])),
    requestId: typeof res.headers['x-request-id'],
    rateLimit: typeof res.headers.ratelimit,
  });

  for (const [name, send] of CASES) {
    it(`answers ${name} as express does`, async () => {
      const lean = answer(await send('/api/jobs'));
      const viaExpress = answer(await send('/api/jobs/'));
      expect(lean).to.deep.equal(viaExpress);
    });
  }

  it('answers a bulk as express does, errors naming the job included', async () => {
    const bulk = (path: string, jobs: object[]) => request(api.app).post(path).set('X-API-Key', 'k1').send({ jobs });
    for (const jobs of [[job, job], [job, { queue: 'document', data: {} }], []]) {
      expect(answer(await bulk('/api/jobs/bulk', jobs))).to.deep.equal(answer(await bulk('/api/jobs/bulk/', jobs)));
    }
  });

  it('leaves other methods on /api/jobs to express: its list, and its 404 JSON', async () => {
    const list = await request(api.app).get('/api/jobs?queue=document').set('X-API-Key', 'k1').expect(200);
    expect(list.body.jobs).to.be.an('array');
    const put = await request(api.app).put('/api/jobs').set('X-API-Key', 'k1').send(job).expect(404);
    expect(put.body.error).to.deep.equal({ code: 'not_found', message: 'no route PUT /api/jobs' });
    await request(api.app).get('/api/jobs/bulk').set('X-API-Key', 'k1').expect(404);
  });

  it('counts a lean request in the HTTP metrics under its route, once', async () => {
    const counted = async () => Number((await api.metrics.registry.metrics())
      .match(/jobvisor_http_requests_total\{method="POST",route="\/api\/jobs",status="202"\} (\d+)/)?.[1] ?? 0);
    const before = await counted();
    await request(api.app).post('/api/jobs?via=lean').set('X-API-Key', 'k1').send(job).expect(202);
    expect(await counted()).to.equal(before + 1);
  });

  it('refuses an oversized chunked body with 413 before its end, and closes the connection', async () => {
    const server = http.createServer(api.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    try {
      let received = '';
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('error', () => {}); // the server may close while a chunk is on its way
      socket.write('POST /api/jobs HTTP/1.1\r\nHost: x\r\nX-API-Key: k1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = `{"queue":"document","data":{"content":"${'x'.repeat(LIMIT)}`;
      socket.write(`${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`); // past the limit; the body never ends
      await closed; // the server answers and hangs up without the rest: express's reader would wait for the end
      expect(received).to.match(/^HTTP\/1\.1 413 /);
      expect(received).to.match(/connection: close/i);
      expect(received).to.include('"code":"body_too_large"');
    } finally {
      socket.destroy();
      server.close();
    }
  });
});
