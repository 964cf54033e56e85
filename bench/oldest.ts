// Store.oldest (the read behind jobvisor_queue_oldest_*_seconds) against
// Store.counts, on one queue of 25,000 waiting jobs spread over the ten
// priorities: the worst case, one job read per priority level.
// Run: node --import tsx bench/oldest.ts [redis|postgres] [jobs=25000]
import { openStore, type StoreConfig } from '../src/lib/store/index.js';
import { TEST_JOBS } from '../test/conformance/describe-store.js';
import { DATABASE_URL, REDIS_URL, dropPgSchema, dropRedisPrefix, uniqueName } from '../test/helpers/services.js';
import { summary } from './stats-util.js';

const MODE = process.argv[2] === 'postgres' ? 'postgres' : 'redis';
const JOBS = Number(process.argv[3] ?? 25_000);
const ROUNDS = 30;

async function time(read: () => Promise<unknown>) {
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS + 5; i++) {
    const started = performance.now();
    await read();
    if (i >= 5) samples.push(performance.now() - started);
  }
  return summary(samples);
}

async function main() {
  const prefix = uniqueName('jvbench');
  const config: StoreConfig = MODE === 'redis'
    ? { mode: MODE, redisUrl: REDIS_URL, prefix, jobs: TEST_JOBS }
    : { mode: MODE, databaseUrl: DATABASE_URL, prefix, jobs: TEST_JOBS };
  const store = await openStore(config);
  try {
    const perPriority = Math.ceil(JOBS / 10);
    for (let priority = 1; priority <= 10; priority++) {
      for (let added = 0; added < perPriority; added += 1000) {
        await store.enqueueBulk(Array.from({ length: Math.min(1000, perPriority - added) }, (_, n) => ({ queue: 'video', data: { n }, priority })));
      }
    }
    console.log(JSON.stringify({ mode: MODE, jobs: JOBS, countsMs: await time(() => store.counts('video')), oldestMs: await time(() => store.oldest('video')) }));
  } finally {
    await store.close();
    await (MODE === 'redis' ? dropRedisPrefix(prefix) : dropPgSchema(prefix));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
