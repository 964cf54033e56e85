// A store that is down: every route answers 503 within the store timeout,
// never hangs and never answers 500; readiness says which checks failed.
import { expect } from 'chai';
import net from 'node:net';
import request from 'supertest';
import { openApi, type Backend, type TestApi } from './harness.js';
import { TEST_JOBS } from '../../conformance/describe-store.js';

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const TIMEOUT_MS = 400;

for (const mode of ['redis', 'postgres'] as const) {
  describe(`HTTP API with its store down [${mode}]`, function () {
    this.timeout(30_000);
    let api: TestApi;

    before(async () => {
      const port = await closedPort();
      const backend: Backend = {
        name: mode,
        require: async () => {},
        storeConfig: () => mode === 'redis'
          ? { mode, redisUrl: `redis://127.0.0.1:${port}`, prefix: 'down', jobs: TEST_JOBS }
          : { mode, databaseUrl: `postgres://postgres@127.0.0.1:${port}/none`, prefix: 'down', jobs: TEST_JOBS },
        cleanup: async () => {},
      };
      api = await openApi(backend, { API_STORE_TIMEOUT_MS: String(TIMEOUT_MS), ENQUEUE_RATE_LIMIT: '0' });
    });
    after(async () => {
      await api?.store.close();
    });

    const routes: [string, () => request.Test][] = [
      ['enqueue', () => request(api!.app).post('/api/jobs').send({ queue: 'video', data: { source: 'x' } })],
      ['get', () => request(api!.app).get('/api/jobs/video/123')],
      ['status', () => request(api!.app).get('/api/jobs/status?queue=video&jobId=123')],
      ['list', () => request(api!.app).get('/api/jobs?queue=video')],
      ['cancel', () => request(api!.app).delete('/api/jobs/video/123')],
      ['retry', () => request(api!.app).post('/api/jobs/video/123/retry')],
      ['queue-stats', () => request(api!.app).get('/api/jobs/queue-stats')],
      ['pause', () => request(api!.app).post('/api/queues/video/pause')],
    ];
    for (const [name, send] of routes) {
      it(`answers ${name} with 503 within the timeout, without a stack trace`, async () => {
        const started = Date.now();
        const res = await send();
        const took = Date.now() - started;
        expect(res.status).to.equal(503);
        expect(res.body.error.code).to.equal('store_unavailable');
        expect(res.headers['retry-after']).to.equal('5');
        expect(JSON.stringify(res.body)).to.not.match(/\n\s+at /);
        expect(took).to.be.below(TIMEOUT_MS + 4000 + 1500); // cancel may wait a little longer for an active job
      });
    }

    it('names in an enqueue\'s 503 the id the job would have had, and whether it may exist', async () => {
      const res = await request(api.app).post('/api/jobs').set('Idempotency-Key', 'down-1').send({ queue: 'video', data: { source: 'x' } }).expect(503);
      // The key's reservation is the first write: it fails before any job is sent (no details), or the add does (with the id).
      if (res.body.error.details) {
        expect(res.body.error.details.id).to.match(/^[0-9a-f-]{36}$/);
        expect(res.body.error.details.outcome).to.be.oneOf(['not_created', 'unknown']);
      }
      const plain = await request(api.app).post('/api/jobs').send({ queue: 'video', data: { source: 'x' } }).expect(503);
      expect(plain.body.error.details.id).to.match(/^[0-9a-f-]{36}$/);
      if (mode === 'redis') expect(plain.body.error.details.outcome, 'no offline queue: nothing was sent').to.equal('not_created');
    });

    it('answers readiness with 503 naming the store within its 1 s check timeout', async () => {
      const started = Date.now();
      const res = await request(api.app).get('/api/health/ready').expect(503);
      expect(Date.now() - started).to.be.below(2500);
      expect(res.body.failed).to.include('store');
      expect(res.body.checks.store.ok).to.equal(false);
      expect(res.body.error.message).to.match(/store/);
    });

    it('still answers liveness and metrics', async () => {
      await request(api.app).get('/api/health').expect(200);
      const metrics = await request(api.app).get('/metrics').expect(200);
      expect(metrics.text).to.include('jobvisor_http_requests_total');
    });
  });
}
