// maintenance: cache-cleanup removes output files (JOBVISOR_OUTPUT_DIR) last
// modified more than maxAgeDays ago, then the folders that left empty, and
// reports what it removed. It only ever touches the output directory: the path
// is not taken from the job, so a job cannot aim it elsewhere; and it keeps
// files younger than JOBVISOR_CLEANUP_MIN_AGE_DAYS whatever the job asks.
import fs from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError } from '../../lib/errors.js';
import { loadInputConfig } from '../../lib/config.js';
import { defineHandler } from '../define.js';
import { maintenanceSchema } from './schema.js';

interface Sweep {
  removed: string[];
  bytes: number;
  kept: number;
}

async function sweep(dir: string, cutoffMs: number, dryRun: boolean, signal: AbortSignal, into: Sweep): Promise<boolean> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  let empty = true;
  for (const entry of entries) {
    signal.throwIfAborted();
    const target = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const emptied = await sweep(target, cutoffMs, dryRun, signal, into);
      if (emptied && !dryRun) await fs.rmdir(target).catch(() => {}); // a writer may have just put a file in it
      else empty = false;
      continue;
    }
    const stat = await fs.lstat(target).catch(() => undefined);
    if (!stat || stat.mtimeMs >= cutoffMs) {
      empty = false;
      if (stat) into.kept++;
      continue;
    }
    if (!dryRun) await fs.rm(target, { force: true });
    into.removed.push(target);
    into.bytes += stat.size;
  }
  return empty && !dryRun;
}

export default defineHandler({
  schema: maintenanceSchema,
  async run(data, ctx) {
    const { outputDir: dir, cleanupMinAgeDays } = loadInputConfig();
    if (data.maxAgeDays < cleanupMinAgeDays) {
      throw new UnrecoverableError(`maxAgeDays must be at least ${cleanupMinAgeDays} (JOBVISOR_CLEANUP_MIN_AGE_DAYS)`);
    }
    const result: Sweep = { removed: [], bytes: 0, kept: 0 };
    await sweep(dir, Date.now() - data.maxAgeDays * 86_400_000, data.dryRun, ctx.signal, result);
    ctx.logger.info({ dir, removed: result.removed.length, bytes: result.bytes }, 'cache cleanup');
    return { dryRun: data.dryRun, removed: result.removed.map((f) => path.relative(dir, f)), removedBytes: result.bytes, kept: result.kept };
  },
});
