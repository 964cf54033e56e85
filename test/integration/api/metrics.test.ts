// /metrics reads queue counts from the store at most once per cache period,
// however many scrapes arrive at once.
import { expect } from 'chai';
import request from 'supertest';
import { QUEUE_NAMES } from '../../../src/queues/index.js';
import type { Store } from '../../../src/lib/store/index.js';
import { waitFor } from '../../helpers/wait.js';
import { apiConfig, redisBackend, silent } from './harness.js';
import { createApp } from '../../../src/api/app.js';
import { openStore } from '../../../src/lib/store/index.js';

/** The real store, with its counts() reads counted. */
function countingCounts(store: Store): { store: Store; reads: () => number } {
  let reads = 0;
  const observed = Object.create(store) as Store;
  observed.counts = (queue) => {
    reads++;
    return store.counts(queue);
  };
  return { store: observed, reads: () => reads };
}

describe('HTTP API metrics cache', function () {
  this.timeout(30_000);
  const backend = redisBackend();
  let store: Store;

  before(async function () {
    await backend.require(this);
    store = await openStore(backend.storeConfig());
  });
  after(async () => {
    await store?.close();
    await backend.cleanup();
  });

  it('serves a storm of 50 scrapes with one read per queue, and reads again once the cache expires', async () => {
    const observed = countingCounts(store);
    const { app } = createApp({ store: observed.store, config: apiConfig(), logger: silent, metricsCountsTtlMs: 300 });
    await store.enqueue({ queue: 'video', data: { source: 'x' } });
    const scrapes = await Promise.all(Array.from({ length: 50 }, () => request(app).get('/metrics')));
    expect(scrapes.every((res) => res.status === 200 && /jobvisor_queue_jobs\{queue="video",state="waiting"\} 1/.test(res.text))).to.equal(true);
    expect(observed.reads()).to.equal(QUEUE_NAMES.length);
    await waitFor(async () => {
      await request(app).get('/metrics').expect(200);
      return observed.reads() === 2 * QUEUE_NAMES.length;
    }, { timeoutMs: 5000, message: 'a second read after the cache period' });
  });
});
