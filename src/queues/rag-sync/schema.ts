// rag-sync: new items of a feed or folder, through document then ai as a flow.
import { z } from 'zod';

const collectSchema = z.object({
  sources: z.array(z.string()),
  fetched: z.number().int().min(0),
  /** Sources that could not be read (news-fetch goes on without them). */
  errors: z.array(z.object({ item: z.string(), error: z.string() })).default([]),
});

export const ragSyncSchema = z.object({
  /** An RSS or Atom feed URL, or a folder under the input roots (JOBVISOR_INPUT_ROOTS). */
  source: z.string().min(1).optional(),
  /** news-fetch: several feed URLs (http or https) in one sync. */
  feeds: z.array(z.string().url().regex(/^https?:\/\//i, 'an http or https URL')).min(1).max(100).optional(),
  /** At most this many new items per sync; the rest wait for the next one. */
  maxItems: z.number().int().min(1).max(1000).default(100),
  chunkSize: z.number().int().min(100).max(20_000).default(1000),
  overlap: z.number().int().min(0).max(5000).default(150),
  provider: z.enum(['local', 'openai']).optional(),
  /** Set by the sync job on the flow's parent; not for callers. */
  collect: collectSchema.optional(),
}).refine((d) => d.source || d.feeds || d.collect, { path: ['source'], message: 'give source (a feed URL or a folder) or feeds (feed URLs)' })
  .refine((d) => d.overlap <= d.chunkSize / 2, { path: ['overlap'], message: 'must be at most half of chunkSize' });
export type RagSyncJob = z.infer<typeof ragSyncSchema>;
