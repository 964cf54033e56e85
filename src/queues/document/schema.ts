// document: extract text from a file, URL or inline content, and chunk it.
import { z } from 'zod';

export const DOCUMENT_FORMATS = ['pdf', 'docx', 'html', 'markdown', 'text'] as const;

export const documentSchema = z.object({
  /** A file under the input roots (JOBVISOR_INPUT_ROOTS; a relative path is looked up in each), or an http(s) URL. */
  source: z.string().min(1).optional(),
  /** Inline content instead of a source (text, Markdown or HTML). */
  content: z.string().optional(),
  /** Detected from the extension, the content type or the first bytes when left out. */
  format: z.enum(DOCUMENT_FORMATS).optional(),
  /** Characters per chunk. */
  chunkSize: z.number().int().min(100).max(20_000).default(1000),
  /** Characters shared by neighbouring chunks: at most half of chunkSize, so chunking always moves on. */
  overlap: z.number().int().min(0).max(5000).default(150),
}).refine((d) => d.source !== undefined || d.content !== undefined, { path: ['source'], message: 'give source (a path or URL) or content' })
  .refine((d) => d.overlap <= d.chunkSize / 2, { path: ['overlap'], message: 'must be at most half of chunkSize' });
export type DocumentJob = z.infer<typeof documentSchema>;
