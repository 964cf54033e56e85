// The bare-BullMQ side of bench/video-memory.ts: a plain BullMQ Worker process
// that runs the same ffmpeg transcode, with none of jobvisor around it.
// Run by video-memory.ts: `node --import tsx bench/video-memory-bare.ts <queue> <prefix>`.
import { spawn } from 'node:child_process';
import { Worker } from 'bullmq';
import { FFMPEG } from '../src/queues/video/ffmpeg.js';

const [queue, prefix] = process.argv.slice(2) as [string, string];
const worker = new Worker(queue, (job) => new Promise<void>((resolve, reject) => {
  const { source, height, output } = job.data as { source: string; height: number; output: string };
  const child = spawn(FFMPEG, ['-hide_banner', '-nostats', '-y', '-i', source, '-vf', `scale=-2:${height}`, '-c:v', 'libx264',
    '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mp4', '-progress', 'pipe:1', output], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.stdout.on('data', () => {});
  child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
}), { connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', maxRetriesPerRequest: null } as never, prefix, concurrency: 2 });
process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
