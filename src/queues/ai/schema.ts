// ai: embeddings of texts, of a chunks file, or of the chunks a flow's document child made.
import { z } from 'zod';

export const aiSchema = z.object({
  texts: z.array(z.string()).min(1).max(10_000).optional(),
  /** JSON lines with a `text` field each, as the document queue writes them: a file under the input roots or the output folder. */
  chunksFile: z.string().min(1).optional(),
  /** In a flow: embed the chunks file of this job's document child. */
  fromChildren: z.boolean().optional(),
  /** Default: EMBEDDINGS_PROVIDER, else `local`; another only if AI_PROVIDERS_ALLOWED lists it. */
  provider: z.enum(['local', 'openai']).optional(),
  /** Vector size of the local provider (the openai provider's model decides its own). */
  dimensions: z.number().int().min(8).max(4096).default(256),
  /** Texts per provider request. */
  batchSize: z.number().int().min(1).max(2048).default(64),
  /** Carried through to the result, so a flow's parent knows which item this was. */
  item: z.object({ id: z.string(), title: z.string().optional() }).optional(),
}).refine((d) => d.texts || d.chunksFile || d.fromChildren, { path: ['texts'], message: 'give texts, chunksFile, or fromChildren' });
export type AiJob = z.infer<typeof aiSchema>;
