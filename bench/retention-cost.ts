// What retention in every job's options costs Redis per add, against retention on the
// Worker (where jobvisor sets it): the same jobvisor job options either way, added in
// 500-job batches that alternate between the two, each batch timed by Redis itself
// (INFO commandstats, EVALSHA µs). Alternating per batch puts the machine's drift on
// both sides alike, which whole-run timings (bench/job-options.ts) cannot on a noisy
// machine; the median batch is reported.
//
//   node --import tsx bench/retention-cost.ts [--batches 60]
import { parseArgs } from 'node:util';
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/lib/config.js';
import { jobOptions, workerRetention } from '../src/lib/store/job-options.js';
import { newJobId } from '../src/lib/store/index.js';
import { dropRedisPrefix, REDIS_URL, uniqueName } from '../test/helpers/services.js';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '60' } } });
const defaults = loadConfig({}).jobs;
const data = { content: 'hello world' };
const ARMS: [string, () => JobsOptions][] = [
  ['retention in every job\'s options (before)', () => ({ ...jobOptions(defaults, { queue: 'document', data }, newJobId()), ...workerRetention(defaults) })],
  ['retention on the Worker (jobvisor now)', () => jobOptions(defaults, { queue: 'document', data }, newJobId())],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const prefix = uniqueName('jvret');
  const redis = new Redis(REDIS_URL);
  const queue = new Queue('document', { connection: { url: REDIS_URL, maxRetriesPerRequest: null }, prefix });
  const evalshaMicros = async () => Number((await redis.info('commandstats')).match(/cmdstat_evalsha:calls=\d+,usec=(\d+)/)?.[1] ?? 0);
  const perJob: number[][] = ARMS.map(() => []);
  try {
    for (let batch = 0; batch < Number(values.batches); batch++) {
      const order = batch % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const before = await evalshaMicros();
        await queue.addBulk(Array.from({ length: 500 }, () => ({ name: 'default', data, opts: ARMS[i]![1]() })));
        perJob[i]!.push(((await evalshaMicros()) - before) / 500);
      }
    }
  } finally {
    await queue.close();
    redis.disconnect();
    await dropRedisPrefix(prefix);
  }
  console.log(`| options | Redis EVALSHA µs per add, median of ${values.batches} batches of 500 |\n| --- | --- |`);
  for (const [i, [name]] of ARMS.entries()) console.log(`| ${name} | ${median(perJob[i]!).toFixed(1)} |`);
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
