// The video worker's memory while transcoding: a forked jobvisor worker
// (src/workers/main.ts video, the real handler) and, side by side in the same
// run, a bare BullMQ worker process running the same ffmpeg command. Samples
// every 100 ms the RSS of the worker process and of its ffmpeg children.
//   node --import tsx bench/video-memory.ts
// Needs Redis at REDIS_URL (default redis://127.0.0.1:6379).
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES } from '../src/queues/index.js';
import { FFMPEG, run } from '../src/queues/video/ffmpeg.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROOT = path.resolve(__dirname, '..');
const SECONDS = Number(process.env.BENCH_VIDEO_SECONDS ?? 20);
const JOBS = 2; // the catalog's video concurrency: two transcodes at once
const MB = 1024 * 1024;

function rssOf(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface Peak { worker: number; ffmpeg: number; total: number; idle: number; seconds: number }

async function measure(label: string, child: ChildProcess, enqueue: () => Promise<void>, done: () => Promise<void>): Promise<Peak> {
  const pid = child.pid!;
  // Let the worker settle (connections, handler module loaded) and take its idle RSS.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const idle = rssOf(pid);
  const peak: Peak = { worker: 0, ffmpeg: 0, total: 0, idle, seconds: 0 };
  const timer = setInterval(() => {
    const worker = rssOf(pid);
    const ffmpeg = childrenOf(pid).reduce((sum, c) => sum + rssOf(c), 0);
    peak.worker = Math.max(peak.worker, worker);
    peak.ffmpeg = Math.max(peak.ffmpeg, ffmpeg);
    peak.total = Math.max(peak.total, worker + ffmpeg);
  }, 100);
  const started = Date.now();
  await enqueue();
  await done();
  peak.seconds = (Date.now() - started) / 1000;
  clearInterval(timer);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  console.error(`${label}: done in ${peak.seconds.toFixed(1)} s`);
  return peak;
}

async function main(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'jv-bench-video-'));
  const source = path.join(scratch, 'source.mp4');
  console.error(`making a ${SECONDS}s 1280x720 test video…`);
  await run(FFMPEG, ['-hide_banner', '-y', '-f', 'lavfi', '-i', `testsrc=duration=${SECONDS}:size=1280x720:rate=30`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${SECONDS}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-shortest', source], new AbortController().signal);

  const prefix = `jvbench${randomUUID().slice(0, 8)}`;
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const env = { ...process.env, REDIS_URL, JOBVISOR_PREFIX: prefix, JOBVISOR_INPUT_ROOTS: scratch, JOBVISOR_OUTPUT_DIR: path.join(scratch, 'out'), LOG_LEVEL: 'warn' };
  const execArgv = ['--import', 'tsx'];
  try {
    // jobvisor: the real worker entry, the real video handler.
    const jvQueue = new Queue('video', { connection, prefix });
    const jvEvents = new QueueEvents('video', { connection: { url: REDIS_URL } as never, prefix });
    await jvEvents.waitUntilReady();
    const jvWorker = fork(path.join(ROOT, 'src/workers/main.ts'), ['video'], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let jvJobs: string[] = [];
    const jv = await measure('jobvisor', jvWorker, async () => {
      const jobs = await jvQueue.addBulk(Array.from({ length: JOBS }, () => ({
        name: 'transcode', data: { source, height: 480, preset: 'veryfast' }, opts: { jobId: randomUUID(), attempts: 1 },
      })));
      jvJobs = jobs.map((j) => String(j.id));
    }, async () => {
      for (const id of jvJobs) await (await jvQueue.getJob(id))!.waitUntilFinished(jvEvents, 300_000);
    });

    // Bare BullMQ: same ffmpeg command, same concurrency, no jobvisor.
    const bareName = 'bare-video';
    const bareQueue = new Queue(bareName, { connection, prefix });
    const bareEvents = new QueueEvents(bareName, { connection: { url: REDIS_URL } as never, prefix });
    await bareEvents.waitUntilReady();
    const bareWorker = fork(path.join(__dirname, 'video-memory-bare.ts'), [bareName, prefix], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let bareJobs: string[] = [];
    const bare = await measure('bare BullMQ', bareWorker, async () => {
      const jobs = await bareQueue.addBulk(Array.from({ length: JOBS }, (_, i) => ({
        name: 'transcode', data: { source, height: 480, output: path.join(scratch, `bare-${i}.mp4`) }, opts: { jobId: randomUUID() },
      })));
      bareJobs = jobs.map((j) => String(j.id));
    }, async () => {
      for (const id of bareJobs) await (await bareQueue.getJob(id))!.waitUntilFinished(bareEvents, 300_000);
    });

    const mb = (bytes: number) => (bytes / MB).toFixed(0);
    console.log(`\n${JOBS} concurrent transcodes of a ${SECONDS}s 1280x720 H.264 video to 480p (veryfast)`);
    console.log('| | jobvisor video worker | bare BullMQ worker | ratio |');
    console.log('| --- | ---: | ---: | ---: |');
    console.log(`| worker process RSS, idle (MB) | ${mb(jv.idle)} | ${mb(bare.idle)} | ${(jv.idle / bare.idle).toFixed(2)} |`);
    console.log(`| worker process RSS, peak (MB) | ${mb(jv.worker)} | ${mb(bare.worker)} | ${(jv.worker / bare.worker).toFixed(2)} |`);
    console.log(`| ffmpeg children RSS, peak (MB) | ${mb(jv.ffmpeg)} | ${mb(bare.ffmpeg)} | ${(jv.ffmpeg / bare.ffmpeg).toFixed(2)} |`);
    console.log(`| worker + ffmpeg, peak (MB) | ${mb(jv.total)} | ${mb(bare.total)} | ${(jv.total / bare.total).toFixed(2)} |`);
    console.log(`| wall time (s) | ${jv.seconds.toFixed(1)} | ${bare.seconds.toFixed(1)} | ${(jv.seconds / bare.seconds).toFixed(2)} |`);
    console.log(`\ncatalog budget for video (maxMemoryMb, compared with the worker process RSS): ${QUEUES.video.defaults.maxMemoryMb} MB`);
    await Promise.all([jvQueue.close(), jvEvents.close(), bareQueue.close(), bareEvents.close()]);
  } finally {
    const keys = await connection.keys(`${prefix}:*`);
    if (keys.length) await connection.del(...keys);
    connection.disconnect();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

void main().then(() => process.exit(0), (error: Error) => {
  console.error(error);
  process.exit(1);
});
