// What idle event-stream subscribers cost one api process: N sockets on
// GET /api/jobs/:queue/:id/events (one job each, all waiting) held open, and the
// api's heap and RSS before and after. The api runs in this process, the
// subscribers in a child process, so that their sockets are not counted here.
// Run: node --import tsx bench/sse-idle.ts [subscribers=2000]
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from '../src/api/app.js';
import { openSubscribers } from './handlers/sse-subscribers.js';
import { openStreams } from '../src/api/sse.js';
import { loadConfig } from '../src/lib/config.js';
import { openStore } from '../src/lib/store/index.js';
import { TEST_JOBS } from '../test/conformance/describe-store.js';
import { REDIS_URL, dropRedisPrefix, uniqueName } from '../test/helpers/services.js';

const N = Number(process.argv[2] ?? 2000);
const prefix = uniqueName('jvbench');

function memory() {
  globalThis.gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

async function main() {
  const store = await openStore({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: TEST_JOBS });
  const { app } = createApp({ store, config: loadConfig({ REDIS_URL }), logger: pino({ level: 'silent' }) });
  const server = http.createServer(app);
  server.maxConnections = N + 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const results = await store.enqueueBulk(Array.from({ length: N }, () => ({ queue: 'document', data: { content: 'x' } })));
  const paths = results.map(({ job }) => `/api/jobs/document/${job.id}/events`);
  await store.events.since('document', '0'); // the queue's reader and connection exist before the baseline
  const before = memory();
  const child = fork(openSubscribers, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send({ port: (server.address() as AddressInfo).port, paths });
  await new Promise((resolve) => child.once('message', resolve));
  while (openStreams() < N) await new Promise((resolve) => setTimeout(resolve, 100));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = memory();
  const per = (k: 'heapUsed' | 'rss') => Math.round((after[k] - before[k]) / N);
  console.log(`${N} idle subscribers: heap +${((after.heapUsed - before.heapUsed) / 1e6).toFixed(1)} MB (${per('heapUsed')} B each), rss +${((after.rss - before.rss) / 1e6).toFixed(1)} MB (${per('rss')} B each)`);
  child.kill();
  server.closeAllConnections();
  server.close();
  await store.close();
  await dropRedisPrefix(prefix);
}

void main();
