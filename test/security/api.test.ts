// Issue 10's attacks on the api itself, replayed over a socket: housekeeping as
// a weapon, paths from job ids set through the dashboard, cross-site dashboard
// writes, NUL bytes and deep JSON, a dedup key held for good, unchecked
// schedule payloads, a client spending the operator's embeddings key, and
// unthrottled guessing of keys. None is a 5xx.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { reconcileSchedules, declaredSchedules } from '../../src/queues/schedules.js';
import { ADMIN, localServer, useSystem } from './system.js';

describe('security: the api refuses what a user key must not do', function () {
  this.timeout(60_000);
  const s = useSystem();

  it('keeps maintenance for admin keys: a user key gets 403 on enqueue, cancel and retry', async () => {
    fs.mkdirSync(path.join(s.h.output, 'document'), { recursive: true });
    fs.writeFileSync(path.join(s.h.output, 'document', 'keep.jsonl'), '{}\n');
    const enqueue = await s.request('POST', '/api/jobs', { queue: 'maintenance', data: { maxAgeDays: 1 } });
    expect(enqueue.status).to.equal(403);
    expect(enqueue.body.error.message).to.match(/admin keys only/);
    const scheduled = await s.request('POST', '/api/jobs', { queue: 'maintenance', data: { maxAgeDays: 30 }, delay: 60_000 }, ADMIN);
    expect(scheduled.status).to.equal(202);
    expect((await s.request('DELETE', `/api/jobs/maintenance/${scheduled.body.id}`)).status).to.equal(403);
    expect((await s.request('POST', `/api/jobs/maintenance/${scheduled.body.id}/retry`)).status).to.equal(403);
    const zero = await s.request('POST', '/api/jobs', { queue: 'maintenance', data: { maxAgeDays: 0 } }, ADMIN);
    expect(zero.status, 'not even an admin may wipe every output at once').to.equal(400);
    expect(zero.body.error.message).to.match(/data\.maxAgeDays/);
    expect(fs.existsSync(path.join(s.h.output, 'document', 'keep.jsonl'))).to.equal(true);
  });

  it('answers NUL bytes in ids, projectId, dedupKey, name and data, and JSON 5,000 deep, with 400s naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ queue: 'document', data: { content: 'x' }, projectId: 'p\0' }, /projectId/],
      [{ queue: 'document', data: { content: 'x' }, dedupKey: 'd\0' }, /dedupKey/],
      [{ queue: 'document', data: { content: 'x' }, name: 'n\0' }, /name/],
      [{ queue: 'document', data: { content: 'a\0b' } }, /data\.content: contains a NUL byte/],
      [{ queue: 'document', data: { content: 'x', ['k\0']: 1 } }, /data\."k\\u0000"/],
    ];
    for (const [body, field] of cases) {
      const res = await s.request('POST', '/api/jobs', body);
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.body.error.message).to.match(field);
    }
    for (const url of ['/api/jobs/document/a%00b', '/api/jobs/status?queue=document&jobId=a%00b', '/api/jobs?queue=document&projectId=a%00b']) {
      const res = await s.request('GET', url);
      expect(res.status, `${url}: ${JSON.stringify(res.body)}`).to.equal(400);
    }
    const deep = `{"queue":"document","data":{"content":"x","n":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    const res = await s.request('POST', '/api/jobs', deep);
    expect(res.status).to.equal(400);
    expect(res.body.error.message).to.match(/data: nested deeper than 32 levels/);
    const deeper = await s.request('POST', '/api/jobs', `{"queue":"document","data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    expect(deeper.status).to.equal(400);
  });

  it('refuses a runAt past a year ahead, so a dedup key cannot be held for good', async () => {
    const res = await s.request('POST', '/api/jobs', { queue: 'document', data: { content: 'x' }, dedupKey: 'forever', runAt: '9999-01-01T00:00:00Z' });
    expect(res.status).to.equal(400);
    expect(res.body.error.message).to.match(/runAt: at most 365 days from now/);
  });

  it('checks a schedule payload against its queue\'s schema, naming the field', async () => {
    await reconcileSchedules(s.h.store, declaredSchedules({}));
    const res = await s.request('PUT', '/api/schedules/cache-cleanup', { payload: { maxAgeDays: 'never' } }, ADMIN);
    expect(res.status).to.equal(400);
    expect(res.body.error.details).to.deep.equal({ field: 'payload.maxAgeDays' });
    const enabled = await s.request('PUT', '/api/schedules/news-fetch', { enabled: true }, ADMIN);
    expect(enabled.status, 'turning on a schedule whose payload its queue refuses').to.equal(400);
    expect((await s.request('PUT', '/api/schedules/cache-cleanup', { payload: { maxAgeDays: 14 } }, ADMIN)).status).to.equal(200);
  });

  it('refuses dashboard writes from another site, and takes them from its own pages', async () => {
    const add = (origin: Record<string, string>, jobId: string) => s.request('POST', '/admin/queues/api/queues/document/add',
      { name: 'x', data: { content: 'hello' }, options: { jobId } }, { authorization: `Basic ${Buffer.from('a:admin-key').toString('base64')}`, ...origin });
    const evil = await add({ origin: 'https://evil.example' }, 'csrf-1');
    expect(evil.status).to.equal(403);
    expect((await add({ referer: 'https://evil.example/page' }, 'csrf-2')).status).to.equal(403);
    expect((await add({}, 'csrf-3')).status).to.equal(403);
    expect(await s.h.store.get('document', 'csrf-1')).to.equal(undefined);
    const own = await add({ origin: s.base }, 'same-origin-1');
    expect(own.status, JSON.stringify(own.body)).to.equal(200);
  });

  it('never turns a job id into a path outside the output folder, even one set through the dashboard', async () => {
    const victim = path.resolve(s.h.output, '..', `victim-${s.secret}`);
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, 'precious.txt'), 'keep me');
    const origin = { origin: s.base, ...ADMIN };
    for (const [queue, data] of [['document', { content: 'hello' }], ['video', { source: 'clip.mp4' }]] as const) {
      const jobId = `../../${path.basename(victim)}`;
      const added = await s.request('POST', `/admin/queues/api/queues/${queue}/add`, { name: 'x', data, options: { jobId } }, origin);
      expect(added.status, JSON.stringify(added.body)).to.equal(200);
      const done = await s.h.settled(queue, jobId);
      expect(done.state).to.equal('failed');
      expect(done.error!.message).to.match(/job id cannot name an output file/);
    }
    expect(fs.readFileSync(path.join(victim, 'precious.txt'), 'utf8')).to.equal('keep me');
    expect(fs.existsSync(`${victim}.jsonl`)).to.equal(false);
    fs.rmSync(victim, { recursive: true });
  });

  it('lets the operator choose the embeddings provider: a client naming openai spends nothing', async () => {
    const provider = await localServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[]}'));
    process.env.OPENAI_BASE_URL = `http://127.0.0.1:${provider.port}/v1`;
    try {
      const job = await s.run('ai', { texts: ['spend it'], provider: 'openai' });
      expect(job.state).to.equal('failed');
      expect(job.error!.message).to.match(/provider "openai" is not allowed here \(AI_PROVIDERS_ALLOWED: local\)/);
      expect(provider.hits).to.deep.equal([]);
    } finally {
      delete process.env.OPENAI_BASE_URL;
      await provider.close();
    }
  });
});
