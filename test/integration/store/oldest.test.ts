// Store.oldest on Redis and PostgreSQL: the oldest waiting job across every
// priority (not the one BullMQ would run next), and the longest-running job.
import { expect } from 'chai';
import { openStore, type Consumer, type Store } from '../../../src/lib/store/index.js';
import { uniqueName } from '../../helpers/services.js';
import { latch, waitFor } from '../../helpers/wait.js';
import { postgresBackend, redisBackend, type Backend } from '../api/harness.js';

/** A clock tick later than `after`, so that two jobs never share a millisecond. */
const tickAfter = (after: number) => waitFor(() => Date.now() > after + 2, { intervalMs: 1, message: 'the clock to move' });

function describeOldest(backend: Backend): void {
  describe(`store.oldest [${backend.name}]`, function () {
    this.timeout(30_000);
    let store: Store;
    let consumer: Consumer | undefined;
    const release = latch();

    before(async function () {
      await backend.require(this);
      store = await openStore(backend.storeConfig());
    });
    after(async () => {
      release.resolve();
      await consumer?.close();
      await store?.close();
      await backend.cleanup();
    });

    it('is null for both on an empty queue', async () => {
      expect(await store.oldest(uniqueName('q'))).to.deep.equal({ activeSince: null, waitingSince: null });
    });

    it('finds the oldest waiting job behind higher priorities, and the start of the longest-running job', async () => {
      const queue = uniqueName('q');
      const first = (await store.enqueue({ queue, data: {}, priority: 5 })).job;
      await tickAfter(Date.parse(first.createdAt));
      const urgent = (await store.enqueue({ queue, data: {}, priority: 1 })).job;
      await tickAfter(Date.parse(urgent.createdAt));
      await store.enqueue({ queue, data: {}, priority: 10 });
      await store.enqueue({ queue, data: {}, delayMs: 60_000 }); // not ready: never the oldest waiting
      expect(await store.oldest(queue)).to.deep.equal({ activeSince: null, waitingSince: Date.parse(first.createdAt) });

      // The priority-1 job runs first and stays active; the older priority-5 job is still the oldest waiting.
      consumer = store.consume(queue, async () => { await release.promise; return { kind: 'completed', result: null }; }, { concurrency: 1 });
      const running = await waitFor(async () => {
        const view = await store.get(queue, urgent.id);
        return view?.state === 'active' && view.startedAt ? view : undefined;
      }, { message: 'the urgent job active' });
      expect(await store.oldest(queue)).to.deep.equal({ activeSince: Date.parse(running.startedAt!), waitingSince: Date.parse(first.createdAt) });
    });
  });
}

describeOldest(redisBackend());
describeOldest(postgresBackend());
