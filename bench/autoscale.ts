// What autoscaling buys: one burst of slow jobs drained by a supervisor with a fixed
// 1 process, a fixed 4, and an autoscaled 1..4, in the same run. Reports the time
// to drain the burst (enqueue → last completion) and the queue's RSS once idle
// (the mean over 10 s, after AUTOSCALE_IDLE_MS, when the autoscaled arm is back at 1). The supervisor
// runs built (dist/, as pm2 runs it), with the production autoscale settings but
// a shorter idle window.
//
//   node --import tsx bench/autoscale.ts [--jobs 320] [--ms 1000] [--concurrency 2] [--idle-ms 10000] [--rounds 1]
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/lib/config.js';
import { openStore, type Store } from '../src/lib/store/index.js';
import { REDIS_URL, dropRedisPrefix, uniqueName } from '../test/helpers/services.js';

const ROOT = path.resolve(__dirname, '..');
const QUEUE = 'document';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '320' },
    ms: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '2' },
    'idle-ms': { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '1' },
  },
});
const jobs = Number(values.jobs);
const jobMs = Number(values.ms);
const concurrency = Number(values.concurrency);
const idleMs = Number(values['idle-ms']);
const rounds = Number(values.rounds);

const JOBS = { ...loadConfig({}).jobs, keepCompleted: { count: 1_000_000, ageSeconds: 86_400 } };

interface Result {
  drainMs: number;
  idleRssMb: number;
  peak: number;
  steps: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function startSupervisor(prefix: string, processes: string): { child: ChildProcess; lines: Record<string, unknown>[] } {
  const child = fork(path.join(ROOT, 'workers/index.js'), [], {
    env: {
      ...process.env, REDIS_URL, JOBVISOR_PREFIX: prefix, WORKER_QUEUES: QUEUE, METRICS_PORT: '0', LOG_LEVEL: 'info',
      QUEUE_DOCUMENT_PROCESSES: processes, QUEUE_DOCUMENT_CONCURRENCY: String(concurrency), AUTOSCALE_IDLE_MS: String(idleMs),
      JOBVISOR_HANDLER_MODULE_DOCUMENT: path.join(ROOT, 'bench/handlers/sleep.cjs'),
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const lines: Record<string, unknown>[] = [];
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch { /* not a log line */ }
    }
  });
  return { child, lines };
}

/** The queue's processes fetching, from the registry, and their RSS. */
async function fetching(store: Store): Promise<{ count: number; rss: number }> {
  const records = (await store.listProcesses()).filter((p) => p.queue === QUEUE && p.state !== 'draining');
  return { count: records.length, rss: records.reduce((sum, p) => sum + p.rss, 0) };
}

async function arm(processes: string): Promise<Result> {
  const prefix = uniqueName('jva');
  const store = await openStore({ mode: 'redis', redisUrl: REDIS_URL, prefix, jobs: JOBS });
  const { child, lines } = startSupervisor(prefix, processes);
  try {
    const initial = Number(processes.split('..')[0]);
    await until(async () => lines.filter((l) => l.msg === 'worker started').length >= initial, 60_000, 'the workers to start');
    const started = Date.now();
    for (let i = 0; i < jobs; i += 500) {
      await store.enqueueBulk(Array.from({ length: Math.min(500, jobs - i) }, () => ({ queue: QUEUE, data: { ms: jobMs } })));
    }
    let peak = 0;
    await until(async () => {
      peak = Math.max(peak, (await fetching(store)).count);
      return (await store.counts(QUEUE)).completed === jobs;
    }, 30 * 60_000, 'the burst to drain');
    const drainMs = Date.now() - started;
    // Idle: every arm waits the idle window and two steps down (plus heartbeats), so the fixed arms are read as late.
    await sleep(2 * idleMs + 10_000);
    await until(async () => (await fetching(store)).count === initial, 60_000, 'the minimum');
    // One process's RSS moves by several MB between heartbeats: the mean of 10 s of them.
    const readings: number[] = [];
    for (let i = 0; i < 10; i++) {
      await sleep(1000);
      readings.push((await fetching(store)).rss / 2 ** 20);
    }
    const idleRssMb = readings.reduce((a, b) => a + b, 0) / readings.length;
    const steps = lines.filter((l) => typeof l.msg === 'string' && /^autoscale (up|down)/.test(l.msg))
      .map((l) => `${l.to as number}@${(((l.time as number) - started) / 1000).toFixed(0)}s`);
    return { drainMs, idleRssMb, peak, steps };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await store.close();
    await dropRedisPrefix(prefix);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { cwd: ROOT, stdio: 'inherit' });
  console.log(`# autoscale: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  console.log(`${jobs} jobs of ${jobMs} ms, concurrency ${concurrency}, Redis, AUTOSCALE_IDLE_MS=${idleMs}, other autoscale settings default, ${rounds} round(s), median\n`);
  const arms: Record<string, Result[]> = { 'fixed 1': [], 'fixed 4': [], 'autoscaled 1..4': [] };
  const settings: Record<string, string> = { 'fixed 1': '1', 'fixed 4': '4', 'autoscaled 1..4': '1..4' };
  for (let r = 0; r < rounds; r++) {
    for (const name of Object.keys(arms)) arms[name]!.push(await arm(settings[name]!));
  }
  const drain = (name: string) => median(arms[name]!.map((x) => x.drainMs));
  const rss = (name: string) => median(arms[name]!.map((x) => x.idleRssMb));
  for (const [name, rs] of Object.entries(arms)) {
    console.log(`${name}: drain ${rs.map((x) => (x.drainMs / 1000).toFixed(1)).join(', ')} s; idle RSS ${rs.map((x) => x.idleRssMb.toFixed(0)).join(', ')} MB`);
  }
  console.log('\n| arm | drain (s) | vs fixed 4 | idle RSS (MB) | vs fixed 1 | peak processes | steps (processes@s) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const name of Object.keys(arms)) {
    const rs = arms[name]!;
    console.log(`| ${name} | ${(drain(name) / 1000).toFixed(1)} | ${(drain(name) / drain('fixed 4')).toFixed(2)} | ${rss(name).toFixed(0)} | ${(rss(name) / rss('fixed 1')).toFixed(2)} | ${rs.map((x) => x.peak).join(', ')} | ${rs.map((x) => x.steps.join(' ') || '–').join('; ')} |`);
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
