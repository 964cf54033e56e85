// A job whose worker keeps vanishing: each round a consumer takes it and is closed while it
// runs, as a killed worker would be, and the supervisor's release gives the job back (or, the
// last time, fails it for good). Other jobs the consumer meets complete at once.
import { expect } from 'chai';
import { MAX_LOST } from '../../src/lib/store/release.js';
import type { Store } from '../../src/lib/store/index.js';
import { waitFor } from './wait.js';

/** Resolves once the job has failed for good, having lost its worker MAX_LOST + 1 times. */
export async function loseWorkerUntilFailed(store: Store, queue: string, jobId: string): Promise<void> {
  for (let round = 0; ; round++) {
    const consumer = store.consume(queue, (active, { signal }) => new Promise((resolve) => {
      if (active.id !== jobId) resolve({ kind: 'completed', result: null });
      signal.addEventListener('abort', () => resolve({ kind: 'retry', error: new Error('its worker is gone') }));
    }), { concurrency: 1 });
    try {
      const held = await waitFor(() => consumer.held().find((h) => h.id === jobId), { message: `the job held (round ${round})` });
      await consumer.close();
      expect(await store.releaseJobs(queue, [held], 'was killed')).to.deep.equal([jobId]);
    } finally {
      await consumer.close();
    }
    if ((await store.get(queue, jobId))?.state === 'failed') return;
    expect(round, 'released more often than MAX_LOST + 1').to.be.below(MAX_LOST);
  }
}
