// Where handlers write what they make: JOBVISOR_OUTPUT_DIR (default
// <JOBVISOR_DATA_DIR>/output), one subfolder per queue, files named by job id.
// A job id can be set from outside (the dashboard's add-job takes one), so it
// becomes a path only when it is a plain name and the path stays inside the
// output folder. Results name their files relative to that folder. Read at
// call time, so a test or an operator can point one worker elsewhere.
import fs from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError } from '../../lib/errors.js';
import { loadInputConfig } from '../../lib/config.js';
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

/** `<output>/<queue>/<jobId>/`, a folder of the job's own (not created). */
export function outputFolder(queue: string, jobId: string): string {
  return jobPath(queue, jobId, '').file;
}

/** How a result names a file it wrote: relative to the output folder, never a host path. */
export function relativeOutput(file: string): string {
  return path.relative(outputDir(), file);
}

/**
 * Write lines to `<file>.partial` and rename when complete, so a reader never
 * sees half a file; refused (and removed) once it passes `maxBytes`.
 */
export async function writeLinesAtomically(file: string, lines: AsyncIterable<string> | Iterable<string>, signal: AbortSignal, maxBytes = loadInputConfig().maxOutputBytes): Promise<number> {
  const partial = `${file}.partial`;
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
    await fs.rename(partial, file);
    return count;
  } catch (error) {
    await handle.close().catch(() => {});
    await fs.rm(partial, { force: true });
    throw error;
  }
}
