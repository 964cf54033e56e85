// What every route is given: the store behind a bounded caller, the queues
// that exist, auth, metrics and the few api settings.
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../lib/store/index.js';
import type { QueueName } from '../queues/index.js';
import type { Auth } from './auth.js';
import type { ApiMetrics } from './metrics.js';
import type { StoreCall } from './store-call.js';
import type { SupervisorMemory } from './supervisor-memory.js';
import type { WaitEstimator } from './wait-estimate.js';

export interface ApiContext {
  store: Store;
  call: StoreCall;
  /** The registry's queues: any other queue name is a 404. */
  queues: readonly QueueName[];
  auth: Auth;
  metrics: ApiMetrics;
  /** What supervisors last said of their queues, kept across gaps in the registry (supervisor-memory.ts). */
  supervisors: SupervisorMemory;
  config: Pick<Config, 'api' | 'workerQueues' | 'queues'>;
  logger: Logger;
  /** Estimated waits from numbers cached per queue (wait-estimate.ts). */
  waits: WaitEstimator;
}
