// The client's view of the api's shapes (README, "The HTTP API"), and each queue's job
// data as its schema takes it: type-only imports, so nothing of the server is loaded.
import type { z } from 'zod';
import type { aiSchema } from '../queues/ai/schema.js';
import type { documentSchema } from '../queues/document/schema.js';
import type { maintenanceSchema } from '../queues/maintenance/schema.js';
import type { ragSyncSchema } from '../queues/rag-sync/schema.js';
import type { videoSchema } from '../queues/video/schema.js';
import type { webhookSchema } from '../queues/webhooks/schema.js';

/** What `data` each queue accepts at enqueue. */
export interface QueueData {
  video: z.input<typeof videoSchema>;
  document: z.input<typeof documentSchema>;
  ai: z.input<typeof aiSchema>;
  'rag-sync': z.input<typeof ragSyncSchema>;
  maintenance: z.input<typeof maintenanceSchema>;
  webhooks: z.input<typeof webhookSchema>;
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';
export type Progress = number | { current: number; total: number; message?: string };

export interface Job {
  id: string;
  queue: string;
  name: string;
  state: JobState;
  priority: number;
  progress: Progress;
  data?: unknown;
  attempts: number;
  maxAttempts: number;
  result: unknown;
  error: { message: string } | null;
  projectId: string | null;
  createdAt: string;
  runAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  timeline?: { at: string; event: string; detail?: string }[];
  /** A waiting job's view only: ms until it likely starts, null when nothing is known to estimate from (README, "Estimated wait"). */
  estimatedWait?: number | null;
}

export interface EnqueueOptions {
  name?: string;
  priority?: number;
  delay?: number;
  runAt?: string;
  attempts?: number;
  timeoutMs?: number;
  dedupKey?: string;
  projectId?: string;
  callbackUrl?: string;
  /** Sent as Idempotency-Key; a fresh one per call when unset. */
  idempotencyKey?: string;
}

export interface Enqueued {
  id: string;
  queue: string;
  state: JobState;
  statusUrl: string;
  /** ms until it likely starts; null when nothing is known to estimate from (README, "Estimated wait"). */
  estimatedWait?: number | null;
}

export interface ListQuery {
  queue?: string;
  state?: JobState;
  projectId?: string;
  name?: string;
  createdAfter?: string;
  createdBefore?: string;
  cursor?: string;
  limit?: number;
}

export interface JobPage {
  jobs: Job[];
  nextCursor: string | null;
}

/** One frame of an event stream: `snapshot` and `end` carry a Job, the rest {queue, jobId, detail}. */
export interface StreamEvent {
  type: string;
  id?: string;
  data: unknown;
}

export const FINAL_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];

/** Which failed (and, with `cancelled`, cancelled) jobs a redrive sends back to waiting. Times are ISO 8601. */
export interface RedriveFilters {
  name?: string;
  projectId?: string;
  tenant?: string;
  failedAfter?: string;
  failedBefore?: string;
  cancelled?: boolean;
  dryRun?: boolean;
  /** Default 1000, at most 10000. */
  limit?: number;
}

export interface RedriveResult {
  count: number;
  dryRun: boolean;
  /** The first 100 ids; `truncated` when there were more. */
  ids: string[];
  truncated: boolean;
}
