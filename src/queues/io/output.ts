// Where handlers write what they make: JOBVISOR_OUTPUT_DIR (default ./data/output),
// one subfolder per queue, files named by job id. Read at call time, so a test
// or an operator can point one worker elsewhere without a rebuild.
import fs from 'node:fs/promises';
import path from 'node:path';

export function outputDir(): string {
  return path.resolve(process.env.JOBVISOR_OUTPUT_DIR || './data/output');
}

/** `<output>/<queue>/<jobId><suffix>`, its folder created. */
export async function outputPath(queue: string, jobId: string, suffix: string): Promise<string> {
  const dir = path.join(outputDir(), queue);
  await fs.mkdir(dir, { recursive: true });
  return path.join(dir, `${jobId}${suffix}`);
}

/** Write lines to `<file>.partial` and rename when complete, so a reader never sees half a file. */
export async function writeLinesAtomically(file: string, lines: AsyncIterable<string> | Iterable<string>, signal: AbortSignal): Promise<number> {
  const partial = `${file}.partial`;
  const handle = await fs.open(partial, 'w');
  let count = 0;
  try {
    for await (const line of lines) {
      signal.throwIfAborted();
      await handle.write(`${line}\n`);
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
