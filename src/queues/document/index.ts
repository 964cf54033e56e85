// document: extract text from a PDF, DOCX, HTML, Markdown or text source and chunk it.
import { defineQueue } from '../define.js';
import { documentSchema } from './schema.js';

export default defineQueue({
  name: 'document',
  defaults: { concurrency: 3, maxMemoryMb: 512, drainTimeoutMs: 60_000, rank: 2, targetWaitMs: 15_000 },
  access: 'user',
  schema: documentSchema,
  handler: () => import('./handler.js'),
});
