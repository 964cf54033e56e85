// Auth (README.md): user and admin keys, as Bearer, X-API-Key or (dashboard) Basic.
import { expect } from 'chai';
import request from 'supertest';
import { createAuth } from '../../../src/api/auth.js';
import { openDashboard, type Dashboard } from '../../../src/lib/store/dashboard.js';
import { QUEUE_NAMES } from '../../../src/queues/index.js';
import { apiConfig, openApi, redisBackend, type TestApi } from './harness.js';

describe('HTTP API auth', function () {
  this.timeout(30_000);
  const backend = redisBackend();
  let api: TestApi;
  let dashboard: Dashboard;
  const keys = { API_KEYS: 'user-key-1, user-key-2', ADMIN_API_KEYS: 'admin-key' };

  before(async function () {
    await backend.require(this);
    dashboard = await openDashboard(backend.storeConfig(), QUEUE_NAMES, '/admin/queues');
    api = await openApi(backend, keys, { dashboard: dashboard.router });
  });
  after(async () => {
    await dashboard?.close();
    await api?.store.close();
    await backend.cleanup();
  });

  it('answers 401 without a key or with an unknown one, with a challenge', async () => {
    const none = await request(api.app).get('/api/jobs?queue=video').expect(401);
    expect(none.body.error.code).to.equal('unauthorized');
    expect(none.headers['www-authenticate']).to.match(/^Bearer/);
    await request(api.app).get('/api/jobs?queue=video').set('Authorization', 'Bearer wrong').expect(401);
    await request(api.app).get('/api/jobs?queue=video').set('X-API-Key', 'user-key-1x').expect(401);
    await request(api.app).post('/api/jobs').send({ queue: 'video', data: { source: 'x' } }).expect(401);
  });

  it('lets a user key use the jobs routes, as Bearer or X-API-Key', async () => {
    await request(api.app).get('/api/jobs?queue=video').set('Authorization', 'Bearer user-key-1').expect(200);
    const { body } = await request(api.app).post('/api/jobs').set('X-API-Key', 'user-key-2').send({ queue: 'video', data: { source: 'x' } }).expect(202);
    await request(api.app).get(body.statusUrl).set('X-API-Key', 'user-key-2').expect(200);
  });

  it('answers 403 to a user key on admin routes, and lets the admin key through everywhere', async () => {
    const res = await request(api.app).get('/api/jobs/queue-stats').set('Authorization', 'Bearer user-key-1').expect(403);
    expect(res.body.error.code).to.equal('forbidden');
    await request(api.app).post('/api/queues/video/pause').set('X-API-Key', 'user-key-1').expect(403);
    await request(api.app).get('/api/jobs/queue-stats').set('Authorization', 'Bearer admin-key').expect(200);
    await request(api.app).get('/api/jobs?queue=video').set('X-API-Key', 'admin-key').expect(200);
  });

  it('keeps health, readiness and metrics open for probes and scrapers', async () => {
    await request(api.app).get('/api/health').expect(200);
    const ready = await request(api.app).get('/api/health/ready');
    expect(ready.status).to.be.oneOf([200, 503]);
    await request(api.app).get('/metrics').expect(200);
  });

  it('puts the dashboard behind the admin key, with a Basic challenge for browsers', async () => {
    const challenge = await request(api.app).get('/admin/queues').expect(401);
    expect(challenge.headers['www-authenticate']).to.match(/^Basic/);
    await request(api.app).get('/admin/queues').set('Authorization', 'Bearer user-key-1').expect(403);
    const page = await request(api.app).get('/admin/queues').auth('admin', 'admin-key').expect(200);
    expect(page.text).to.include('<div id="root">');
    const queues = await request(api.app).get('/admin/queues/api/queues').set('X-API-Key', 'admin-key').expect(200);
    expect(queues.body.queues.map((q: { name: string }) => q.name)).to.include.members(['video', 'document', 'ai', 'rag-sync']);
  });

  it('refuses to start with NODE_ENV=production and no key, and runs open otherwise', () => {
    expect(() => createAuth(apiConfig({ NODE_ENV: 'production' }))).to.throw(/API_KEYS/);
    expect(createAuth(apiConfig({ NODE_ENV: 'production', API_KEYS: 'k' })).enabled).to.equal(true);
    expect(createAuth(apiConfig({})).enabled).to.equal(false);
  });
});
