// Housekeeping: removes files older than maxAgeDays from a directory.
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineHandler } from '../handler.js';

const schema = z.object({ dir: z.string().default('./data/output'), maxAgeDays: z.number().min(0).default(30) });

export default defineHandler({
  queue: 'maintenance',
  schema,
  async run(data, ctx) {
    const cutoff = Date.now() - data.maxAgeDays * 86_400_000;
    const entries = await fs.readdir(data.dir, { withFileTypes: true }).catch(() => []);
    const removed: string[] = [];
    for (const entry of entries) {
      ctx.signal.throwIfAborted();
      if (!entry.isFile()) continue;
      const file = path.join(data.dir, entry.name);
      const stat = await fs.stat(file);
      if (stat.mtimeMs < cutoff) {
        await fs.rm(file, { force: true });
        removed.push(entry.name);
      }
    }
    return { dir: data.dir, removed };
  },
});
