// Until the provider interface lands: a deterministic feature-hashing embedding
// (lexical, not semantic) of each text.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineHandler } from '../handler.js';

const schema = z.object({ texts: z.array(z.string()).min(1).max(10_000), dimensions: z.number().int().min(8).max(4096).default(64) });

function embed(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const token of text.toLowerCase().split(/\W+/).filter(Boolean)) {
    const digest = createHash('sha1').update(token).digest();
    const slot = digest.readUInt32BE(0) % dimensions;
    vector[slot]! += digest[4]! & 1 ? 1 : -1;
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((v) => v / norm);
}

export default defineHandler({
  queue: 'ai',
  schema,
  async run(data, ctx) {
    const vectors = [];
    for (const [i, text] of data.texts.entries()) {
      ctx.signal.throwIfAborted();
      vectors.push(embed(text, data.dimensions));
      await ctx.progress({ current: i + 1, total: data.texts.length });
    }
    return { dimensions: data.dimensions, count: vectors.length, vectors };
  },
});
