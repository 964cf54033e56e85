// Enqueue over HTTP, side by side in one run on the same Redis: the compiled
// api (`npm run build` first; dist/api/server.js, auth and rate limit on), a
// hand-written express route and a bare node:http route (bench/http-anchors.mjs),
// each its own process loaded by autocannon from this one; single enqueue at a
// steady rate and flat out, then bulk flat out beside Queue.addBulk in process.
//
// With --rounds N the whole set runs N times, servers alternating within each;
// each cell is the median round, and "vs express" the median of the rounds' ratios.
// --paths picks some of steady,flat,bulk: `--paths steady --rounds 9` measures the
// tail at a steady rate alone, on a Redis that the other paths have not filled.
// Each row also gives CPU µs per job: the server process's (from /proc; for the
// in-process addBulk rows, this process's) and Redis's (INFO cpu), steadier than
// rates on a machine whose speed drifts, and what bounds a bulk on two cores.
//
//   npm run build && node --import tsx bench/http.ts [--seconds 10] [--rounds 1] [--paths steady,flat,bulk] [--connections 50] [--rate 1000] [--bulk 500] [--before <dist>]
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/lib/config.js';
import { jobOptions } from '../src/lib/store/job-options.js';
import { newJobId } from '../src/lib/store/index.js';
import { dropRedisPrefix, REDIS_URL, uniqueName } from '../test/helpers/services.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '1' },
    paths: { type: 'string', default: 'steady,flat,bulk' },
    connections: { type: 'string', default: '50' },
    rate: { type: 'string', default: '1000' },
    bulk: { type: 'string', default: '500' },
    'bulk-connections': { type: 'string', default: '4' },
    /** Another build's dist/ (say, main's) run as one more server, for a before/after in the same run. */
    before: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const PATHS = new Set(values.paths.split(','));
const BULK = Number(values.bulk);
const QUEUE = 'document';
const DATA = { content: 'hello world' };
const KEY = 'bench-key';
const JOB_DEFAULTS = loadConfig({}).jobs;

interface Server { name: string; port: number; pid: number; stop(): Promise<void> }
interface Row { path: string; server: string; perSecond: number; jobsPerSecond: number; p50: number; p99: number; errors: number; cpuPerJob: number; redisPerJob: number }

const redis = new Redis(REDIS_URL);

/** Seconds of CPU Redis has used (user + system), from INFO cpu. */
async function redisCpu(): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(info.match(new RegExp(`${name}:([0-9.]+)`))?.[1] ?? NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

/** Seconds of CPU a process has used (user + system), from /proc. */
function processCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ, 100 on Linux)
}

async function start(name: string, script: string, args: string[], env: NodeJS.ProcessEnv): Promise<Server> {
  const child = fork(script, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m.type === 'api-listening' && resolve(m.port!));
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
  });
  return { name, port, pid: child.pid!, stop: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }) };
}

function servers(prefix: string): Promise<Server>[] {
  const root = path.join(__dirname, '..');
  const common = { REDIS_URL, JOBVISOR_PREFIX: prefix };
  // Auth, tenancy (a tenant's key), validation, the request log and the rate limit all on.
  const api = { ...common, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', API_KEYS: `acme:${KEY}`, ADMIN_API_KEYS: '', ENQUEUE_RATE_LIMIT: '100000000', NODE_ENV: 'production' };
  return [
    start('jobvisor api (dist/)', path.join(root, 'dist/api/server.js'), [], api),
    ...(values.before ? [start('jobvisor api, before', path.join(values.before, 'api/server.js'), [], api)] : []),
    start('hand-written express', path.join(root, 'bench/http-anchors.mjs'), ['express'], common),
    start('bare node:http', path.join(root, 'bench/http-anchors.mjs'), ['node'], common),
  ];
}

async function load(server: Server, route: 'single' | 'bulk', mode: { connections: number; overallRate?: number; seconds?: number }): Promise<Row> {
  const jobs = route === 'bulk' ? BULK : 1;
  const single = { queue: QUEUE, data: DATA };
  const [cpuBefore, redisBefore] = [processCpu(server.pid), await redisCpu()];
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}/api/jobs${route === 'bulk' ? '/bulk' : ''}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify(route === 'bulk' ? { jobs: Array.from({ length: BULK }, () => single) } : single),
    connections: mode.connections,
    ...(mode.overallRate ? { overallRate: mode.overallRate } : {}),
    duration: mode.seconds ?? SECONDS,
  });
  const perSecond = Math.round(result.requests.average);
  const path = route === 'bulk' ? `POST /api/jobs/bulk (${BULK} jobs), flat out` : `POST /api/jobs, ${mode.overallRate ? `steady ${mode.overallRate}/s` : 'flat out'}`;
  const total = result.requests.total * jobs;
  const [cpuPerJob, redisPerJob] = [(processCpu(server.pid) - cpuBefore) * 1e6 / total, ((await redisCpu()) - redisBefore) * 1e6 / total];
  return { path, server: server.name, perSecond, jobsPerSecond: perSecond * jobs, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, cpuPerJob, redisPerJob };
}

/**
 * `connections` loops calling Queue.addBulk of BULK jobs for SECONDS, in this process: with
 * BullMQ's default options, or with the options jobvisor gives the same jobs (`withOptions`).
 */
