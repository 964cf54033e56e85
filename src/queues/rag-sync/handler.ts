// rag-sync: find the items of a source (RSS/Atom feed URL or a folder under the input roots) that
// are new since the last sync, and run each through document, then ai, as one
// BullMQ flow:
//
//   rag-sync "collect" (parent: runs when every item is done, sums the counts)
//     └─ ai "embed" (one per item: reads its child's chunks)   ignoreFailure
//          └─ document "extract" (the item's text → chunks)    ignoreFailure
//
// A failing item is reported in the parent's `errors`, never failing the others.
// The cursor (kept in the store) advances once the flow is enqueued: an item
// that fails is reported, not fetched again. `news-fetch` is the same handler
// over a list of feeds.
import { createHash } from 'node:crypto';
import type { FlowInput } from '../../lib/store/index.js';
import { defineHandler, type HandlerContext } from '../define.js';
import { ragSyncSchema, type RagSyncJob } from './schema.js';
import { advance, newItems, type Cursor } from './cursor.js';
import { isHttpUrl } from '../io/url-guard.js';
import { fetchFeed, listFolder, type SourceItem } from './sources.js';

function cursorKey(source: string): string {
  return `rag-sync:cursor:${createHash('sha256').update(source).digest('hex').slice(0, 32)}`;
}

function itemFlow(item: SourceItem, data: RagSyncJob): FlowInput {
  return {
    queue: 'ai', name: 'embed', ignoreFailure: true,
    data: { fromChildren: true, item: { id: item.id, title: item.title }, ...(data.provider ? { provider: data.provider } : {}) },
    children: [{
      queue: 'document', name: 'extract', ignoreFailure: true,
      data: {
        ...(item.content !== undefined ? { content: item.content, format: 'html' } : { source: item.source }),
        chunkSize: data.chunkSize, overlap: data.overlap,
      },
    }],
  };
}

interface Gathered {
  fetched: number;
  fresh: { source: string; items: SourceItem[]; cursor: Cursor | undefined }[];
  errors: { item: string; error: string }[];
}

/** Each source's items that are new since its cursor, oldest first. */
async function gather(sources: string[], data: RagSyncJob, ctx: HandlerContext): Promise<Gathered> {
  const gathered: Gathered = { fetched: 0, fresh: [], errors: [] };
  for (const [i, source] of sources.entries()) {
    let items: SourceItem[];
    try {
      items = isHttpUrl(source) ? await fetchFeed(source, ctx.signal) : await listFolder(source);
    } catch (error) {
      // One feed of a news-fetch list being down does not hold back the others; a single source fails the job.
      if (!data.feeds || ctx.signal.aborted) throw error;
      gathered.errors.push({ item: source, error: (error as Error).message });
      continue;
    }
    const cursor = await ctx.state.get<Cursor>(cursorKey(source));
    const unseen = newItems(items, cursor).sort((a, b) => (a.publishedAt ?? 0) - (b.publishedAt ?? 0));
    gathered.fetched += items.length;
    gathered.fresh.push({ source, items: unseen, cursor });
    await ctx.progress({ current: i + 1, total: sources.length, message: `${source}: ${unseen.length} new of ${items.length}` });
  }
  return gathered;
}

async function sync(data: RagSyncJob, ctx: HandlerContext) {
  const sources = data.feeds ?? [data.source!];
  const { fetched, fresh, errors } = await gather(sources, data, ctx);
  // Oldest first, up to maxItems: what is left over is still new next time.
  let room = data.maxItems;
  const taken = fresh.map((f) => {
    const items = f.items.slice(0, room);
    room -= items.length;
    return { ...f, items };
  });
  const items = taken.flatMap((t) => t.items);
  // An item with no content and no web link (a feed naming a local path, say) has nothing the document queue may read.
  const readable = items.filter((item) => item.content !== undefined || item.source !== undefined);
  for (const item of items) if (!readable.includes(item)) errors.push({ item: item.id, error: 'no content and no http(s) link to read' });
  let flow = null;
  if (readable.length > 0) {
    const root = await ctx.enqueueFlow({
      queue: 'rag-sync', name: 'collect',
      data: { collect: { sources, fetched, errors } },
      children: readable.map((item) => itemFlow(item, data)),
    });
    flow = { queue: root.queue, id: root.id };
  }
  for (const t of taken) if (t.items.length > 0) await ctx.state.set(cursorKey(t.source), advance(t.cursor, t.items));
  return { sources, fetched, new: items.length, flow, errors };
}

interface ItemResult {
  item?: { id: string; title?: string } | null;
  error?: string;
  chunks?: number;
  vectors?: number;
  output?: string;
}

/** The flow's parent: every item has finished, one way or the other. */
async function collect(collected: NonNullable<RagSyncJob['collect']>, ctx: HandlerContext) {
  const { results, failures } = await ctx.childrenResults();
  const errors = [...collected.errors];
  let chunks = 0;
  let vectors = 0;
  const outputs: string[] = [];
  for (const result of Object.values(results) as ItemResult[]) {
    if (result.error) errors.push({ item: result.item?.id ?? 'unknown', error: result.error });
    chunks += result.chunks ?? 0;
    vectors += result.vectors ?? 0;
    if (result.output) outputs.push(result.output);
  }
  for (const [job, error] of Object.entries(failures)) errors.push({ item: job, error });
  return {
    sources: collected.sources, fetched: collected.fetched, items: Object.keys(results).length + Object.keys(failures).length,
    chunks, vectors, errors, outputs,
  };
}

export default defineHandler({
  schema: ragSyncSchema,
  async run(data, ctx) {
    if (data.collect) return collect(data.collect, ctx);
    return sync(data, ctx);
  },
});
