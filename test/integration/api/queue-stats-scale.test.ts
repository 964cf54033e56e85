// queue-stats stays fast with four queues and 100,000 stored jobs (the issue's
// bound is 100 ms; bench/queue-stats.ts measures it, here a generous bound
// keeps a noisy shared machine from failing the suite).
import { expect } from 'chai';
import request from 'supertest';
import { summary } from '../../../bench/stats-util.js';
import { fillQueues, STATS_QUEUES } from './fill.js';
import { openApi, postgresBackend, redisBackend, type Backend, type TestApi } from './harness.js';

const JOBS = 100_000;

for (const backend of [redisBackend(), postgresBackend()] as Backend[]) {
  describe(`queue-stats at scale [${backend.name}]`, function () {
    this.timeout(180_000);
    let api: TestApi;

    before(async function () {
      await backend.require(this);
      api = await openApi(backend);
      await fillQueues(api.store, JOBS);
    });
    after(async () => {
      await api?.store.close();
      await backend.cleanup();
    });

    it(`answers queue-stats over ${JOBS.toLocaleString('en')} jobs in four queues well within bounds`, async () => {
      const samples: number[] = [];
      for (let i = 0; i < 25; i++) {
        const started = performance.now();
        const { body } = await request(api.app).get('/api/jobs/queue-stats').expect(200);
        samples.push(performance.now() - started);
        const waiting = STATS_QUEUES.reduce((sum, queue) => sum + body.queues[queue].counts.waiting, 0);
        expect(waiting).to.equal(JOBS);
      }
      const { p50, max } = summary(samples.slice(5));
      console.log(`      queue-stats [${backend.name}] over ${JOBS} jobs: p50 ${p50} ms, max ${max} ms`);
      expect(p50).to.be.below(300);
    });
  });
}