async function addBulkInProcess(prefix: string, connections: number, withOptions: boolean): Promise<Row> {
  const queue = new Queue(QUEUE, { connection: { url: REDIS_URL, maxRetriesPerRequest: null }, prefix: `${prefix}bare` });
  let batches = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const started = Date.now();
  const [cpuBefore, redisBefore] = [process.cpuUsage(), await redisCpu()];
  await Promise.all(Array.from({ length: connections }, async () => {
    while (Date.now() < deadline) {
      await queue.addBulk(Array.from({ length: BULK }, () => ({
        name: 'default', data: DATA, ...(withOptions ? { opts: jobOptions(JOB_DEFAULTS, { queue: QUEUE, data: DATA }, newJobId()) } : {}),
      })));
      batches++;
    }
  }));
  const perSecond = batches / ((Date.now() - started) / 1000);
  const { user, system } = process.cpuUsage(cpuBefore);
  const redisPerJob = ((await redisCpu()) - redisBefore) * 1e6 / (batches * BULK);
  await queue.close();
  return { path: `Queue.addBulk (${BULK} jobs) in process${withOptions ? ", jobvisor's job options" : ''}`, server: 'this process', perSecond: Math.round(perSecond), jobsPerSecond: Math.round(perSecond * BULK), p50: NaN, p99: NaN, errors: 0, cpuPerJob: (user + system) / (batches * BULK), redisPerJob };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One row per path and server: the median of its rounds, and the median of its ratios to express's row in the same round. */
function print(rounds: Row[][]): void {
  console.log('| path | server | requests/s | jobs/s | p50 ms | p99 ms | errors | vs express | CPU µs/job: server / Redis |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const first of rounds[0]!) {
    const same = rounds.map((rows) => rows.find((r) => r.path === first.path && r.server === first.server)!);
    const ratios = rounds.flatMap((rows, i) => {
      const express = rows.find((r) => r.path === first.path && r.server === 'hand-written express');
      return express ? [same[i]!.jobsPerSecond / express.jobsPerSecond] : [];
    });
    const cell = (pick: (row: Row) => number) => median(same.map(pick));
    const ratio = ratios.length > 0 ? median(ratios).toFixed(2) : '';
    const cpu = `${cell((r) => r.cpuPerJob).toFixed(1)} / ${cell((r) => r.redisPerJob).toFixed(1)}`;
    console.log(`| ${first.path} | ${first.server} | ${cell((r) => r.perSecond)} | ${cell((r) => r.jobsPerSecond)} | ${cell((r) => r.p50)} | ${cell((r) => r.p99)} | ${same.reduce((n, r) => n + r.errors, 0)} | ${ratio} | ${cpu} |`);
  }
  const bulkVsAddBulk = rounds.map((rows) => {
    const bulk = rows.find((r) => r.path.startsWith('POST /api/jobs/bulk') && r.server.startsWith('jobvisor api ('));
    const addBulk = rows.find((r) => r.path.endsWith("jobvisor's job options"));
    return bulk && addBulk ? bulk.jobsPerSecond / addBulk.jobsPerSecond : NaN;
  });
  if (PATHS.has('steady')) {
    const steady = rounds[0]!.filter((r) => r.path.includes('steady')).map((first) =>
      `${first.server} ${rounds.map((rows) => rows.find((r) => r.path === first.path && r.server === first.server)!.p99).join(', ')}`);
    console.log(`\np99 ms at a steady ${values.rate}/s, per round: ${steady.join('; ')}`);
  }
  if (PATHS.has('bulk')) console.log(`\nbulk over HTTP vs Queue.addBulk with jobvisor's options in process: ${median(bulkVsAddBulk).toFixed(2)} (rounds: ${bulkVsAddBulk.map((r) => r.toFixed(2)).join(', ')})`);
  if (rounds.length > 1) {
    console.log(`\nper round, vs express: ${rounds.map((rows) => rows.filter((r) => r.server.startsWith('jobvisor api (')).map((r) => {
      const express = rows.find((e) => e.path === r.path && e.server === 'hand-written express');
      return express ? (r.jobsPerSecond / express.jobsPerSecond).toFixed(2) : '';
    }).join(' / ')).join('; ')}`);
  }
}

async function main(): Promise<void> {
  console.log(`# http: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const prefix = uniqueName('jvhttp');
  const started = await Promise.all(servers(prefix));
  const rounds: Row[][] = [];
  const connections = Number(values.connections);
  try {
    for (const server of started) await load(server, 'single', { connections: 10, seconds: 3 }); // warm up: JIT, connections, scripts
    for (let round = 0; round < Number(values.rounds); round++) {
      const rows: Row[] = [];
      if (PATHS.has('steady')) for (const server of started) rows.push(await load(server, 'single', { connections: 10, overallRate: Number(values.rate) }));
      if (PATHS.has('flat')) for (const server of started) rows.push(await load(server, 'single', { connections }));
      if (PATHS.has('bulk')) {
        for (const server of started) rows.push(await load(server, 'bulk', { connections: Number(values['bulk-connections']) }));
        rows.push(await addBulkInProcess(prefix, Number(values['bulk-connections']), false));
        rows.push(await addBulkInProcess(prefix, Number(values['bulk-connections']), true));
      }
      rounds.push(rows);
      console.error(`round ${round + 1} done, load ${os.loadavg()[0]!.toFixed(1)}`);
    }
  } finally {
    await Promise.all(started.map((server) => server.stop()));
    await dropRedisPrefix(prefix);
    await dropRedisPrefix(`${prefix}bare`);
    redis.disconnect();
  }
  print(rounds);
  console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
