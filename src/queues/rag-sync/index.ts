// rag-sync: follow a folder or feeds and enqueue a document → ai flow per new item.
import { defineQueue } from '../define.js';
import { ragSyncSchema } from './schema.js';

export default defineQueue({
  name: 'rag-sync',
  defaults: { concurrency: 1, maxMemoryMb: 384, drainTimeoutMs: 60_000, rank: 3, targetWaitMs: 60_000 },
  access: 'user',
  schema: ragSyncSchema,
  handler: () => import('./handler.js'),
  // news-fetch ships disabled: there is no feed worth fetching by default. Turn it on with
  // CRON_NEWS_FETCH='{"enabled": true, "payload": {"feeds": ["https://…/feed.xml"]}}'.
  // `knowledge` is looked up under the input roots: <JOBVISOR_DATA_DIR>/input/knowledge by default.
  schedules: [
    { name: 'rag-sync', cron: '0 6 * * *', payload: { source: 'knowledge' }, priority: 5, enabled: true },
    { name: 'news-fetch', cron: '0 */4 * * *', payload: { feeds: [] }, priority: 5, enabled: false },
  ],
});
