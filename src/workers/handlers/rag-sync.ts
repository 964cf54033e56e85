// Until feeds and flows land: reports which items of a list are new since a cursor.
import { z } from 'zod';
import { defineHandler } from '../handler.js';

const schema = z.object({
  source: z.string().min(1),
  items: z.array(z.object({ id: z.string(), publishedAt: z.string() })).default([]),
  since: z.string().optional(),
});

export default defineHandler({
  queue: 'rag-sync',
  schema,
  async run(data) {
    const since = data.since ? Date.parse(data.since) : 0;
    const fresh = data.items.filter((item) => Date.parse(item.publishedAt) > since);
    const cursor = fresh.reduce((max, item) => Math.max(max, Date.parse(item.publishedAt)), since);
    return { source: data.source, fetched: data.items.length, new: fresh.map((i) => i.id), cursor: cursor ? new Date(cursor).toISOString() : null };
  },
});
