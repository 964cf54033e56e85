import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import videoHandler from '../../../src/queues/video/handler.js';
import { FFMPEG, probe, run } from '../../../src/queues/video/ffmpeg.js';
import { exited, forkWorker } from '../../helpers/fork.js';
import { REDIS_URL } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import type { Runtime } from '../../../src/workers/runtime.js';
import { useHarness } from './harness.js';

interface VideoResult { output: string; thumbnail: string; width: number; height: number; durationSec: number }

/** Processes (any parent) whose command line mentions this text: a leaked ffmpeg shows up here. */
/** An attempt's staging folders beside the job's output folder (`<dir>.<pid>-<hex>.partial`). */
function staging(dir: string): string[] {
  const parent = path.dirname(dir);
  if (!fs.existsSync(parent)) return [];
  return fs.readdirSync(parent).filter((name) => name.startsWith(`${path.basename(dir)}.`) && name.endsWith('.partial')).map((name) => path.join(parent, name));
}

function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) found.push(Number(pid));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

function parentOf(pid: number): number {
  return Number(/^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

async function makeVideo(file: string, seconds: number, size: string): Promise<void> {
  await run(FFMPEG, ['-hide_banner', '-y', '-f', 'lavfi', '-i', `testsrc=duration=${seconds}:size=${size}:rate=25`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-shortest', file], new AbortController().signal);
}

describe('video queue', function () {
  this.timeout(120_000);
  const h = useHarness();
  let short = '';
  let long = '';

  before(async () => {
    short = path.join(h.scratch, 'two-seconds.mp4');
    long = path.join(h.scratch, 'long.mp4');
    await Promise.all([makeVideo(short, 2, '320x240'), makeVideo(long, 40, '640x480')]);
  });

  describe('in the runtime', () => {
    let runtime: Runtime;
    before(() => {
      runtime = h.start('video', videoHandler);
    });
    after(() => runtime.close()); // the forked worker below must be the only one on the queue

    it('transcodes a two-second video to the requested height, with a thumbnail and progress', async () => {
      const { job } = await h.store.enqueue({ queue: 'video', data: { source: short, height: 120 } });
      const done = await h.settled('video', job.id);
      expect(done.state, JSON.stringify(done.error)).to.equal('completed');
      const result = done.result as VideoResult;
      const probed = await probe(h.file(result.output), new AbortController().signal);
      expect(probed.height).to.equal(120);
      expect(probed.width).to.equal(160);
      expect(probed.codec).to.equal('h264');
      expect(probed.durationSec).to.be.closeTo(2, 0.3);
      expect(fs.statSync(h.file(result.thumbnail)).size).to.be.greaterThan(500);
      expect(path.dirname(result.output)).to.equal(path.join('video', job.id)); // named relative to the output folder
      expect(done.timeline.filter((t) => t.event === 'progress').length).to.be.at.least(2);
    });

    it('fails a file that is not a video for good, leaving no output', async () => {
      const notVideo = path.join(h.scratch, 'notes.mp4');
      fs.writeFileSync(notVideo, 'plain text, not a video');
      const { job } = await h.store.enqueue({ queue: 'video', data: { source: notVideo } });
      const done = await h.settled('video', job.id);
      expect(done.state).to.equal('failed');
      expect(done.attempts).to.equal(1);
      expect(done.error!.message).to.match(/cannot probe/);
      expect(fs.existsSync(path.join(h.output, 'video', job.id))).to.equal(false);
    });

    it('on timeout kills ffmpeg and removes the partial output', async () => {
      const { job } = await h.store.enqueue({ queue: 'video', data: { source: long, height: 720, preset: 'medium' }, timeoutMs: 2500, attempts: 1 });
      const dir = path.join(h.output, 'video', job.id);
      await waitFor(() => processesMentioning(dir).length > 0, { timeoutMs: 20_000, message: 'ffmpeg to start' });
      const done = await h.settled('video', job.id);
      expect(done.state).to.equal('failed');
      expect(done.error!.message).to.match(/timed out|timeout/i);
      await waitFor(() => processesMentioning(dir).length === 0 && !fs.existsSync(dir) && staging(dir).length === 0, { timeoutMs: 5000, message: 'ffmpeg gone and output removed' });
    });
  });

  describe('in a forked worker process', () => {
    let worker: ChildProcess | undefined;
    after(async () => {
      if (worker && worker.exitCode === null) {
        worker.kill('SIGTERM');
        await exited(worker);
      }
    });

    it('cancelling a transcode midway leaves no ffmpeg process and no partial file', async () => {
      worker = forkWorker('video', { REDIS_URL, JOBVISOR_PREFIX: h.prefix, JOBVISOR_OUTPUT_DIR: h.output, JOBVISOR_INPUT_ROOTS: h.scratch, QUEUE_VIDEO_CONCURRENCY: '1' });
      const { job } = await h.store.enqueue({ queue: 'video', data: { source: long, height: 720, preset: 'medium' } });
      const dir = path.join(h.output, 'video', job.id);
      // Midway: ffmpeg runs, has written part of the file, and has reported progress.
      await waitFor(async () => {
        const view = await h.store.get('video', job.id);
        const progress = view?.progress as { current?: number } | undefined;
        return (progress?.current ?? 0) >= 1 && staging(dir).some((folder) => fs.existsSync(path.join(folder, '720p.mp4')));
      }, { timeoutMs: 30_000, intervalMs: 100, message: 'the transcode to be under way' });
      const ffmpeg = processesMentioning(dir);
      expect(ffmpeg).to.have.length(1);
      expect(parentOf(ffmpeg[0]!)).to.equal(worker.pid); // run by the forked worker, not by this process

      const cancelled = await h.store.cancel('video', job.id);
      expect(cancelled.state).to.equal('cancelled');
      await waitFor(() => processesMentioning(dir).length === 0 && !fs.existsSync(dir) && staging(dir).length === 0, { timeoutMs: 5000, message: 'ffmpeg gone and output removed' });
      expect(worker.exitCode).to.equal(null); // the worker itself lives on
    });
  });
});
