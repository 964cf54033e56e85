// What each of jobvisor's job options costs BullMQ itself: a bare Queue.addBulk
// (500 jobs a call, timed: the enqueue side) and then a bare Worker (no-op
// processor, concurrency 8, timed: the worker side) on Redis, once per set of
// options, rounds alternating, the median round reported. Every arm is
// compared with BullMQ's defaults in the same run. The adds' cost inside Redis
// (µs of Redis CPU per job, the difference in INFO commandstats across each
// arm's adds: other clients' commands count too, so run it on a quiet Redis) is
// what bounds a bulk enqueue on a machine whose cores Redis shares.
//
//   node --import tsx bench/job-options.ts [--jobs 8000] [--rounds 3] [--concurrency 8] [--arms 7,9]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Queue, Worker, type JobsOptions, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/lib/config.js';
import { jobOptions, workerRetention } from '../src/lib/store/job-options.js';
import { dropRedisPrefix, REDIS_URL, uniqueName } from '../test/helpers/services.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '8000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    /** Some arms only, by their index in ARMS (0, BullMQ's defaults, always runs). */
    arms: { type: 'string' },
  },
});
const jobs = Number(values.jobs);
const defaults = loadConfig({}).jobs;
const { keepCompleted } = defaults;
const connection = { url: REDIS_URL, maxRetriesPerRequest: null };

/** What the Worker gets beside the jobs' options (jobvisor's retention, in the last arm). */
type Arm = [string, (i: number) => JobsOptions, Partial<WorkerOptions>?];
const retention = workerRetention(defaults);

/** Each arm adds one of jobvisor's options to BullMQ's defaults; the last ones are all of them. */
const ALL_ARMS: Arm[] = [
  ['BullMQ defaults', () => ({})],
  ['a given job id', (i) => ({ jobId: `j${i}` })],
  ['priority 5 (prioritized set)', () => ({ priority: 5 })],
  ['retention by count and age', () => ({ removeOnComplete: { count: keepCompleted.count, age: keepCompleted.ageSeconds } })],
  ['retention by count only', () => ({ removeOnComplete: keepCompleted.count })],
  ['retention by age only', () => ({ removeOnComplete: { age: keepCompleted.ageSeconds } })],
  ['attempts, backoff, keepLogs, timeoutMs', () => ({ attempts: 3, backoff: { type: 'exponential', delay: 1000 }, keepLogs: 500, timeoutMs: 60_000 } as JobsOptions)],
  ['jobvisor, all options (priority 5), retention per job', (i) => ({ ...jobOptions(defaults, { queue: '', data: null }, `j${i}`), ...retention })],
  ['jobvisor, all options, priority 1 as plain', (i) => { const { priority: _p, ...rest } = jobOptions(defaults, { queue: '', data: null }, `j${i}`); return rest; }, retention],
  ['jobvisor, all options (priority 5), retention on the Worker', (i) => jobOptions(defaults, { queue: '', data: null }, `j${i}`), retention],
];
const ARMS = values.arms ? ALL_ARMS.filter((_, i) => i === 0 || values.arms!.split(',').map(Number).includes(i)) : ALL_ARMS;

/** Microseconds Redis has spent in commands (since its start or an operator's RESETSTAT). */
async function redisMicros(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return [...stats.matchAll(/usec=(\d+)/g)].reduce((sum, [, usec]) => sum + Number(usec), 0);
}

async function round(prefix: string, [, options, workerOptions]: Arm, redis: Redis): Promise<{ add: number; work: number; redisPerJob: number }> {
  const name = uniqueName('opt');
  const queue = new Queue(name, { connection, prefix });
  await queue.waitUntilReady();
  const before = await redisMicros(redis);
  const adding = performance.now();
  for (let i = 0; i < jobs; i += 500) {
    await queue.addBulk(Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: options(i + k) })));
  }
  const add = performance.now() - adding;
  const redisPerJob = ((await redisMicros(redis)) - before) / jobs;
  let completed = 0;
  const started = performance.now();
  const worker = new Worker(name, async () => null, { connection, prefix, concurrency: Number(values.concurrency), ...workerOptions });
  worker.on('completed', () => completed++);
  while (completed < jobs) await new Promise((resolve) => setTimeout(resolve, 5));
  const work = performance.now() - started;
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  return { add, work, redisPerJob };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const prefix = uniqueName('jvopt');
  console.log(`# job options: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(`${jobs} no-op jobs, concurrency ${values.concurrency}, ${values.rounds} rounds, median; the adds and the worker timed apart (the Worker starts after the adds)\n`);
  const adds: number[][] = ARMS.map(() => []);
  const redisCosts: number[][] = ARMS.map(() => []);
  const redis = new Redis(REDIS_URL);
  const times: number[][] = ARMS.map(() => []);
  try {
    await round(prefix, ARMS[0]!, redis); // warm up
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const [i, arm] of ARMS.entries()) {
        const { add, work, redisPerJob } = await round(prefix, arm, redis);
        adds[i]!.push(add);
        redisCosts[i]!.push(redisPerJob);
        times[i]!.push(work);
      }
    }
  } finally {
    redis.disconnect();
    await dropRedisPrefix(prefix);
  }
  const rate = (ms: number[]) => jobs / (median(ms) / 1000);
  console.log('| options | addBulk jobs/s | vs defaults | Redis µs/job in the adds | worker jobs/s | vs defaults |\n| --- | --- | --- | --- | --- | --- |');
  for (const [i, [name]] of ARMS.entries()) {
    const add = rate(adds[i]!);
    const work = rate(times[i]!);
    console.log(`| ${name} | ${add.toFixed(0)} | ${(add / rate(adds[0]!)).toFixed(2)} | ${median(redisCosts[i]!).toFixed(1)} | ${work.toFixed(0)} | ${(work / rate(times[0]!)).toFixed(2)} |`);
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
