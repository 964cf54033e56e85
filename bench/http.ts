// Enqueue over HTTP (autocannon against the api process) beside enqueue in
// process (the store's enqueue, and bare BullMQ Queue.add), same Redis, same run.
// Run: node --import tsx bench/http.ts [seconds=10] [connections=50]
import { fork } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { openStore } from '../src/lib/store/index.js';
import { TEST_JOBS } from '../test/conformance/describe-store.js';
import { dropRedisPrefix, REDIS_URL, uniqueName } from '../test/helpers/services.js';
import { summary } from './stats-util.js';

const SECONDS = Number(process.argv[2] ?? 10);
const CONNECTIONS = Number(process.argv[3] ?? 50);
const QUEUE = 'document';
const DATA = { text: 'hello world' };

interface Result {
  name: string;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** `concurrency` loops calling `add` for `seconds`; throughput and per-call latency. */
async function inProcess(name: string, add: () => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const started = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (Date.now() < deadline) {
      const t = performance.now();
      try {
        await add();
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  }));
  const s = summary(latencies);
  return { name, perSecond: Math.round(latencies.length / ((Date.now() - started) / 1000)), p50Ms: s.p50, p99Ms: s.p99, errors };
}

async function startApi(prefix: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = fork(path.join(__dirname, '../src/api/server.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, REDIS_URL, JOBVISOR_PREFIX: prefix, PORT: '0', LOG_LEVEL: 'warn', ENQUEUE_RATE_LIMIT: '0', API_KEYS: '', ADMIN_API_KEYS: '' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m.type === 'api-listening' && resolve(m.port!));
    child.once('exit', (code) => reject(new Error(`api exited ${code}`)));
  });
  return { port, stop: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }) };
}

async function overHttp(port: number): Promise<Result> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/api/jobs`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ queue: QUEUE, data: DATA }),
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  return {
    name: 'POST /api/jobs (HTTP, autocannon)',
    perSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

async function main() {
  const prefix = uniqueName('jvbench');
  const store = await openStore({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: TEST_JOBS });
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const bare = new Queue(QUEUE, { connection, prefix: `${prefix}bare` });
  const api = await startApi(prefix);
  try {
    const results = [
      await overHttp(api.port),
      await inProcess('store.enqueue (in process)', () => store.enqueue({ queue: QUEUE, data: DATA })),
      await inProcess('bare BullMQ Queue.add (in process)', () => bare.add('default', DATA, { attempts: 3, removeOnComplete: 1000 })),
    ];
    const [http, viaStore, viaBull] = results as [Result, Result, Result];
    console.log(JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, results }, null, 1));
    console.log(`HTTP / store.enqueue throughput: ${(http.perSecond / viaStore.perSecond).toFixed(2)}`);
    console.log(`HTTP / bare BullMQ throughput: ${(http.perSecond / viaBull.perSecond).toFixed(2)}`);
  } finally {
    await api.stop();
    await bare.close();
    connection.disconnect();
    await store.close();
    await dropRedisPrefix(prefix);
    await dropRedisPrefix(`${prefix}bare`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
