// Where handlers write what they make: JOBVISOR_OUTPUT_DIR (default
// <JOBVISOR_DATA_DIR>/output), one subfolder per queue, files named by job id.
// A job id can be set from outside (the dashboard's add-job takes one), so it
// becomes a path only when it is a plain name and the path stays inside the
// output folder. Results name their files relative to that folder. Read at
// call time, so a test or an operator can point one worker elsewhere.
//
// Each attempt writes under a name of its own and publishes under the job's
// name at its end, only while it still holds the job (its signal not aborted:
// fencing aborts the signal of an attempt that lost its lock). Publishing never
// replaces: the first attempt of a job to publish wins, and a later one (the
// loser of a race, or one whose worker could not run the fence in time because
// its event loop was blocked) keeps what is there and removes its own copy.
// Every attempt of a job runs the same handler on the same data, so what is
// published is that job's output whichever attempt wrote it. What an attempt
// left staged when its process died (killed mid-job) is removed by the next
// attempt of that job on the host.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError } from '../../lib/errors.js';
import { loadInputConfig } from '../../lib/config.js';
import { processAlive } from '../../lib/process-alive.js';
import { within } from './inputs.js';

/** Letters, digits and `._:-`, not starting with a dot: what our ids and BullMQ's scheduler ids look like. */
const PLAIN_ID = /^[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,199}$/;

export function outputDir(): string {
  return loadInputConfig().outputDir;
}

/** `<output>/<queue>/<jobId><suffix>`, refused unless it stays inside `<output>/<queue>`. */
function jobPath(queue: string, jobId: string, suffix: string): { dir: string; file: string } {
  const dir = path.join(outputDir(), queue);
  const file = path.resolve(dir, `${jobId}${suffix}`);
  if (!PLAIN_ID.test(jobId) || !within(file, dir) || file === dir) {
    throw new UnrecoverableError('the job id cannot name an output file (letters, digits and ._:- only)');
  }
  return { dir, file };
}

/** `<output>/<queue>/<jobId><suffix>`, its folder created. */
export async function outputPath(queue: string, jobId: string, suffix: string): Promise<string> {
  const { dir, file } = jobPath(queue, jobId, suffix);
  await fs.mkdir(dir, { recursive: true });
  return file;
}

/** A name beside `final` that no other attempt, in this process or another, writes to. */
export function stagingName(final: string): string {
  return `${final}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
}

const STAGED = /^(.+)\.(\d+)-[0-9a-f]{8}\.partial$/;

/**
 * This attempt's staging name, once what attempts of dead processes staged
 * beside `final` is gone: a worker killed mid-job (a crash, a forced recycle)
 * leaves its file or folder there. A live process's staging, another attempt
 * still running, is left alone.
 */
export async function stage(final: string): Promise<string> {
  const dir = path.dirname(final);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map((name) => {
    const [, of, pid] = STAGED.exec(name) ?? [];
    if (of !== path.basename(final) || processAlive(Number(pid))) return undefined;
    return fs.rm(path.join(dir, name), { recursive: true, force: true });
  }));
  return stagingName(final);
}

/**
 * Publishes a staged file under the job's name, unless the attempt lost its
 * job. link(), unlike rename(), never replaces an existing name: an attempt
 * that comes second leaves the first one's file alone. The staged name goes
 * either way.
 */
async function publishFile(staged: string, final: string, signal: AbortSignal): Promise<void> {
  try {
    signal.throwIfAborted();
    await fs.link(staged, final).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await fs.rm(staged, { force: true });
  }
}

/**
 * As publishFile, for a folder of the job's own: rename() of a folder fails on
 * a name that holds a non-empty folder, so the first attempt's folder stays.
 */
export async function publishFolder(staged: string, final: string, signal: AbortSignal): Promise<void> {
  try {
    signal.throwIfAborted();
    await fs.rename(staged, final).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await fs.rm(staged, { recursive: true, force: true });
  }
}

/** `<output>/<queue>/<jobId>/`, a folder of the job's own (not created). */
export function outputFolder(queue: string, jobId: string): string {
  return jobPath(queue, jobId, '').file;
}

/** How a result names a file it wrote: relative to the output folder, never a host path. */
export function relativeOutput(file: string): string {
  return path.relative(outputDir(), file);
}

/**
 * Write lines to a staging name of this attempt's own and publish it when
 * complete (publishFile), so a reader never sees half a file and a losing
 * attempt never replaces the winner's; refused (and removed) once it passes `maxBytes`.
 */
export async function writeLinesAtomically(file: string, lines: AsyncIterable<string> | Iterable<string>, signal: AbortSignal, maxBytes = loadInputConfig().maxOutputBytes): Promise<number> {
  const partial = await stage(file);
  const handle = await fs.open(partial, 'w');
  let count = 0;
  let written = 0;
  try {
    for await (const line of lines) {
      signal.throwIfAborted();
      const bytes = Buffer.from(`${line}\n`, 'utf8');
      written += bytes.length;
      if (written > maxBytes) throw new UnrecoverableError(`the output is over the ${maxBytes}-byte limit (JOBVISOR_MAX_OUTPUT_BYTES)`);
      await handle.write(bytes);
      count++;
    }
    await handle.close();
    await publishFile(partial, file, signal);
    return count;
  } catch (error) {
    await handle.close().catch(() => {});
    await fs.rm(partial, { force: true });
    throw error;
  }
}
