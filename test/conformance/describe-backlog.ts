// A queue's backlog as the supervisor's autoscaler reads it, the same in every
// mode: how many jobs are ready to run (not delayed, not a parent waiting on its
// children) and since when the oldest of them waits. Each mode's file calls it.
import { expect } from 'chai';
import type { Store } from '../../src/lib/store/index.js';
import { uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { useModeStore, type ModeHarness } from './describe-store.js';

/** A clock tick later than `after`, so that two jobs never share a millisecond. */
const tickAfter = (after: number) => waitFor(() => Date.now() > after + 2, { intervalMs: 1, message: 'the clock to move' });

export function describeBacklog(mode: string, harness: ModeHarness): void {
  describe(`store backlog [${mode}]`, function () {
    this.timeout(30_000);
    let store: Store;

    useModeStore(harness, (opened) => (store = opened));

    it('counts nothing ready and no oldest waiting job on an empty queue', async () => {
      const queue = uniqueName('q');
      expect(await store.readyCount(queue)).to.equal(0);
      expect((await store.oldest(queue)).waitingSince).to.equal(null);
    });

    it('counts ready jobs of every priority, but neither delayed jobs nor a parent waiting on its children', async () => {
      const queue = uniqueName('q');
      const first = (await store.enqueue({ queue, data: {}, priority: 7 })).job;
      await tickAfter(Date.parse(first.createdAt));
      await store.enqueue({ queue, data: {}, priority: 1 });
      await store.enqueue({ queue, data: {}, priority: 5 });
      await store.enqueue({ queue, data: {}, delayMs: 60_000, priority: 1 });
      await store.enqueueFlow({ queue, data: {}, children: [{ queue: uniqueName('child'), data: {} }] });
      const counts = await store.counts(queue);
      expect(counts, 'counts folds the parent into waiting').to.include({ waiting: 4, delayed: 1 });
      expect(await store.readyCount(queue)).to.equal(3);
      expect((await store.oldest(queue)).waitingSince, 'the oldest ready job, behind higher priorities').to.equal(Date.parse(first.createdAt));
    });

    it('still counts the jobs of a paused queue, which isPaused tells apart', async () => {
      const queue = uniqueName('q');
      await store.pause(queue);
      await store.enqueueBulk([{ queue, data: {} }, { queue, data: {} }]);
      expect(await store.readyCount(queue)).to.equal(2);
      expect(await store.isPaused(queue)).to.equal(true);
      await store.resume(queue);
      expect(await store.readyCount(queue)).to.equal(2);
    });
  });
}
