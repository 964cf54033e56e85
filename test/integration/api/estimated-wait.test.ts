// estimatedWait (README, "Estimated wait") on the enqueue answer and a waiting job's view:
// null with nothing to estimate from; once a worker is live and attempts have a mean
// duration, jobs ahead × mean / the workers' slots. Over Redis and PostgreSQL.
import { expect } from 'chai';
import request from 'supertest';
import type { ProcessRecord } from '../../../src/lib/store/index.js';
import { waitFor } from '../../helpers/wait.js';
import { openApi, postgresBackend, redisBackend, type Backend, type TestApi } from './harness.js';

const QUEUE = 'document';

/** A worker of the queue as its heartbeat records it: two slots, idle. */
const worker = (): ProcessRecord => ({
  id: `test:${process.pid}:${QUEUE}`, host: 'test', pid: process.pid, queue: QUEUE, state: 'running',
  rss: 0, heapUsed: 0, active: 0, processed: 0, failed: 0, startedAt: Date.now(), concurrency: 2,
});

for (const backend of [redisBackend(), postgresBackend()] as Backend[]) {
  describe(`estimatedWait [${backend.name}]`, function () {
    this.timeout(60_000);
    let api: TestApi;

    const enqueue = (priority = 5) => request(api.app).post('/api/jobs').send({ queue: QUEUE, priority, data: { content: 'a b c' } }).expect(202);
    const view = async (id: string) => (await request(api.app).get(`/api/jobs/${QUEUE}/${id}`).expect(200)).body as { state: string; estimatedWait?: number | null };

    before(async function () {
      await backend.require(this);
      api = await openApi(backend);
    });
    after(async () => {
      await api?.store.close();
      await backend.cleanup();
    });

    it('is null while no attempt has a duration and no worker is live', async () => {
      const { body } = await enqueue();
      expect(body).to.have.property('estimatedWait', null);
      // Past the api's refresh: the cached numbers are read, and still give nothing to estimate from.
      const until = Date.now() + 1500;
      while (Date.now() < until) expect((await view(body.id)).estimatedWait).to.equal(null);
      expect(await api.store.meanDuration(QUEUE)).to.equal(null);
    });

    it('grows with the jobs ahead once a worker is live and attempts have a mean duration', async () => {
      // Real attempts of about 40 ms each, recorded by a real consumer's throughput flush.
      const consumer = api.store.consume(QUEUE, async () => {
        await new Promise((resolve) => setTimeout(resolve, 40));
        return { kind: 'completed', result: null };
      }, { concurrency: 1 });
      await waitFor(async () => (await api.store.counts(QUEUE)).completed >= 1, { message: 'the first job completed' });
      await consumer.close();
      const mean = await waitFor(() => api.store.meanDuration(QUEUE), { message: 'a mean duration' });
      expect(mean).to.be.within(30, 5000);
      await api.store.heartbeat(worker(), 60_000);

      const first = (await enqueue()).body.id as string;
      // Alone in the queue with two idle slots: it starts at once.
      await waitFor(async () => (await view(first)).estimatedWait === 0, { message: 'an estimate of 0 for the only job' });
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await enqueue()).body.id);
      // 10 jobs ahead of the last, 2 slots: (10 − 2 + 1) rounds of the mean, shared by 2.
      const expected = Math.round((9 * mean) / 2);
      await waitFor(async () => (await view(ids.at(-1)!)).estimatedWait === expected, { message: `an estimate of ${expected}` });
      // A job already waiting counts every other job of its priority as ahead (the README's overstatement).
      expect((await view(first)).estimatedWait).to.equal(expected);

      const urgent = await enqueue(1);
      expect(urgent.body.estimatedWait).to.equal(0);
      const late = await enqueue(10);
      expect(late.body.estimatedWait).to.be.a('number').and.to.be.at.least(expected);
    });

    it('is null again once no worker is live', async () => {
      await api.store.removeProcess(worker().id);
      const { body } = await enqueue();
      await waitFor(async () => (await view(body.id)).estimatedWait === null, { message: 'null without a worker' });
    });
  });
}
