// What a graceful recycle costs: a leaky no-op queue run by a supervisor that
// recycles its worker every --max-jobs jobs (QUEUE_<NAME>_MAX_JOBS, default 200), against the
// same queue never recycled, and against a bare BullMQ Worker, in the same run.
// The supervisor runs built (dist/, as pm2 runs it). Reports throughput, the dip,
// and the gap: the longest time in which no job of the queue was running.
//
//   node --import tsx bench/recycle.ts [--jobs 4000] [--concurrency 8] [--rounds 3] [--ms 0] [--max-jobs 200]
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'bullmq';
import { loadConfig } from '../src/lib/config.js';
import { openStore, type Store } from '../src/lib/store/index.js';
import { REDIS_URL, dropRedisPrefix, uniqueName } from '../test/helpers/services.js';

const ROOT = path.resolve(__dirname, '..');
const HANDLER = path.join(ROOT, 'bench/handlers/leaky-noop.cjs');
const QUEUE = 'document';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    ms: { type: 'string', default: '0' },
    'max-jobs': { type: 'string', default: '200' },
  },
});
const jobs = Number(values.jobs);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const jobMs = Number(values.ms);
const maxJobs = Number(values['max-jobs']);

// The production defaults, keeping every completed job: the gap is read from their timestamps.
const JOBS = { ...loadConfig({}).jobs, keepCompleted: { count: 1_000_000, ageSeconds: 86_400 } };

interface Result {
  rate: number;
  maxGapMs: number;
  /** The most jobs one worker process ran, from each job's last `active` timeline entry (host:pid). */
  maxPerWorker: number;
  recycles: number;
}

async function enqueue(store: Store): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < jobs; i += 500) {
    const batch = await store.enqueueBulk(Array.from({ length: Math.min(500, jobs - i) }, () => ({ queue: QUEUE, data: { ms: jobMs } })));
    ids.push(...batch.map((r) => r.job.id));
  }
  return ids;
}

async function waitCompleted(store: Store): Promise<void> {
  while ((await store.counts(QUEUE)).completed < jobs) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Throughput from the first start to the last finish, and the longest stretch with no job running. */
async function measure(store: Store, ids: string[]): Promise<Omit<Result, 'recycles'>> {
  const spans: [number, number][] = [];
  const perWorker = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 200) {
    const views = await Promise.all(ids.slice(i, i + 200).map((id) => store.get(QUEUE, id)));
    for (const v of views) if (v?.startedAt && v.finishedAt) spans.push([Date.parse(v.startedAt), Date.parse(v.finishedAt)]);
    for (const v of views) {
      const ranOn = v?.timeline.filter((e) => e.event === 'active').at(-1)?.detail;
      if (ranOn) perWorker.set(ranOn, (perWorker.get(ranOn) ?? 0) + 1);
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  let maxGapMs = 0;
  let coveredUntil = spans[0]![1];
  for (const [start, end] of spans) {
    if (start > coveredUntil) maxGapMs = Math.max(maxGapMs, start - coveredUntil);
    coveredUntil = Math.max(coveredUntil, end);
  }
  const elapsed = coveredUntil - spans[0]![0];
  return { rate: spans.length / (elapsed / 1000), maxGapMs, maxPerWorker: Math.max(0, ...perWorker.values()) };
}

function startSupervisor(prefix: string, maxJobs: number): { child: ChildProcess; lines: string[] } {
  const child = fork(path.join(ROOT, 'workers/index.js'), [], {
    env: {
      ...process.env, REDIS_URL, JOBVISOR_PREFIX: prefix, WORKER_QUEUES: QUEUE, METRICS_PORT: '0', LOG_LEVEL: 'info',
      [`QUEUE_DOCUMENT_CONCURRENCY`]: String(concurrency), QUEUE_DOCUMENT_MAX_JOBS: String(maxJobs),
      QUEUE_DOCUMENT_MAX_MEMORY_MB: '4096', JOBVISOR_HANDLER_MODULE_DOCUMENT: HANDLER,
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const lines: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n')));
  return { child, lines };
}

async function supervisedRound(maxJobs: number): Promise<Result> {
  const prefix = uniqueName('jvr');
  const store = await openStore({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: JOBS });
  try {
    const ids = await enqueue(store);
    const { child, lines } = startSupervisor(prefix, maxJobs);
    await waitCompleted(store);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    const recycles = lines.filter((l) => l.includes('"action":"recycle"')).length;
    return { ...(await measure(store, ids)), recycles };
  } finally {
    await store.close();
    await dropRedisPrefix(prefix);
  }
}

async function bareRound(): Promise<Result> {
  const prefix = uniqueName('jvr');
  const store = await openStore({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: JOBS });
  try {
    const ids = await enqueue(store);
    const retained: Buffer[] = [];
    const worker = new Worker(QUEUE, async () => {
      retained.push(Buffer.alloc(64 * 1024, 1));
      if (jobMs) await new Promise((resolve) => setTimeout(resolve, jobMs));
      return null;
    }, { connection: { url: REDIS_URL, maxRetriesPerRequest: null } as never, prefix, concurrency });
    await waitCompleted(store);
    await worker.close();
    return { ...(await measure(store, ids)), recycles: 0 };
  } finally {
    await store.close();
    await dropRedisPrefix(prefix);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { cwd: ROOT, stdio: 'inherit' });
  console.log(`# recycle: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  console.log(`${jobs} leaky jobs (64 KiB kept per job, ${jobMs ? `${jobMs} ms each` : 'no-op'}), concurrency ${concurrency}, Redis, ${rounds} alternating rounds, median\n`);
  const arms = { bare: [] as Result[], never: [] as Result[], recycled: [] as Result[] };
  for (let r = 0; r < rounds; r++) {
    arms.bare.push(await bareRound());
    arms.never.push(await supervisedRound(0));
    arms.recycled.push(await supervisedRound(maxJobs));
  }
  const rate = (rs: Result[]) => median(rs.map((x) => x.rate));
  const gap = (rs: Result[]) => median(rs.map((x) => x.maxGapMs));
  console.log('| arm | jobs/s | longest gap (ms) | most jobs in one process | recycles | vs never recycled | vs bare BullMQ |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, rs] of Object.entries(arms)) {
    console.log(`| ${name} | ${rate(rs).toFixed(0)} | ${gap(rs)} | ${Math.max(...rs.map((x) => x.maxPerWorker))} | ${rs.map((x) => x.recycles).join(', ')} | ${(rate(rs) / rate(arms.never)).toFixed(2)} | ${(rate(rs) / rate(arms.bare)).toFixed(2)} |`);
  }
  console.log(`\ndip (recycled vs never): ${((1 - rate(arms.recycled) / rate(arms.never)) * 100).toFixed(1)} %`);
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
