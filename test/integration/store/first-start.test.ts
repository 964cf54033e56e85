// Many processes' first calls on a fresh PostgreSQL schema at once (what
// dev:full does at start): BullMQ's migration and the extras' migration race on
// CREATE SCHEMA; the store creates the schema first so that every first call succeeds.
import { expect } from 'chai';
import { openStore, type Store } from '../../../src/lib/store/index.js';
import { TEST_JOBS } from '../../conformance/describe-store.js';
import { DATABASE_URL, dropPgSchema, postgresAnswers, requireService, uniqueName } from '../../helpers/services.js';

const STORES = 6;
const ROUNDS = 4;

async function firstCalls(store: Store): Promise<void> {
  await Promise.all([store.counts('video'), store.listProcesses(), store.enqueue({ queue: 'ai', data: {} })]);
}

describe('store first start on a fresh PostgreSQL schema', function () {
  this.timeout(120_000);

  before(async function () {
    await requireService(this, `PostgreSQL at ${DATABASE_URL}`, () => postgresAnswers());
  });

  it(`lets ${STORES} stores migrate at once without any of them hanging, ${ROUNDS} times`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const schema = uniqueName('jvfirst');
      const stores = await Promise.all(Array.from({ length: STORES }, () =>
        openStore({ mode: 'postgres', databaseUrl: DATABASE_URL, prefix: schema, jobs: TEST_JOBS })));
      try {
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 20_000)));
        const outcome = await Promise.race([Promise.all(stores.map(firstCalls)).then(() => 'done' as const), hung]);
        clearTimeout(timer);
        expect(outcome, `round ${round}`).to.equal('done');
        expect(Date.now() - started).to.be.below(20_000);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        await dropPgSchema(schema);
      }
    }
  });
});
