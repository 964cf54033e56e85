// What job data may reach and how much work it may cause: the input roots, the
// URL allowlist, and every cap a handler enforces (README, "Security model").
// config.ts reads these with the rest of the environment at start; a handler
// reads them again at call time through loadInputConfig(), so one module
// decides them for both.
import path from 'node:path';
import { z } from 'zod';

export interface InputConfig {
  /** Folders job data may name files in (JOBVISOR_INPUT_ROOTS), absolute; the output folder is allowed too. */
  roots: string[];
  /** Where handlers write (JOBVISOR_OUTPUT_DIR), absolute. */
  outputDir: string;
  /** Hostnames job data may name even when they resolve to private addresses. */
  urlAllowlist: string[];
  /** Largest file a handler reads from the roots. */
  maxFileBytes: number;
  /** Largest response body a handler reads from a URL. */
  maxUrlBytes: number;
  /** Longest a URL fetch may take, redirects and body included. */
  urlTimeoutMs: number;
  maxRedirects: number;
  /** Largest feed rag-sync reads, and how many of its items it looks at. */
  maxFeedBytes: number;
  maxFeedItems: number;
  /** Decompressed bytes a DOCX's zip entries or a PDF's compressed streams may grow to. */
  maxUnzippedBytes: number;
  /** Characters of text a document may yield. */
  maxTextChars: number;
  /** Chunks one document job may write. */
  maxChunks: number;
  /** Bytes one job may write to a JSON-lines output. */
  maxOutputBytes: number;
  /** texts × dimensions one ai job may write. */
  maxVectorValues: number;
  /** cache-cleanup never removes files younger than this. */
  cleanupMinAgeDays: number;
  /** The embeddings provider used when a job names none, and those a job may name. */
  embeddings: { provider: EmbeddingsProvider; allowed: EmbeddingsProvider[] };
}

export const EMBEDDINGS_PROVIDERS = ['local', 'openai'] as const;
export type EmbeddingsProvider = (typeof EMBEDDINGS_PROVIDERS)[number];

const SIZE = /^(\d+)(b|kb|mb|gb)?$/i;

/** `1mb`, `512kb` or a plain number of bytes. */
export function bytes(size: string): number {
  const [, digits, unit = 'b'] = SIZE.exec(size.trim())!;
  return Number(digits) * { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[unit.toLowerCase() as 'b' | 'kb' | 'mb' | 'gb'];
}

const size = (fallback: string) => z.string().trim().regex(SIZE, 'a size such as 50mb, 512kb or 65536').default(fallback).transform(bytes);
const count = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const list = z.string().transform((s) => s.split(',').map((item) => item.trim()).filter(Boolean));
const providers = list.pipe(z.array(z.enum(EMBEDDINGS_PROVIDERS)));

/** The variables, as zod reads them; config.ts merges them into its own schema. */
export const inputEnv = z.object({
  JOBVISOR_DATA_DIR: z.string().min(1).default('./data'),
  JOBVISOR_INPUT_ROOTS: list.optional(),
  JOBVISOR_OUTPUT_DIR: z.string().min(1).optional(),
  JOBVISOR_URL_ALLOWLIST: list.default([]),
  JOBVISOR_MAX_INPUT_BYTES: size('50mb'),
  JOBVISOR_MAX_URL_BYTES: size('50mb'),
  JOBVISOR_URL_TIMEOUT_MS: count(100, 30_000),
  JOBVISOR_URL_MAX_REDIRECTS: count(0, 5),
  JOBVISOR_MAX_FEED_BYTES: size('10mb'),
  JOBVISOR_MAX_FEED_ITEMS: count(1, 1000),
  JOBVISOR_MAX_UNZIPPED_BYTES: size('64mb'),
  JOBVISOR_MAX_TEXT_CHARS: count(1000, 10_000_000),
  JOBVISOR_MAX_CHUNKS: count(1, 20_000),
  JOBVISOR_MAX_OUTPUT_BYTES: size('256mb'),
  JOBVISOR_MAX_VECTOR_VALUES: count(1, 6_000_000),
  JOBVISOR_CLEANUP_MIN_AGE_DAYS: z.coerce.number().min(1).default(1),
  EMBEDDINGS_PROVIDER: z.enum(EMBEDDINGS_PROVIDERS).default('local'),
  AI_PROVIDERS_ALLOWED: providers.optional(),
});

export function toInputConfig(e: z.infer<typeof inputEnv>): InputConfig {
  const dataDir = path.resolve(e.JOBVISOR_DATA_DIR);
  const roots = e.JOBVISOR_INPUT_ROOTS?.length ? e.JOBVISOR_INPUT_ROOTS : [path.join(dataDir, 'input')];
  return {
    roots: roots.map((root) => path.resolve(root)),
    outputDir: path.resolve(e.JOBVISOR_OUTPUT_DIR ?? path.join(dataDir, 'output')),
    urlAllowlist: e.JOBVISOR_URL_ALLOWLIST.map((host) => host.toLowerCase().replace(/^\[(.*)\]$/, '$1')),
    maxFileBytes: e.JOBVISOR_MAX_INPUT_BYTES,
    maxUrlBytes: e.JOBVISOR_MAX_URL_BYTES,
    urlTimeoutMs: e.JOBVISOR_URL_TIMEOUT_MS,
    maxRedirects: e.JOBVISOR_URL_MAX_REDIRECTS,
    maxFeedBytes: e.JOBVISOR_MAX_FEED_BYTES,
    maxFeedItems: e.JOBVISOR_MAX_FEED_ITEMS,
    maxUnzippedBytes: e.JOBVISOR_MAX_UNZIPPED_BYTES,
    maxTextChars: e.JOBVISOR_MAX_TEXT_CHARS,
    maxChunks: e.JOBVISOR_MAX_CHUNKS,
    maxOutputBytes: e.JOBVISOR_MAX_OUTPUT_BYTES,
    maxVectorValues: e.JOBVISOR_MAX_VECTOR_VALUES,
    cleanupMinAgeDays: e.JOBVISOR_CLEANUP_MIN_AGE_DAYS,
    // The operator's own default is always allowed; a job may name another only if listed.
    embeddings: {
      provider: e.EMBEDDINGS_PROVIDER,
      allowed: [...new Set([e.EMBEDDINGS_PROVIDER, ...(e.AI_PROVIDERS_ALLOWED ?? [])])],
    },
  };
}
