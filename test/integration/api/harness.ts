// An api over a real store for tests: Redis under a unique prefix, or
// PostgreSQL in a unique schema, torn down after.
import { pino } from 'pino';
import { createApp, type AppOptions } from '../../../src/api/app.js';
import { loadConfig, type Config } from '../../../src/lib/config.js';
import { openStore, type Store, type StoreConfig } from '../../../src/lib/store/index.js';
import { TEST_JOBS } from '../../conformance/describe-store.js';
import {
  DATABASE_URL, dropPgSchema, dropRedisPrefix, postgresAnswers, REDIS_URL, redisAnswers, requireService, uniqueName,
} from '../../helpers/services.js';

export const silent = pino({ level: 'silent' });

export interface Backend {
  name: 'redis' | 'postgres';
  require(ctx: Mocha.Context): Promise<void>;
  storeConfig(): StoreConfig;
  cleanup(): Promise<void>;
}

export function redisBackend(): Backend {
  const prefix = uniqueName('jvapi');
  return {
    name: 'redis',
    require: (ctx) => requireService(ctx, `Redis at ${REDIS_URL}`, () => redisAnswers()),
    storeConfig: () => ({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: TEST_JOBS }),
    cleanup: () => dropRedisPrefix(prefix),
  };
}

export function postgresBackend(): Backend {
  const schema = uniqueName('jvapi');
  return {
    name: 'postgres',
    require: (ctx) => requireService(ctx, `PostgreSQL at ${DATABASE_URL}`, () => postgresAnswers()),
    storeConfig: () => ({ mode: 'postgres', databaseUrl: DATABASE_URL, prefix: schema, jobs: TEST_JOBS }),
    cleanup: () => dropPgSchema(schema),
  };
}

/** The api settings from an environment, as server.ts would read them. */
export function apiConfig(env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ REDIS_URL, WORKER_QUEUES: 'video,document', ...env });
}

export interface TestApi {
  store: Store;
  app: ReturnType<typeof createApp>['app'];
  metrics: ReturnType<typeof createApp>['metrics'];
}

export async function openApi(backend: Backend, env: NodeJS.ProcessEnv = {}, extra: Partial<AppOptions> = {}): Promise<TestApi> {
  const store = await openStore(backend.storeConfig(), undefined, { failFast: true }); // as server.ts opens it
  const { app, metrics } = createApp({ store, config: apiConfig(env), logger: silent, ...extra });
  return { store, app, metrics };
}

/**
 * A suite's api over `backend`: opened before the suite (or the suite skipped), its store
 * closed and its data dropped after it. The object's fields are there from the first test on.
 */
export function useApi(backend: Backend, env: NodeJS.ProcessEnv = {}): TestApi {
  const api = {} as TestApi;
  before(async function () {
    await backend.require(this);
    Object.assign(api, await openApi(backend, env));
  });
  after(async () => {
    await api.store?.close();
    await backend.cleanup();
  });
  return api;
}
