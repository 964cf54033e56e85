// What both webhook suites stand on: a store on a private Redis prefix, a local receiver,
// and the worker processes a suite forks, all made before the suite and gone after it.
import type { ChildProcess } from 'node:child_process';
import { openStore, type Store } from '../../src/lib/store/index.js';
import { TEST_JOBS } from '../conformance/describe-store.js';
import { exited } from './fork.js';
import { startReceiver, type Receiver } from './receiver.js';
import { dropRedisPrefix, REDIS_URL, redisAnswers, requireService, uniqueName } from './services.js';

export interface WebhookRig {
  prefix: string;
  /** What a forked worker needs to reach the rig's store. */
  env: NodeJS.ProcessEnv;
  store: Store;
  receiver: Receiver;
  /** Killed after the suite. */
  workers: ChildProcess[];
}

/** The rig's fields are there from the suite's first test on; `started` runs at the end of its `before`. */
export function useWebhookRig(name: string, started?: (rig: WebhookRig) => void): WebhookRig {
  const prefix = uniqueName(name);
  const rig = { prefix, env: { REDIS_URL, JOBVISOR_PREFIX: prefix, JOB_DEFAULT_BACKOFF_MS: '100' }, workers: [] } as unknown as WebhookRig;
  before(async function () {
    await requireService(this, `Redis at ${REDIS_URL}`, () => redisAnswers());
    rig.store = await openStore({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: TEST_JOBS });
    rig.receiver = await startReceiver();
    started?.(rig);
  });
  after(async () => {
    for (const worker of rig.workers) worker.kill('SIGKILL');
    await Promise.all(rig.workers.map(exited));
    await rig.receiver?.close();
    await rig.store?.close();
    await dropRedisPrefix(prefix);
  });
  return rig;
}
