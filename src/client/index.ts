// jobvisor's typed client (README, "The client"): enqueue, read, list, cancel, retry,
// wait for a job over its event stream (polling when the stream cannot be had), follow
// events, and check a webhook's signature. Node's own fetch and crypto, nothing else.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { SIGNATURE_HEADER, verifySignature } from '../lib/webhook-signature.js';
import { readFrames } from './sse.js';
import { FINAL_STATES, type EnqueueOptions, type Enqueued, type Job, type JobPage, type ListQuery, type QueueData, type RedriveFilters, type RedriveResult, type StreamEvent } from './types.js';

export * from './types.js';

export interface ClientOptions {
  /** The api's origin, e.g. http://localhost:3000. */
  baseUrl: string;
  apiKey?: string;
  /** How often waitFor polls when the event stream is not available. */
  pollMs?: number;
}

/** An answer from the api that is not a success: its status and the api's error body. */
export class JobvisorError extends Error {
  override name = 'JobvisorError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export class JobvisorClient {
  private readonly baseUrl: string;
  private readonly pollMs: number;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.pollMs = options.pollMs ?? 1000;
  }

  enqueue<Q extends keyof QueueData>(queue: Q, data: QueueData[Q], options: EnqueueOptions = {}): Promise<Enqueued | Job> {
    const { idempotencyKey = randomUUID(), ...rest } = options;
    return this.request('POST', '/api/jobs', { queue, data, ...rest }, { 'Idempotency-Key': idempotencyKey });
  }

  get(queue: string, id: string): Promise<Job> {
    return this.request('GET', jobPath(queue, id));
  }

  /** Across queues (newest first, by cursor) unless `queue` is the only filter given with an offset. */
  list(query: ListQuery = {}): Promise<JobPage> {
    const params = searchOf({ ...query });
    return this.request('GET', `/api/jobs${params.size ? `?${params}` : ''}`);
  }

  cancel(queue: string, id: string): Promise<Job> {
    return this.request('DELETE', jobPath(queue, id));
  }

  retry(queue: string, id: string): Promise<Job> {
    return this.request('POST', `${jobPath(queue, id)}/retry`);
  }

  /** Admin keys only: sends a queue's failed jobs back to waiting in bulk (README, "Redrive"). */
  redrive(queue: string, filters: RedriveFilters = {}): Promise<RedriveResult> {
    return this.request('POST', `/api/queues/${encodeURIComponent(queue)}/retry-failed`, filters);
  }

  /** The job once it has ended (completed, failed or cancelled). */
  async waitFor(queue: string, id: string, { signal, timeoutMs }: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Job> {
    const stop = AbortSignal.any([signal ?? new AbortController().signal, ...(timeoutMs ? [AbortSignal.timeout(timeoutMs)] : [])]);
    try {
      for await (const event of this.stream(`${jobPath(queue, id)}/events`, stop)) {
        if (event.type === 'end') return event.data as Job;
      }
    } catch (error) {
      if (stop.aborted) throw stop.reason;
      if (error instanceof JobvisorError && error.status !== 404 && error.status < 500) throw error;
    }
    return this.poll(queue, id, stop); // the stream closed early or could not be had
  }

  /** Events of one job (from its snapshot to its end), or of the key's jobs (`queue`, `projectId` narrow them). */
  events(filter: { queue?: string; id?: string; projectId?: string; signal?: AbortSignal } = {}): AsyncIterable<StreamEvent> {
    const { queue, id, projectId, signal } = filter;
    if (id !== undefined) return this.stream(`${jobPath(queue ?? '', id)}/events`, signal);
    const params = searchOf({ queue, projectId });
    return this.stream(`/api/events${params.size ? `?${params}` : ''}`, signal);
  }

  private async *stream(path: string, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
    const response = await fetch(`${this.baseUrl}${path}`, { headers: { ...this.auth(), accept: 'text/event-stream' }, ...(signal ? { signal } : {}) });
    if (!response.ok || !response.body) throw await errorOf(response);
    for await (const frame of readFrames(response.body)) {
      yield { type: frame.event, data: JSON.parse(frame.data), ...(frame.id !== undefined ? { id: frame.id } : {}) };
    }
  }

  private async poll(queue: string, id: string, signal: AbortSignal): Promise<Job> {
    for (;;) {
      const job = await this.get(queue, id);
      if (FINAL_STATES.includes(job.state)) return job;
      await delay(this.pollMs, undefined, { signal }); // rejects with the abort, and leaves no listener behind
    }
  }

  private auth(): Record<string, string> {
    return this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {};
  }

  private async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...this.auth(), ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as T;
  }
}

function searchOf(query: Record<string, string | number | undefined>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  return params;
}

function jobPath(queue: string, id: string): string {
  return `/api/jobs/${encodeURIComponent(queue)}/${encodeURIComponent(id)}`;
}

async function errorOf(response: Response): Promise<JobvisorError> {
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  return new JobvisorError(response.status, body.error?.code ?? 'http_error', body.error?.message ?? `HTTP ${response.status}`);
}

/**
 * Whether a webhook request is jobvisor's, signed with `secret`: give its headers and its
 * raw body (the exact bytes received, before any JSON parsing).
 */
export function verifyWebhook(req: { headers: Record<string, string | string[] | undefined> | Headers; body: string }, secret: string, toleranceS?: number): boolean {
  const name = SIGNATURE_HEADER.toLowerCase();
  const header = req.headers instanceof Headers ? req.headers.get(name) : req.headers[name];
  return verifySignature(Array.isArray(header) ? header[0] : header, req.body, secret, toleranceS);
}
