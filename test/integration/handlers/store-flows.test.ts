// The two store facilities the handlers lean on — flows and key-value state —
// in both server modes, since BullMQ's flows and jobvisor's jv_kv table differ per backend.
import { expect } from 'chai';
import { pino } from 'pino';
import { UnrecoverableError } from '../../../src/lib/errors.js';
import { openStore, type ChildrenOutcome, type Store, type StoreConfig } from '../../../src/lib/store/index.js';
import { startRuntime, type Runtime } from '../../../src/workers/runtime.js';
import {
  DATABASE_URL, dropPgSchema, dropRedisPrefix, postgresAnswers, REDIS_URL, redisAnswers, requireService, uniqueName,
} from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';

const JOBS: StoreConfig['jobs'] = {
  attempts: 1, backoffMs: 100, timeoutMs: 20_000,
  keepCompleted: { count: 100, ageSeconds: 3600 }, keepFailed: { count: 100, ageSeconds: 3600 },
  lockMs: 5000, stalledIntervalMs: 2000,
};

const modes = [
  {
    name: 'redis',
    answers: () => redisAnswers(),
    config: (prefix: string): StoreConfig => ({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: JOBS }),
    cleanup: (prefix: string) => dropRedisPrefix(prefix),
  },
  {
    name: 'postgres',
    answers: () => postgresAnswers(),
    config: (prefix: string): StoreConfig => ({ mode: 'postgres', databaseUrl: DATABASE_URL, prefix, jobs: JOBS }),
    cleanup: (prefix: string) => dropPgSchema(prefix),
  },
];

for (const mode of modes) {
  describe(`store flows and state [${mode.name}]`, function () {
    this.timeout(60_000);
    const prefix = uniqueName('jvf');
    let store: Store;
    const runtimes: Runtime[] = [];

    before(async function () {
      await requireService(this, mode.name, mode.answers);
      store = await openStore(mode.config(prefix));
    });

    after(async () => {
      await Promise.all(runtimes.map((r) => r.close()));
      await store?.close();
      await mode.cleanup(prefix).catch(() => {});
    });

    it('keeps JSON values by key, overwriting, and answers undefined for a key never set', async () => {
      expect(await store.getValue('cursor:none')).to.equal(undefined);
      await store.setValue('cursor:a', { at: 1, ids: ['x'] });
      await store.setValue('cursor:a', { at: 2, ids: ['y'] });
      expect(await store.getValue('cursor:a')).to.deep.equal({ at: 2, ids: ['y'] });
    });

    it('runs a flow parent after its children on other queues, reading their results and ignored failures', async () => {
      const parentQueue = uniqueName('p');
      const childQueue = uniqueName('c');
      const logger = pino({ level: 'silent' });
      let seen: ChildrenOutcome | undefined;
      runtimes.push(startRuntime({
        store, queue: childQueue, concurrency: 2, logger,
        handler: {
          run: async (data) => {
            const { n } = data as { n: number };
            if (n === 2) throw new UnrecoverableError('two is bad');
            return { doubled: n * 2 };
          },
        },
      }));
      runtimes.push(startRuntime({
        store, queue: parentQueue, concurrency: 1, logger,
        handler: { run: async (_data, ctx) => (seen = await ctx.childrenResults()) && 'collected' },
      }));
      const flow = await store.enqueueFlow({
        queue: parentQueue, name: 'collect', data: {},
        children: [1, 2, 3].map((n) => ({ queue: childQueue, data: { n }, ignoreFailure: true })),
      });
      expect(flow.children).to.have.length(3);
      const listed = await store.list({ queue: childQueue, limit: 10, offset: 0 });
      expect(listed.map((j) => j.id), 'a flow\'s jobs show in their queue\'s list').to.have.members(flow.children.map((c) => c.id));
      expect((await store.list({ queue: parentQueue, limit: 10, offset: 0 })).map((j) => j.id)).to.deep.equal([flow.id]);
      const parent = await waitFor(async () => {
        const job = await store.get(parentQueue, flow.id);
        return job?.state === 'completed' && job.finishedAt ? job : undefined;
      }, { timeoutMs: 30_000, intervalMs: 100, message: 'the flow parent to complete' });
      expect(parent.result).to.equal('collected');
      const byId = (id: string) => `${childQueue}:${id}`;
      const [one, two, three] = flow.children.map((c) => byId(c.id));
      expect(seen!.results).to.deep.equal({ [one!]: { doubled: 2 }, [three!]: { doubled: 6 } });
      expect(Object.keys(seen!.failures)).to.deep.equal([two]);
      expect(seen!.failures[two!]).to.match(/two is bad/);
    });
  });
}
