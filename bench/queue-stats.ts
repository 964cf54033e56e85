// GET /api/jobs/queue-stats with four queues and 100,000 stored jobs, on Redis
// and on PostgreSQL: the bound is 100 ms. Then GET /metrics with its
// cache off, so that every scrape pays the store reads (counts, oldest jobs, registry).
// Run: node --import tsx bench/queue-stats.ts [jobs=100000] [requests=50]
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from '../src/api/app.js';
import { loadConfig } from '../src/lib/config.js';
import { openStore, type StoreConfig } from '../src/lib/store/index.js';
import { TEST_JOBS } from '../test/conformance/describe-store.js';
import { DATABASE_URL, dropPgSchema, dropRedisPrefix, REDIS_URL, uniqueName } from '../test/helpers/services.js';
import { fillQueues } from '../test/integration/api/fill.js';
import { summary } from './stats-util.js';

const JOBS = Number(process.argv[2] ?? 100_000);
const REQUESTS = Number(process.argv[3] ?? 50);

/** REQUESTS sequential requests after 5 that warm connections up. */
async function timeRequests(url: string, answered: (res: Response) => Promise<boolean>) {
  const samples: number[] = [];
  for (let i = 0; i < REQUESTS + 5; i++) {
    const started = performance.now();
    const res = await fetch(url);
    const ok = res.status === 200 && (await answered(res));
    if (i >= 5) samples.push(performance.now() - started);
    if (!ok) throw new Error(`unexpected answer from ${url}: ${res.status}`);
  }
  return summary(samples);
}

async function run(mode: 'redis' | 'postgres') {
  const prefix = uniqueName('jvbench');
  const storeConfig: StoreConfig = mode === 'redis'
    ? { mode, redisUrl: REDIS_URL, prefix, jobs: TEST_JOBS }
    : { mode, databaseUrl: DATABASE_URL, prefix, jobs: TEST_JOBS };
  const store = await openStore(storeConfig);
  try {
    const filled = Date.now();
    await fillQueues(store, JOBS);
    const fillMs = Date.now() - filled;
    for (let i = 0; i < 8; i++) {
      await store.heartbeat({ id: `bench:${i}`, host: 'bench', pid: i, queue: 'video', state: 'running', rss: 1, heapUsed: 1, active: 0, processed: 0, failed: 0, startedAt: Date.now(), restarts: { memory: 1 } }, 60_000);
    }
    const { app } = createApp({ store, config: loadConfig({}), logger: pino({ level: 'silent' }), metricsCountsTtlMs: 1 });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const queueStatsMs = await timeRequests(`${base}/api/jobs/queue-stats`, async (res) => {
      const body = (await res.json()) as { queues: Record<string, { counts: { waiting: number } }> };
      return body.queues.video!.counts.waiting >= JOBS / 4;
    });
    const metricsMs = await timeRequests(`${base}/metrics`, async (res) => /^jobvisor_queue_oldest_waiting_seconds\{queue="video"\} [1-9]/m.test(await res.text()));
    await new Promise((resolve) => server.close(resolve));
    return { mode, jobs: JOBS, fillMs, queueStatsMs, metricsMs };
  } finally {
    await store.close();
    await (mode === 'redis' ? dropRedisPrefix(prefix) : dropPgSchema(prefix));
  }
}

async function main() {
  for (const mode of ['redis', 'postgres'] as const) console.log(JSON.stringify(await run(mode)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
