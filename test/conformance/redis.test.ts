import { describeBacklog } from './describe-backlog.js';
import { describeSchedules } from './describe-schedules.js';
import { describeRegistry } from './describe-registry.js';
import { describeStore, type ModeHarness } from './describe-store.js';
import { describeTenants } from './describe-tenants.js';
import { dropRedisPrefix, REDIS_URL, redisAnswers, requireService, uniqueName } from '../helpers/services.js';

const prefix = uniqueName('jvt');
const harness: ModeHarness = {
  require: (ctx) => requireService(ctx, `Redis at ${REDIS_URL}`, () => redisAnswers()),
  config: (jobs) => ({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: jobs as never }),
  workerEnv: () => ({ REDIS_URL, JOBVISOR_PREFIX: prefix }),
  cleanup: () => dropRedisPrefix(prefix),
};

describeStore('redis', harness);
describeSchedules('redis', harness);
describeTenants('redis', harness);
describeBacklog('redis', harness);
describeRegistry('redis', harness);
