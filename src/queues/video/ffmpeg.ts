// ffmpeg and ffprobe from the npm packages that ship their binaries
// (@ffmpeg-installer/*), run as children that die with the job: an aborted
// signal kills the child, and the caller removes what it had written.
// A job's input reaches them as a descriptor the input gate opened, named
// `file:/dev/fd/3` after `-i` (never read as an option), with only the file
// and pipe protocols and only video containers allowed: no playlist or concat
// demuxer can make them open anything else.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
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

/** A job's input (an open descriptor) or a file of our own; `name` is what errors call it. */
export type MediaInput = { fd: number; name: string } | { path: string; name: string };

const CONTAINERS = 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,ogg,asf';

/** The input options and `-i`, and the descriptor the child gets as fd 3, if any. */
export function inputArgs(input: MediaInput | string): { args: string[]; fd?: number } {
  const media = typeof input === 'string' ? { path: input, name: input } : input;
  const guard = ['-protocol_whitelist', 'file,pipe', '-format_whitelist', CONTAINERS];
  if ('fd' in media) return { args: [...guard, '-i', 'file:/dev/fd/3'], fd: media.fd };
  return { args: [...guard, '-i', `file:${media.path}`] };
}

/** Run a binary to its end; on abort, SIGKILL it and wait for it to be gone before rejecting. */
export function run(binary: string, args: string[], signal: AbortSignal, onStdout?: (chunk: string) => void, inputFd?: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe', ...(inputFd === undefined ? [] : [inputFd])] }) as ChildProcessWithoutNullStreams;
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

export async function probe(input: MediaInput | string, signal: AbortSignal): Promise<Probe> {
  const name = typeof input === 'string' ? input : input.name;
  const { args, fd } = inputArgs(input);
  let out: RunResult;
  try {
    out = await run(FFPROBE, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...args], signal, undefined, fd);
  } catch (error) {
    if (signal.aborted) throw error;
    // Not a video (or not one we read): retrying will not change that.
    throw new UnrecoverableError(`cannot probe ${name}: ${(error as Error).message}`);
  }
  const info = JSON.parse(out.stdout) as { format?: { duration?: string }; streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; duration?: string }[] };
  const video = info.streams?.find((s) => s.codec_type === 'video');
  if (!video) throw new UnrecoverableError(`${name} has no video stream`);
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
