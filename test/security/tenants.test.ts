// Tenants through the api (README, Tenants): with API_KEYS=acme:…,globex:…, a
// globex key replays every route against acme's jobs — read, status, list by
// state and project, cancel, retry, a colliding dedup key, a tenant named in
// the body or the query — and gets what it would for a job that does not
// exist, never acme's data. An admin key sees both tenants and filters by one.
import { expect } from 'chai';
import { pino } from 'pino';
import request from 'supertest';
import { startRuntime, type Runtime } from '../../src/workers/runtime.js';
import { openApi, redisBackend, type TestApi } from '../integration/api/harness.js';
import { waitFor } from '../helpers/wait.js';

const ACME = { 'X-API-Key': 'key-a' };
const GLOBEX = { 'X-API-Key': 'key-g' };
const ADMIN = { 'X-API-Key': 'admin-key' };
const SECRET = 'acme-confidential';

describe('security: one tenant cannot reach another\'s jobs', function () {
  this.timeout(60_000);
  const backend = redisBackend();
  let api: TestApi;
  let runtime: Runtime;
  const jobs = {} as Record<'delayed' | 'failed' | 'cancelled' | 'deduped', string>;

  const call = (method: 'get' | 'post' | 'delete', url: string, headers: Record<string, string>, body?: unknown) => {
    const req = request(api.app)[method](url).set(headers);
    return body === undefined ? req : req.send(body as object);
  };
  const enqueue = async (headers: Record<string, string>, body: Record<string, unknown>) => {
    const res = await call('post', '/api/jobs', headers, { queue: 'document', ...body });
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 202]);
    return res;
  };
  const stateOf = async (id: string) => (await call('get', `/api/jobs/document/${id}`, ADMIN)).body.state as string;

  before(async function () {
    await backend.require(this);
    api = await openApi(backend, { API_KEYS: 'acme:key-a, globex:key-g', ADMIN_API_KEYS: 'admin-key', ENQUEUE_RATE_LIMIT: '0' });
    runtime = startRuntime({
      store: api.store, queue: 'document', concurrency: 1, logger: pino({ level: 'silent' }),
      handler: { run: async () => { throw new Error('fails on purpose'); } },
    });
    const later = { delay: 60_000, projectId: 'shared' };
    jobs.delayed = (await enqueue(ACME, { data: { content: SECRET }, ...later })).body.id;
    jobs.deduped = (await enqueue(ACME, { data: { content: SECRET }, dedupKey: 'doc-42', ...later })).body.id;
    jobs.cancelled = (await enqueue(ACME, { data: { content: SECRET }, ...later })).body.id;
    expect((await call('delete', `/api/jobs/document/${jobs.cancelled}`, ACME)).status).to.equal(200);
    jobs.failed = (await enqueue(ACME, { data: { content: SECRET }, attempts: 1, projectId: 'shared' })).body.id;
    await waitFor(async () => (await stateOf(jobs.failed)) === 'failed', { message: 'acme\'s job to fail' });
  });
  after(async () => {
    await runtime?.close();
    await api?.store.close();
    await backend.cleanup();
  });

  it('answers another tenant\'s job on every route exactly as a job that does not exist', async () => {
    const missing = '0190a1b2-c3d4-7e5f-8a9b-000000000000';
    const routes = (id: string): [string, 'get' | 'post' | 'delete', string][] => [
      ['read', 'get', `/api/jobs/document/${id}`],
      ['status', 'get', `/api/jobs/status?queue=document&jobId=${id}`],
      ['cancel', 'delete', `/api/jobs/document/${id}`],
      ['retry', 'post', `/api/jobs/document/${id}/retry`],
    ];
    for (const id of Object.values(jobs)) {
      for (const [[name, method, url], [, , missingUrl]] of routes(id).map((r, i) => [r, routes(missing)[i]!] as const)) {
        const [theirs, none] = [await call(method, url, GLOBEX), await call(method, missingUrl, GLOBEX)];
        expect(theirs.status, `${name} of acme's ${id}`).to.equal(404);
        expect(theirs.body.error.code).to.equal(none.body.error.code);
        expect(JSON.stringify(theirs.body)).to.not.include(SECRET);
      }
    }
    // Nothing was changed by those attempts.
    expect(await stateOf(jobs.delayed)).to.equal('delayed');
    expect(await stateOf(jobs.cancelled)).to.equal('cancelled');
    expect(await stateOf(jobs.failed)).to.equal('failed');
  });

  it('lists none of another tenant\'s jobs, by state, by project label or by naming the tenant', async () => {
    for (const query of ['', '&state=delayed', '&state=failed', '&state=cancelled', '&projectId=shared', '&projectId=shared&state=failed']) {
      const res = await call('get', `/api/jobs?queue=document${query}`, GLOBEX);
      expect(res.status, query).to.equal(200);
      expect(res.body.jobs, query).to.deep.equal([]);
    }
    const acme = await call('get', '/api/jobs?queue=document&projectId=shared', ACME);
    expect(acme.body.jobs.map((j: { id: string }) => j.id)).to.have.members([jobs.delayed, jobs.deduped, jobs.cancelled, jobs.failed]);
    expect((await call('get', '/api/jobs?queue=document&tenant=acme', GLOBEX)).status).to.equal(403);
    expect((await call('get', '/api/jobs?queue=document&tenant=globex', GLOBEX)).status).to.equal(200);
  });

  it('makes the same dedupKey in two tenants two jobs, and takes no tenant from the body', async () => {
    const globex = await enqueue(GLOBEX, { data: { content: 'globex' }, dedupKey: 'doc-42', delay: 60_000 });
    expect(globex.status).to.equal(202);
    expect(globex.body.id).to.not.equal(jobs.deduped);
    expect(JSON.stringify(globex.body)).to.not.include(SECRET);
    const again = await enqueue(ACME, { data: { content: 'again' }, dedupKey: 'doc-42', delay: 60_000 });
    expect([again.status, again.body.id]).to.deep.equal([200, jobs.deduped]);
    const forged = await call('post', '/api/jobs', GLOBEX, { queue: 'document', data: { content: 'x' }, tenant: 'acme' });
    expect(forged.status).to.equal(400);
  });

  it('lets an admin key see both tenants, with each job\'s tenant, and filter lists by one', async () => {
    const globex = (await enqueue(GLOBEX, { data: { content: 'globex' }, delay: 60_000, projectId: 'shared' })).body.id;
    const read = await call('get', `/api/jobs/document/${jobs.delayed}`, ADMIN);
    expect(read.body).to.include({ tenant: 'acme' });
    expect((await call('get', `/api/jobs/document/${jobs.delayed}`, ACME)).body, 'a user key is not told its tenant').to.not.have.property('tenant');
    const all = (await call('get', '/api/jobs?queue=document&projectId=shared', ADMIN)).body.jobs as { id: string; tenant: string }[];
    expect(all.map((j) => j.id)).to.include.members([globex, jobs.delayed]);
    const only = (await call('get', '/api/jobs?queue=document&tenant=globex', ADMIN)).body.jobs as { id: string; tenant: string }[];
    expect(only.length).to.be.greaterThan(0);
    expect(new Set(only.map((j) => j.tenant))).to.deep.equal(new Set(['globex']));
    expect((await call('get', '/api/jobs?queue=document&tenant=no%20such', ADMIN)).status).to.equal(400);
    expect((await call('delete', `/api/jobs/document/${globex}`, ADMIN)).body).to.include({ state: 'cancelled', tenant: 'globex' });
  });
});
