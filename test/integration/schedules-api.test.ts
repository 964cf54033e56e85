// The schedule routes over HTTP, on a real store (Redis), mounted the way the api mounts them.
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { schedulesRouter } from '../../src/api/routes/schedules.js';
import { storeCaller } from '../../src/api/store-call.js';
import { reconcileSchedules } from '../../src/queues/schedules.js';
import { openStore, type ScheduleSpec, type Store } from '../../src/lib/store/index.js';
import { TEST_JOBS } from '../conformance/describe-store.js';
import { dropRedisPrefix, REDIS_URL, redisAnswers, requireService, uniqueName } from '../helpers/services.js';

describe('schedules api', function () {
  this.timeout(30_000);
  const prefix = uniqueName('jvt');
  const queue = uniqueName('sq');
  let store: Store;
  let app: express.Express;
  const daily: ScheduleSpec = { name: 'nightly', queue, cron: '0 6 * * *', payload: { full: true }, priority: 4, enabled: true };

  before(async function () {
    await requireService(this, `Redis at ${REDIS_URL}`, () => redisAnswers());
    store = await openStore({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: TEST_JOBS });
    app = express();
    app.use('/api/schedules', schedulesRouter(store));
  });

  // Reconciling the same declaration would keep the last test's api changes: start each test from none.
  beforeEach(async () => {
    await reconcileSchedules(store, []);
    await reconcileSchedules(store, [daily]);
  });

  after(async () => {
    await store?.close();
    await dropRedisPrefix(prefix);
  });

  it('lists each schedule with its cron, timezone, enabled, last run, next run and last job', async () => {
    const res = await request(app).get('/api/schedules').expect(200);
    expect(res.body.schedules).to.have.length(1);
    const [schedule] = res.body.schedules;
    expect(schedule).to.deep.include({ name: 'nightly', queue, cron: '0 6 * * *', enabled: true, priority: 4, lastRunAt: null, lastJob: null });
    expect(schedule.timezone).to.equal(null);
    expect(Date.parse(schedule.nextRunAt)).to.be.greaterThan(Date.now());
  });

  it('changes cron, timezone, enabled and payload, and answers with the schedule', async () => {
    const res = await request(app).put('/api/schedules/nightly')
      .send({ cron: '15 5 * * 1-5', timezone: 'Europe/Paris', payload: { full: false } }).expect(200);
    expect(res.body).to.deep.include({ cron: '15 5 * * 1-5', timezone: 'Europe/Paris', changedBy: 'api', payload: { full: false } });
    const off = await request(app).put('/api/schedules/nightly').send({ enabled: false }).expect(200);
    expect(off.body).to.deep.include({ enabled: false, nextRunAt: null, cron: '15 5 * * 1-5' });
    const cleared = await request(app).put('/api/schedules/nightly').send({ enabled: true, timezone: null }).expect(200);
    expect(cleared.body.enabled).to.equal(true);
    expect(cleared.body.timezone).to.equal(null);
    expect(cleared.body.nextRunAt).to.be.a('string');
  });

  it('rejects an invalid cron expression or timezone with a 400 naming it, changing nothing', async () => {
    const cron = await request(app).put('/api/schedules/nightly').send({ cron: '61 * * * *' }).expect(400);
    expect(cron.body.error).to.include({ code: 'invalid_request' });
    expect(cron.body.error.details).to.deep.equal({ field: 'cron' });
    expect(cron.body.error.message).to.match(/^cron: /);
    const zone = await request(app).put('/api/schedules/nightly').send({ timezone: 'Mars/Olympus' }).expect(400);
    expect(zone.body.error.details).to.deep.equal({ field: 'timezone' });
    expect(zone.body.error.message).to.include('Mars/Olympus');
    const unknown = await request(app).put('/api/schedules/nightly').send({ queue: 'video' }).expect(400);
    expect(unknown.body.error.details.field).to.equal('queue');
    const wrongType = await request(app).put('/api/schedules/nightly').send({ enabled: 'yes' }).expect(400);
    expect(wrongType.body.error.details.field).to.equal('enabled');
    await request(app).put('/api/schedules/nightly').set('Content-Type', 'application/json').send('{"cron":').expect(400);
    await request(app).put('/api/schedules/nightly').set('Content-Type', 'text/plain').send('cron').expect(415);
    expect((await store.schedules.get('nightly'))!.cron).to.equal('0 6 * * *');
  });

  it('answers 404 for an unknown schedule', async () => {
    const put = await request(app).put('/api/schedules/no-such').send({ enabled: false }).expect(404);
    expect(put.body.error.code).to.equal('schedule_not_found');
    await request(app).post('/api/schedules/no-such/run').expect(404);
    await request(app).get('/api/schedules/no-such').expect(404);
  });

  it('answers 503 with Retry-After and the api\'s store_unavailable code when the store is down, on every route', async () => {
    const down = await openStore({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: TEST_JOBS });
    await down.close(); // every call now fails as a lost connection does
    const downApp = express().use('/api/schedules', schedulesRouter(down, { call: storeCaller(500) }));
    const answers = await Promise.all([
      request(downApp).get('/api/schedules'),
      request(downApp).get('/api/schedules/nightly'),
      request(downApp).put('/api/schedules/nightly').send({ enabled: false }),
      request(downApp).post('/api/schedules/nightly/run'),
    ]);
    expect(answers.map((a) => a.status)).to.deep.equal([503, 503, 503, 503]);
    expect(answers.map((a) => a.body.error.code)).to.deep.equal(Array(4).fill('store_unavailable'));
    expect(answers.every((a) => a.headers['retry-after'] === '5')).to.equal(true);
  });

  it('uses the api\'s codes for a body it cannot read', async () => {
    const bad = await request(app).put('/api/schedules/nightly').set('Content-Type', 'application/json').send('{"cron":').expect(400);
    expect(bad.body.error.code).to.equal('invalid_json');
    const large = await request(app).put('/api/schedules/nightly').send({ payload: { text: 'x'.repeat(70_000) } }).expect(413);
    expect(large.body.error.code).to.equal('body_too_large');
  });

  it('runs a schedule now: one job, 202 with where to follow it, shown as the last job', async () => {
    const res = await request(app).post('/api/schedules/nightly/run').expect(202);
    expect(res.body).to.include({ queue, state: 'waiting', statusUrl: `/api/jobs/${queue}/${res.body.id}` });
    const job = await store.get(queue, res.body.id);
    expect(job).to.include({ name: 'nightly', priority: 4 });
    expect(job!.data).to.deep.equal({ full: true });
    expect((await store.counts(queue)).waiting).to.equal(1);
    const listed = await request(app).get('/api/schedules/nightly').expect(200);
    expect(listed.body.lastJob).to.deep.equal({ id: res.body.id, state: 'waiting' });
    expect(Date.parse(listed.body.lastRunAt)).to.be.closeTo(Date.now(), 5000);
  });
});
