// What every route is given: the store behind a bounded caller, the queues
// that exist, auth, metrics and the few api settings.
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../lib/store/index.js';
import type { QueueName } from '../queues/index.js';
import type { Auth } from './auth.js';
import type { ApiMetrics } from './metrics.js';
import type { StoreCall } from './store-call.js';

export interface ApiContext {
  store: Store;
  call: StoreCall;
  /** The registry's queues: any other queue name is a 404. */
  queues: readonly QueueName[];
  auth: Auth;
  metrics: ApiMetrics;
  config: Pick<Config, 'api' | 'workerQueues'>;
  logger: Logger;
}
