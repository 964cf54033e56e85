// ffmpeg and ffprobe from the npm packages that ship their binaries
// (@ffmpeg-installer/*), run as children that die with the job: an aborted
// signal kills the child, and the caller removes what it had written.
import { spawn } from 'node:child_process';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';
import { UnrecoverableError } from '../../lib/errors.js';

export const FFMPEG = process.env.FFMPEG_PATH || ffmpegInstaller.path;
export const FFPROBE = process.env.FFPROBE_PATH || ffprobeInstaller.path;

export interface Probe {
  durationSec: number;
  width: number;
  height: number;
  codec: string;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

/** Run a binary to its end; on abort, SIGKILL it and wait for it to be gone before rejecting. */
export function run(binary: string, args: string[], signal: AbortSignal, onStdout?: (chunk: string) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (onStdout) onStdout(chunk);
      else stdout += chunk;
    });
    // Keep only the tail: ffmpeg's stderr grows with the video, the error is at its end.
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8000)));
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) reject(signal.reason);
      else if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${binary.split('/').pop()} exited with ${code ?? killedBy}: ${lastLines(stderr)}`));
    });
  });
}

function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

export async function probe(file: string, signal: AbortSignal): Promise<Probe> {
  let out: RunResult;
  try {
    out = await run(FFPROBE, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], signal);
  } catch (error) {
    if (signal.aborted) throw error;
    // Not a video (or not there): retrying will not change that.
    throw new UnrecoverableError(`cannot probe ${file}: ${(error as Error).message}`);
  }
  const info = JSON.parse(out.stdout) as { format?: { duration?: string }; streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; duration?: string }[] };
  const video = info.streams?.find((s) => s.codec_type === 'video');
  if (!video) throw new UnrecoverableError(`${file} has no video stream`);
  return {
    durationSec: Number(info.format?.duration ?? video.duration ?? 0),
    width: video.width ?? 0,
    height: video.height ?? 0,
    codec: video.codec_name ?? 'unknown',
  };
}

/** Seconds of output written so far, from ffmpeg's `-progress` key=value lines. */
export function progressSeconds(block: string): number | undefined {
  const matches = [...block.matchAll(/^out_time_(?:us|ms)=(\d+)$/gm)];
  const last = matches.at(-1);
  return last ? Number(last[1]) / 1_000_000 : undefined;
}
