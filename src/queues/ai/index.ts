// ai: embed texts or a document's chunks, locally or through the operator's provider.
import { defineQueue } from '../define.js';
import { aiSchema } from './schema.js';

export default defineQueue({
  name: 'ai',
  defaults: { concurrency: 4, maxMemoryMb: 512, drainTimeoutMs: 60_000, rank: 1, targetWaitMs: 10_000 },
  access: 'user',
  schema: aiSchema,
  handler: () => import('./handler.js'),
  // The operator's provider key (openai.ts): no other queue's worker sees it.
  secrets: ['OPENAI_API_KEY'],
});
