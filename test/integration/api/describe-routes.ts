// Every route of the HTTP API (README.md) and its error statuses, against a real
// store. One suite, called per backend by redis.test.ts and postgres.test.ts.
import { expect } from 'chai';
import request from 'supertest';
import { QUEUE_NAMES } from '../../../src/queues/index.js';
import { openDashboard, type Dashboard } from '../../../src/lib/store/dashboard.js';
import type { Consumer, ProcessRecord } from '../../../src/lib/store/index.js';
import { latch, waitFor } from '../../helpers/wait.js';
import { openApi, type Backend, type TestApi } from './harness.js';

function processRecord(queue: string, extra: Partial<ProcessRecord> = {}): ProcessRecord {
  return {
    id: `test-host:${Math.floor(Math.random() * 1e9)}:${queue}`, host: 'test-host', pid: 4242, queue, state: 'running',
    rss: 50_000_000, heapUsed: 20_000_000, active: 1, processed: 7, failed: 1, startedAt: Date.now() - 5000, ...extra,
  };
}

export function describeRoutes(backend: Backend): void {
  describe(`HTTP API routes [${backend.name}]`, function () {
    this.timeout(30_000);
    let api: TestApi;
    let dashboard: Dashboard;
    let consumers: Consumer[] = [];
    const registered: string[] = [];

    before(async function () {
      await backend.require(this);
      dashboard = await openDashboard(backend.storeConfig(), QUEUE_NAMES, '/admin/queues');
      api = await openApi(backend, { ENQUEUE_RATE_LIMIT: '0' }, { dashboard: dashboard.router });
    });
    afterEach(async () => {
      await Promise.all(consumers.map((c) => c.close()));
      consumers = [];
      await Promise.all(registered.splice(0).map((id) => api.store.removeProcess(id)));
    });
    after(async () => {
      await dashboard?.close();
      await api?.store.close();
      await backend.cleanup();
    });

    const enqueue = (body: object) => request(api.app).post('/api/jobs').send(body);

    it('enqueues a job and answers 202 with its id, state and status URL', async () => {
      const res = await enqueue({ queue: 'document', name: 'count', data: { content: 'a b c' }, priority: 2 }).expect(202);
      expect(res.body).to.include({ queue: 'document', state: 'waiting' });
      expect(res.body.statusUrl).to.equal(`/api/jobs/document/${res.body.id}`);
      expect(res.headers.location).to.equal(res.body.statusUrl);
      const job = (await request(api.app).get(res.body.statusUrl).expect(200)).body;
      expect(job).to.include({ id: res.body.id, name: 'count', state: 'waiting', priority: 2, attempts: 0, projectId: null });
      expect(job.data).to.deep.equal({ content: 'a b c' });
      expect(job.timeline.map((e: { event: string }) => e.event)).to.deep.equal(['created']);
      expect(job).to.not.have.any.keys('backoff', 'timeoutMs', 'dedupKey');
      expect(Date.parse(job.createdAt)).to.be.closeTo(Date.now(), 60_000);
    });

    it('answers a delayed job as delayed, with runAt in the future', async () => {
      const runAt = new Date(Date.now() + 3_600_000).toISOString();
      const { body } = await enqueue({ queue: 'video', data: { source: 's' }, runAt }).expect(202);
      expect(body.state).to.equal('delayed');
      const job = (await request(api.app).get(`/api/jobs/status?queue=video&jobId=${body.id}`).expect(200)).body;
      expect(Date.parse(job.runAt)).to.be.closeTo(Date.parse(runAt), 1000);
    });

    it('returns the existing job with 200 on a dedup hit', async () => {
      const first = await enqueue({ queue: 'ai', data: { texts: ['x'] }, dedupKey: 'same-key' }).expect(202);
      const second = await enqueue({ queue: 'ai', data: { texts: ['y'] }, dedupKey: 'same-key' }).expect(200);
      expect(second.body.id).to.equal(first.body.id);
      expect(second.body.data).to.deep.equal({ texts: ['x'] });
    });

    it('lists jobs newest first, without data and timeline, with limit and offset', async () => {
      const projectId = `p${Date.now()}`;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await enqueue({ queue: 'rag-sync', data: { source: `s${i}` }, projectId }).expect(202)).body.id);
      const list = (await request(api.app).get(`/api/jobs?queue=rag-sync&projectId=${projectId}&limit=2`).expect(200)).body;
      expect(list).to.include({ limit: 2, offset: 0 });
      expect(list.jobs.map((j: { id: string }) => j.id)).to.deep.equal([ids[2], ids[1]]);
      expect(list.jobs[0]).to.not.have.any.keys('data', 'timeline');
      expect(list.jobs[0].projectId).to.equal(projectId);
      const next = (await request(api.app).get(`/api/jobs?queue=rag-sync&projectId=${projectId}&limit=2&offset=2`).expect(200)).body;
      expect(next.jobs.map((j: { id: string }) => j.id)).to.deep.equal([ids[0]]);
      const waiting = (await request(api.app).get('/api/jobs?queue=rag-sync&state=waiting').expect(200)).body;
      expect(waiting.limit).to.equal(20);
      expect(waiting.jobs.every((j: { state: string }) => j.state === 'waiting')).to.equal(true);
    });

    it('runs a job to completion and shows its result, attempts and timeline; cancelling it then is a 409', async () => {
      const { body } = await enqueue({ queue: 'maintenance', data: { n: 21 } }).expect(202);
      consumers.push(api.store.consume('maintenance', async (job) => ({ kind: 'completed', result: { doubled: (job.data as { n: number }).n * 2 } }), { concurrency: 1 }));
      const job = await waitFor(async () => {
        const res = await request(api.app).get(`/api/jobs/maintenance/${body.id}`);
        return res.body.state === 'completed' && res.body;
      }, { message: 'the job to complete' });
      expect(job).to.include({ attempts: 1, error: null });
      expect(job.result).to.deep.equal({ doubled: 42 });
      expect(job.timeline.map((e: { event: string }) => e.event)).to.include.members(['created', 'active', 'completed']);
      const conflict = await request(api.app).delete(`/api/jobs/maintenance/${body.id}`).expect(409);
      expect(conflict.body.error.code).to.equal('wrong_state');
      await request(api.app).post(`/api/jobs/maintenance/${body.id}/retry`).expect(409);
    });

    it('cancels a waiting job (200, cancelled), then retries it back to waiting', async () => {
      const { body } = await enqueue({ queue: 'document', data: { content: 'to cancel' }, delay: 60_000 }).expect(202);
      const cancelled = await request(api.app).delete(`/api/jobs/document/${body.id}`).expect(200);
      expect(cancelled.body).to.include({ id: body.id, state: 'cancelled' });
      expect(cancelled.body.error).to.deep.equal({ message: 'job cancelled' });
      await request(api.app).delete(`/api/jobs/document/${body.id}`).expect(409);
      const retried = await request(api.app).post(`/api/jobs/document/${body.id}/retry`).expect(200);
      expect(retried.body).to.include({ id: body.id, state: 'waiting' });
    });

    it('cancels an active job: its handler sees the signal and the job ends cancelled', async () => {
      const started = latch();
      consumers.push(api.store.consume('video', (_job, { signal }) => new Promise((resolve) => {
        started.resolve();
        signal.addEventListener('abort', () => resolve({ kind: 'cancelled' }), { once: true });
      }), { concurrency: 1 }));
      const { body } = await enqueue({ queue: 'video', data: { source: 'long' }, priority: 1 }).expect(202);
      await started.promise;
      await waitFor(async () => (await request(api.app).get(`/api/jobs/video/${body.id}`)).body.state === 'active');
      const res = await request(api.app).delete(`/api/jobs/video/${body.id}`).expect(200);
      expect(res.body.state).to.equal('cancelled');
    });

    it('answers 404 for an unknown queue, in the body, the path and the query', async () => {
      const res = await enqueue({ queue: 'nope', data: {} }).expect(404);
      expect(res.body.error.code).to.equal('unknown_queue');
      await request(api.app).get('/api/jobs/nope/1').expect(404);
      await request(api.app).get('/api/jobs/status?queue=nope&jobId=1').expect(404);
      await request(api.app).get('/api/jobs?queue=nope').expect(404);
      await request(api.app).delete('/api/jobs/nope/1').expect(404);
      await request(api.app).post('/api/jobs/nope/1/retry').expect(404);
      await request(api.app).post('/api/queues/nope/pause').expect(404);
    });

    it('answers 404 for an unknown job on every job route', async () => {
      const res = await request(api.app).get('/api/jobs/video/does-not-exist').expect(404);
      expect(res.body).to.deep.equal({ error: { code: 'job_not_found', message: 'no job does-not-exist in queue video' } });
      await request(api.app).get('/api/jobs/status?queue=video&jobId=does-not-exist').expect(404);
      await request(api.app).delete('/api/jobs/video/does-not-exist').expect(404);
      await request(api.app).post('/api/jobs/video/does-not-exist/retry').expect(404);
    });

    it('answers 400 naming the field for a malformed body or query', async () => {
      const cases: [object, string][] = [
        [{ queue: 'video', data: {}, priority: 11 }, 'priority'],
        [{ queue: 'video', data: {}, priorty: 1 }, 'priorty'],
        [{ queue: 'video' }, 'data'],
        [{ data: {} }, 'queue'],
        [{ queue: 'video', data: {}, delay: -1 }, 'delay'],
        [{ queue: 'video', data: {}, runAt: 'tomorrow' }, 'runAt'],
        [{ queue: 'video', data: {}, attempts: 1.5 }, 'attempts'],
      ];
      for (const [body, field] of cases) {
        const res = await enqueue(body).expect(400);
        expect(res.body.error.code).to.equal('invalid_request');
        expect(res.body.error.message, JSON.stringify(body)).to.include(field);
        expect(res.body.error.details.issues[0].field).to.equal(field);
      }
      const list = await request(api.app).get('/api/jobs?queue=video&limit=500').expect(400);
      expect(list.body.error.message).to.include('limit');
      await request(api.app).get('/api/jobs?queue=video&state=sleeping').expect(400);
      await request(api.app).get('/api/jobs?cursor=not*a*cursor').expect(400); // without queue it lists every queue (list-all.test.ts)
      const broken = await request(api.app).post('/api/jobs').set('Content-Type', 'application/json').send('{"queue": "video",').expect(400);
      expect(broken.body.error.code).to.equal('invalid_json');
      expect(JSON.stringify(broken.body)).to.not.match(/at .*\.js|stack/);
    });

    it('answers 413 for a body over the limit and 415 for a body that is not JSON', async () => {
      const big = { queue: 'document', data: { content: 'x'.repeat(1024 * 1024 + 10) } };
      const res = await enqueue(big).expect(413);
      expect(res.body.error.code).to.equal('body_too_large');
      const form = await request(api.app).post('/api/jobs').type('form').send('queue=video').expect(415);
      expect(form.body.error.code).to.equal('unsupported_media_type');
      await request(api.app).post('/api/jobs').set('Content-Type', 'text/plain').send('hello').expect(415);
      await request(api.app).post('/api/jobs').expect(415);
    });

    it('pauses and resumes a queue, and queue-stats shows it', async () => {
      expect((await request(api.app).post('/api/queues/rag-sync/pause').expect(200)).body).to.deep.equal({ queue: 'rag-sync', paused: true });
      let stats = (await request(api.app).get('/api/jobs/queue-stats').expect(200)).body;
      expect(stats.queues['rag-sync'].paused).to.equal(true);
      expect((await request(api.app).post('/api/queues/rag-sync/resume').expect(200)).body.paused).to.equal(false);
      stats = (await request(api.app).get('/api/jobs/queue-stats').expect(200)).body;
      expect(stats.queues['rag-sync'].paused).to.equal(false);
    });

    it('reports counts, last-minute throughput, restarts summed per queue, and every live worker', async () => {
      const a = processRecord('video', { restarts: { memory: 2, crash: 1 } });
      const b = processRecord('video', { restarts: { memory: 1, timeout: 3 }, host: 'other-host' });
      for (const record of [a, b]) {
        await api.store.heartbeat(record, 30_000);
        registered.push(record.id);
      }
      const stats = (await request(api.app).get('/api/jobs/queue-stats').expect(200)).body;
      expect(Object.keys(stats.queues)).to.include.members(['video', 'document', 'ai', 'rag-sync']);
      const video = stats.queues.video;
      expect(video.counts).to.have.all.keys('waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled');
      expect(video.lastMinute).to.have.all.keys('completed', 'failed');
      expect(video.restarts).to.deep.equal({ memory: 3, max_jobs: 0, crash: 1, heartbeat: 0, pressure: 0, timeout: 3 });
      expect(stats.queues.document.restarts.memory).to.equal(0);
      const worker = stats.workers.find((w: { host: string }) => w.host === 'other-host');
      expect(worker).to.include({ pid: 4242, queue: 'video', state: 'running', rss: 50_000_000, active: 1, processed: 7, failed: 1 });
      expect(worker.uptimeMs).to.be.within(4000, 60_000);
    });

    it('shows per host the autoscaling range, desired and live counts, and the last decision with its reason', async () => {
      const decision = { step: 'up' as const, reason: 'backlog', detail: '40 jobs ready', at: Date.parse('2026-01-02T03:04:05.000Z'), from: 1, to: 2 };
      const scaling = { min: 1, max: 4, desired: 2, live: 2, lastDecision: decision };
      const records = [
        processRecord('ai', { supervisor: 'test-host:1', scaling }),
        processRecord('ai', { supervisor: 'test-host:1', scaling }),
        processRecord('ai', { supervisor: 'other-host:7', host: 'other-host', scaling: { ...scaling, desired: 1, live: 1, lastDecision: null } }),
      ];
      for (const record of records) {
        await api.store.heartbeat(record, 30_000);
        registered.push(record.id);
      }
      const stats = (await request(api.app).get('/api/jobs/queue-stats').expect(200)).body;
      expect(stats.queues.ai.scaling).to.have.deep.members([
        { host: 'test-host', supervisor: 'test-host:1', range: { min: 1, max: 4 }, desired: 2, live: 2, lastDecision: { ...decision, at: '2026-01-02T03:04:05.000Z' } },
        { host: 'other-host', supervisor: 'other-host:7', range: { min: 1, max: 4 }, desired: 1, live: 1, lastDecision: null },
      ]);
      expect(stats.queues.video.scaling, 'a queue no supervisor runs here').to.deep.equal([]);
    });

    it('is ready only with a live worker for each expected queue and none crash-looping', async () => {
      await request(api.app).get('/api/health').expect(200);
      const before = await request(api.app).get('/api/health/ready').expect(503);
      expect(before.body.status).to.equal('not_ready');
      expect(before.body.failed).to.deep.equal(['workers']);
      expect(before.body.checks.store.ok).to.equal(true);
      for (const queue of ['video', 'document']) {
        const record = processRecord(queue);
        await api.store.heartbeat(record, 30_000);
        registered.push(record.id);
      }
      const ready = await request(api.app).get('/api/health/ready').expect(200);
      expect(ready.body.status).to.equal('ready');
      const looping = processRecord('document', { crashLooping: true });
      await api.store.heartbeat(looping, 30_000);
      registered.push(looping.id);
      const after = await request(api.app).get('/api/health/ready').expect(503);
      expect(after.body.failed).to.deep.equal(['crashLooping']);
      expect(after.body.error.message).to.include('document');
    });

    it('serves Prometheus metrics: HTTP traffic, jobs enqueued, jobs per queue and state', async () => {
      await enqueue({ queue: 'ai', data: { texts: ['m'] } }).expect(202);
      const text = (await request(api.app).get('/metrics').expect(200).expect('Content-Type', /text\/plain/)).text;
      expect(text).to.match(/^jobvisor_jobs_enqueued_total\{queue="ai"\} [1-9]/m);
      expect(text).to.match(/^jobvisor_http_requests_total\{method="POST",route="\/api\/jobs",status="202"\} \d+/m);
      expect(text).to.match(/^jobvisor_http_request_duration_seconds_bucket\{.*route="\/api\/jobs\/:queue\/:id"/m);
      expect(text).to.match(/^jobvisor_queue_jobs\{queue="ai",state="waiting"\} [1-9]/m);
      for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
        expect(line).to.match(/^jobvisor_[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$/);
      }
    });

    it('serves the bull-board dashboard over the same queues', async () => {
      await enqueue({ queue: 'rag-sync', data: { source: 'board' } }).expect(202);
      const page = await request(api.app).get('/admin/queues').expect(200);
      expect(page.text).to.include('<div id="root">');
      const { body } = await request(api.app).get('/admin/queues/api/queues').expect(200);
      const ragSync = body.queues.find((q: { name: string }) => q.name.endsWith('rag-sync'));
      expect(ragSync.counts.waiting + (ragSync.counts.prioritized ?? 0)).to.be.greaterThan(0);
    });

    it('answers 404 in the error shape for a route that does not exist', async () => {
      const res = await request(api.app).get('/api/nothing').expect(404);
      expect(res.body.error.code).to.equal('not_found');
    });
  });
}
