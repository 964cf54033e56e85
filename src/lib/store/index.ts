// The only way into the job engine. Nothing outside this folder imports
// bullmq, ioredis or pg.
import { DEFAULT_HOST_FORGET_MS, type Config } from '../config.js';
import { BullStore } from './bullmq-store.js';
import { openEngine } from './connection.js';
import type { Store } from './types.js';

export * from './types.js';
export { readEmbeddedPassword } from './embedded.js';
export { JobController } from './job-controller.js';
export { DEFAULT_PRIORITY } from './job-options.js';

export type StoreConfig = Pick<Config, 'mode' | 'prefix' | 'jobs'>
  & Partial<Pick<Config, 'redisUrl' | 'databaseUrl' | 'dataDir' | 'embeddedPgPort' | 'embeddedPgPassword' | 'hostForgetMs'>>;

export { newJobId } from './job-id.js';

/** `failFast`: the api's store, whose calls never wait for a reconnect (see EngineOptions). */
export async function openStore(config: StoreConfig, log?: (line: string) => void, options: { failFast?: boolean } = {}): Promise<Store> {
  const engine = await openEngine({ ...config, ...options }, log);
  return new BullStore(engine, config.jobs, { forgetMs: config.hostForgetMs ?? DEFAULT_HOST_FORGET_MS });
}
