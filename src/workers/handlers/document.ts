// Until real extraction lands: counts the words, lines and characters of a text.
import { z } from 'zod';
import { defineHandler } from '../handler.js';

const schema = z.object({ text: z.string() });

export default defineHandler({
  queue: 'document',
  schema,
  async run(data, ctx) {
    const lines = data.text.split(/\r?\n/);
    let words = 0;
    for (const [i, line] of lines.entries()) {
      ctx.signal.throwIfAborted();
      words += line.split(/\s+/).filter(Boolean).length;
      if (i % 1000 === 999) await ctx.progress({ current: i + 1, total: lines.length });
    }
    return { words, lines: lines.length, characters: data.text.length };
  },
});
