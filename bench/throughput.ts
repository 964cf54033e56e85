// No-op jobs through jobvisor's runtime against a bare BullMQ Worker at the
// same concurrency (rates in jobs/s), on the same backend, in the same run. Rounds alternate so
// that the machine's noise falls on both sides alike; the median round counts.
//
//   node --import tsx bench/throughput.ts [--jobs 4000] [--pg-jobs 1500] [--concurrency 8] [--rounds 3] [--backend redis|postgres|both]
//
// CPU µs/job is this process's process.cpuUsage() over a round, per job: the
// worker side's own cost, whatever else shares the machine.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Queue, Worker, createPostgresBackend } from 'bullmq';
import { pino } from 'pino';
import { loadConfig } from '../src/lib/config.js';
import { openStore, type Store, type StoreConfig } from '../src/lib/store/index.js';
import { workerRetention } from '../src/lib/store/job-options.js';
import { startRuntime } from '../src/workers/runtime.js';
import { DATABASE_URL, REDIS_URL, dropPgSchema, dropRedisPrefix, uniqueName } from '../test/helpers/services.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '4000' },
    'pg-jobs': { type: 'string', default: '1500' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'both' },
  },
});
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);

const JOBS = loadConfig({}).jobs; // jobvisor's defaults, as a deployment gets them

interface Backend {
  name: string;
  jobs: number;
  storeConfig(prefix: string): StoreConfig;
  bull(prefix: string): { opts: object; factory?: typeof createPostgresBackend };
  cleanup(prefix: string): Promise<void>;
}

const backends: Backend[] = [
  {
    name: 'redis',
    jobs: Number(values.jobs),
    storeConfig: (prefix) => ({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: JOBS }),
    bull: (prefix) => ({ opts: { connection: { url: REDIS_URL, maxRetriesPerRequest: null }, prefix } }),
    cleanup: (prefix) => dropRedisPrefix(prefix),
  },
  {
    name: 'postgres',
    jobs: Number(values['pg-jobs']),
    storeConfig: (prefix) => ({ mode: 'postgres', databaseUrl: DATABASE_URL, prefix, jobs: JOBS }),
    bull: (prefix) => ({ opts: { connection: { connectionString: DATABASE_URL, schema: prefix, migrate: true, max: 3 } }, factory: createPostgresBackend }),
    cleanup: (prefix) => dropPgSchema(prefix),
  },
];

type Ctor<T> = new (...args: unknown[]) => T;

/** One arm's round: wall time, and this process's CPU (user + system) spent meanwhile. */
interface Timed { ms: number; cpuUs: number }

async function timeUntil(done: () => boolean): Promise<Timed> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
  const { user, system } = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuUs: user + system };
}

async function enqueueThroughStore(store: Store, name: string, jobs: number): Promise<void> {
  for (let i = 0; i < jobs; i += 500) {
    await store.enqueueBulk(Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({ queue: name, data: { i: i + k } })));
  }
}

/**
 * A bare BullMQ Worker whose processor returns at once. `via` says who enqueued:
 * plain Queue.addBulk with BullMQ's defaults, or jobvisor's store (priority,
 * attempts; with jobvisor's retention on the Worker, where the runtime sets it),
 * so that the worker side alone can be compared.
 */
async function bareRound(backend: Backend, prefix: string, jobs: number, via?: Store): Promise<Timed> {
  const name = uniqueName('bare');
  const { opts, factory } = backend.bull(prefix);
  const queue = new (Queue as unknown as Ctor<Queue>)(name, opts, factory);
  if (via) await enqueueThroughStore(via, name, jobs);
  for (let i = 0; !via && i < jobs; i += 500) {
    await queue.addBulk(Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({ name: 'noop', data: { i: i + k } })));
  }
  let completed = 0;
  const worker = new (Worker as unknown as Ctor<Worker>)(name, async () => null, { ...opts, concurrency, autorun: false, ...(via ? workerRetention(JOBS) : {}) }, factory);
  worker.on('completed', () => completed++);
  void worker.run();
  const timed = await timeUntil(() => completed >= jobs);
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  return timed;
}

/** jobvisor: enqueue through the store, run through the worker runtime. */
async function jobvisorRound(store: Store, jobs: number): Promise<Timed> {
  const name = uniqueName('jv');
  await enqueueThroughStore(store, name, jobs);
  const runtime = startRuntime({
    store, queue: name, concurrency, logger: pino({ level: 'silent' }),
    handler: { run: async () => null },
  });
  const timed = await timeUntil(() => runtime.stats.processed >= jobs);
  await runtime.drain();
  return timed;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  console.log(`# throughput: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  console.log(`concurrency ${concurrency}, ${rounds} alternating rounds, median round\n`);
  console.log('| backend | jobs | A: bare BullMQ, default job options | B: bare Worker, jobs enqueued by jobvisor | C: jobvisor runtime | C/B (runtime) | C/A (end to end) | CPU µs/job B / C |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const backend of backends.filter((b) => values.backend === 'both' || b.name === values.backend)) {
    const prefix = uniqueName(backend.name === 'postgres' ? 'jvb_' : 'jvb');
    const store = await openStore(backend.storeConfig(prefix));
    const arms: Record<'bare' | 'bareSameJobs' | 'ours', Timed[]> = { bare: [], bareSameJobs: [], ours: [] };
    try {
      await bareRound(backend, prefix, 200); // warm up connections and scripts on both sides
      await jobvisorRound(store, 200);
      for (let r = 0; r < rounds; r++) {
        arms.bare.push(await bareRound(backend, prefix, backend.jobs));
        arms.bareSameJobs.push(await bareRound(backend, prefix, backend.jobs, store));
        arms.ours.push(await jobvisorRound(store, backend.jobs));
      }
    } finally {
      await store.close();
      await backend.cleanup(prefix);
    }
    const rate = (timed: Timed[]) => backend.jobs / (median(timed.map((t) => t.ms)) / 1000);
    const cpu = (timed: Timed[]) => (median(timed.map((t) => t.cpuUs)) / backend.jobs).toFixed(0);
    const [a, b, c] = [rate(arms.bare), rate(arms.bareSameJobs), rate(arms.ours)];
    console.log(`| ${backend.name} | ${backend.jobs} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${c.toFixed(0)} | ${(c / b).toFixed(2)} | ${(c / a).toFixed(2)} | ${cpu(arms.bareSameJobs)} / ${cpu(arms.ours)} |`);
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
