import { describeBacklog } from './describe-backlog.js';
import { describeSchedules } from './describe-schedules.js';
import { describeRegistry } from './describe-registry.js';
import { describeStore, type ModeHarness } from './describe-store.js';
import { describeTenants } from './describe-tenants.js';
import { DATABASE_URL, dropPgSchema, postgresAnswers, requireService, uniqueName } from '../helpers/services.js';

const schema = uniqueName('jvt_');
const harness: ModeHarness = {
  require: (ctx) => requireService(ctx, `PostgreSQL at ${DATABASE_URL}`, () => postgresAnswers()),
  config: (jobs) => ({ mode: 'postgres', databaseUrl: DATABASE_URL, prefix: schema, jobs: jobs as never }),
  workerEnv: () => ({ REDIS_URL: '', DATABASE_URL, JOBVISOR_PREFIX: schema }),
  cleanup: () => dropPgSchema(schema),
};

describeStore('postgres', harness);
describeSchedules('postgres', harness);
describeTenants('postgres', harness);
describeBacklog('postgres', harness);
describeRegistry('postgres', harness);
