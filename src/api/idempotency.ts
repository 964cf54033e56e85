// Enqueue that a client may retry safely. With an `Idempotency-Key`, the first request reserves
// the key (per tenant, 24 h, in the store, so every api copy sees it) with the id the job will
// get; a retry finds that id and answers with that job, or creates it under that very id if the
// first attempt never got through — BullMQ adds no second job with an id it has. A 503 always
// names the id the job would have had, and whether the store may have created it.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { StoreUnavailableError } from '../lib/errors.js';
import type { EnqueueInput, EnqueueResult, IdempotencyRecord, JobView } from '../lib/store/index.js';
import { presentedKey, type Caller } from './auth.js';
import type { ApiContext } from './context.js';
import { ApiError } from './errors.js';
import type { IdentifiedInput } from './routes/access.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;
/** Errors that say the command never left the api (no offline queue): the job was not created. */
const NOT_SENT = /nothing was sent|enableOfflineQueue|Stream isn't writeable|ECONNREFUSED|max retries per request|timeout exceeded when trying to connect/i;

export type Enqueued =
  | { kind: 'created' | 'existing'; result: EnqueueResult }
  /** The key's job was created and has since been removed by retention. */
  | { kind: 'gone'; queue: string; id: string };

/** The request's key, scoped to its tenant; undefined without the header. */
export function idempotencyKey(req: IncomingMessage, caller: Caller): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !KEY_SHAPE.test(key)) throw new ApiError(400, 'invalid_request', 'Idempotency-Key must be 1–255 printable ASCII characters');
  const tenant = caller.tenant ?? digest(presentedKey(req) ?? 'open').slice(0, 32);
  return `${tenant}:${key}`;
}

export async function enqueueOnce(ctx: ApiContext, input: IdentifiedInput, key: string | undefined): Promise<Enqueued> {
  if (key === undefined) return { kind: 'created', result: await add(ctx, input) };
  const mine: IdempotencyRecord = { queue: input.queue, id: input.jobId, fingerprint: fingerprintOf(input) };
  const found = await ctx.call(ctx.store.reserveIdempotencyKey(key, mine, IDEMPOTENCY_TTL_MS));
  const record = found ?? mine;
  if (record.fingerprint !== mine.fingerprint) {
    throw new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was sent with another request in the last 24 h');
  }
  if (found) {
    const job: JobView | undefined = await ctx.call(ctx.store.get(found.queue, found.id));
    if (job) return { kind: 'existing', result: { id: job.id, state: job.state, job, created: false } };
    if (found.created) return { kind: 'gone', queue: found.queue, id: found.id };
  }
  const result = await add(ctx, found ? { ...input, jobId: found.id } : input);
  await ctx.call(ctx.store.markIdempotencyCreated(key, record)).catch(() => {}); // without it a retry still finds the job by id
  return { kind: 'created', result };
}

/** The add, with a 503 that names the id and whether the job may exist (a retry with the key is safe either way). */
function add(ctx: ApiContext, input: IdentifiedInput): Promise<EnqueueResult> {
  return namingIds(ctx.call(ctx.store.enqueue(input)), { id: input.jobId, queue: input.queue });
}

/** A store that did not answer becomes a 503 naming the ids the jobs would have had, and whether they may exist. */
async function namingIds<T>(adding: Promise<T>, ids: { id: string; queue: string } | { ids: string[] }): Promise<T> {
  try {
    return await adding;
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    const outcome = NOT_SENT.test(error.message) ? 'not_created' : 'unknown';
    throw new ApiError(503, 'store_unavailable', 'the job store is not answering; try again later, with the same Idempotency-Key', { ...ids, outcome });
  }
}

/** The request, not its trace context (new on every retry). */
function fingerprintOf({ traceContext: _trace, jobId: _id, ...request }: EnqueueInput): string {
  return digest(JSON.stringify(request));
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A bulk's jobs, each under its own key (`<Idempotency-Key>:<index>`), as the
 * single route keeps one: every key reserved in one parallel round, a key
 * reused for another request refused before anything is added, and the jobs
 * not yet created added in one `enqueueBulk` under their reserved ids.
 */
export async function enqueueBulkOnce(ctx: ApiContext, inputs: IdentifiedInput[], key: string | undefined): Promise<Enqueued[]> {
  if (key === undefined) return (await addBulk(ctx, inputs)).map((result) => ({ kind: 'created', result }));
  const keys = inputs.map((_, i) => `${key}:${i}`);
  const mine = inputs.map((input): IdempotencyRecord => ({ queue: input.queue, id: input.jobId, fingerprint: fingerprintOf(input) }));
  const found = await ctx.call(Promise.all(keys.map((k, i) => ctx.store.reserveIdempotencyKey(k, mine[i]!, IDEMPOTENCY_TTL_MS))));
  const reused = found.findIndex((record, i) => record !== undefined && record.fingerprint !== mine[i]!.fingerprint);
  if (reused >= 0) throw new ApiError(422, 'idempotency_key_reused', `jobs.${reused}: this Idempotency-Key was sent with another request in the last 24 h`);
  const existing = await ctx.call(Promise.all(found.map((record) => (record ? ctx.store.get(record.queue, record.id) : undefined))));
  const answers: (Enqueued | undefined)[] = found.map((record, i) => {
    const job = existing[i];
    if (job) return { kind: 'existing', result: { id: job.id, state: job.state, job, created: false } };
    return record?.created ? { kind: 'gone', queue: record.queue, id: record.id } : undefined;
  });
  const toAdd = inputs.flatMap((input, i) => (answers[i] ? [] : [{ index: i, input: found[i] ? { ...input, jobId: found[i]!.id } : input }]));
  const added = await addBulk(ctx, toAdd.map(({ input }) => input));
  for (const [n, { index }] of toAdd.entries()) answers[index] = { kind: 'created', result: added[n]! };
  await Promise.all(toAdd.map(({ index }) => ctx.call(ctx.store.markIdempotencyCreated(keys[index]!, found[index] ?? mine[index]!)).catch(() => {})));
  return answers as Enqueued[];
}

async function addBulk(ctx: ApiContext, inputs: IdentifiedInput[]): Promise<EnqueueResult[]> {
  if (inputs.length === 0) return [];
  return namingIds(ctx.call(ctx.store.enqueueBulk(inputs)), { ids: inputs.map((input) => input.jobId) });
}
