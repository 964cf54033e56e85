// video: probe a file under the input roots (ffprobe), transcode it to H.264
// mp4 at the requested height and take a thumbnail (ffmpeg). The input gate
// opens the file; ffmpeg reads that descriptor, never a path from the job.
// Progress comes from ffmpeg's own `-progress` output. Cancel and timeout kill
// ffmpeg and remove the attempt's staging folder: a half-written mp4 never stays.
// Each attempt builds its folder under a staging name and publishes it whole at
// the end, only while it holds the job (output.ts, publishFolder).
import fs from 'node:fs/promises';
import path from 'node:path';
import { defineHandler, type HandlerContext } from '../define.js';
import { openInput } from '../io/inputs.js';
import { outputFolder, publishFolder, relativeOutput, stage } from '../io/output.js';
import { videoSchema, type VideoJob } from './schema.js';
import { FFMPEG, inputArgs, probe, progressSeconds, run, type MediaInput } from './ffmpeg.js';

async function transcode(data: VideoJob, input: MediaInput, durationSec: number, target: string, ctx: HandlerContext): Promise<void> {
  let lastReported = -1;
  let pending = '';
  const { args: inputOptions, fd } = inputArgs(input);
  const args = [
    '-hide_banner', '-nostats', '-y', ...inputOptions,
    '-vf', `scale=-2:${data.height}`, '-c:v', 'libx264', '-preset', data.preset, '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-movflags', '+faststart', '-f', 'mp4', '-progress', 'pipe:1', `file:${target}`,
  ];
  await run(FFMPEG, args, ctx.signal, (chunk) => {
    pending += chunk;
    const end = pending.lastIndexOf('progress=');
    if (end < 0) return;
    const seconds = progressSeconds(pending);
    pending = pending.slice(end);
    if (seconds === undefined || durationSec <= 0) return;
    const percent = Math.min(99, Math.floor((seconds / durationSec) * 100));
    if (percent > lastReported) {
      lastReported = percent;
      void ctx.progress({ current: percent, total: 100, message: `transcoding ${seconds.toFixed(1)}s of ${durationSec.toFixed(1)}s` }).catch(() => {});
    }
  }, fd);
}

async function thumbnailOf(video: string, at: number, target: string, signal: AbortSignal): Promise<void> {
  await run(FFMPEG, ['-hide_banner', '-y', '-ss', String(at), ...inputArgs(video).args, '-frames:v', '1', '-q:v', '3', `file:${target}`], signal);
}

export default defineHandler({
  schema: videoSchema,
  async run(data, ctx) {
    const dir = outputFolder('video', ctx.jobId);
    const opened = await openInput(data.source);
    try {
      const input: MediaInput = { fd: opened.fd, name: data.source };
      const source = await probe(input, ctx.signal);
      await fs.mkdir(path.dirname(dir), { recursive: true });
      const staged = await stage(dir);
      const name = `${data.height}p.mp4`;
      const video = path.join(staged, name);
      const thumbnail = path.join(staged, 'thumbnail.jpg');
      await fs.mkdir(staged);
      try {
        await ctx.progress({ current: 0, total: 100, message: `probed: ${source.width}x${source.height}, ${source.durationSec.toFixed(1)}s` });
        await transcode(data, input, source.durationSec, video, ctx);
        const at = data.thumbnailAtSec ?? source.durationSec / 10;
        await thumbnailOf(video, Math.min(at, Math.max(0, source.durationSec - 0.1)), thumbnail, ctx.signal);
        const result = await probe(video, ctx.signal);
        await publishFolder(staged, dir, ctx.signal);
        await ctx.progress({ current: 100, total: 100, message: 'done' });
        return {
          output: relativeOutput(path.join(dir, name)), thumbnail: relativeOutput(path.join(dir, 'thumbnail.jpg')), width: result.width, height: result.height,
          durationSec: result.durationSec, source: { path: data.source, ...source },
        };
      } catch (error) {
        await fs.rm(staged, { recursive: true, force: true });
        throw error;
      }
    } finally {
      await opened.close();
    }
  },
});
