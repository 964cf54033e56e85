// The event streams (README, "Event streams"): one job's events until it ends, and a
// tenant's (an admin's: every) job events, as Server-Sent Events. A user key reaches its
// own tenant's jobs only: another tenant's job is a 404, and its events never reach it. Events come from the
// store (store.events), so a stream on any api copy sees every worker's events; a
// snapshot comes first, so a late subscriber misses nothing, and Last-Event-ID replays
// what the store still holds after a reconnect.
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { ApiError, unknownJob } from '../errors.js';
import { apiJob } from '../job-shape.js';
import { jobParams } from '../schemas.js';
import { openEventStream, type EventStream } from '../sse.js';
import { parse } from '../validate.js';
import { eventIdAfter, type JobEvent, type JobState, type JobView } from '../../lib/store/index.js';
import type { QueueName } from '../../queues/index.js';
import { isAdmin, queueAccess, scopeOf } from './access.js';

const FINAL: readonly JobState[] = ['completed', 'failed', 'cancelled'];
/** Events after which a job may have reached its final state: the stream reads it to know. */
const MAY_END = new Set(['completed', 'failed', 'removed']);
const EVENT_ID = /^\d{1,20}(-\d{1,20})?$/;
/** Jobs the tenant stream remembers (whether they are the tenant's), so that an event costs a read only for a job it has not seen. */
const JOB_CACHE = 10_000;

const eventsQuery = z.strictObject({
  queue: z.string().min(1).max(100).optional(),
  projectId: z.string().min(1).max(256).optional(),
  /** Admin keys only: one tenant's events. */
  tenant: z.string().min(1).max(64).optional(),
});

function frame(event: JobEvent) {
  return { queue: event.queue, jobId: event.jobId, ...(event.detail === undefined ? {} : { detail: event.detail }) };
}

function lastEventId(req: Request): string | undefined {
  const given = req.get('last-event-id');
  return given && EVENT_ID.test(given) ? given : undefined;
}

export function eventsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/jobs/:queue/:id/events', ctx.auth.require('user'), (req, res) => followJob(ctx, req, res));
  router.get('/events', ctx.auth.require('user'), (req, res) => followTenant(ctx, req, res));
  return router;
}

const knownQueue = (ctx: ApiContext, queue: string): QueueName => queueAccess(ctx.queues).knownQueue(queue);

/** One job's events: what was missed (Last-Event-ID), then a snapshot, then everything until it ends. */
async function followJob(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const { store, call } = ctx;
  const { queue, id } = parse(jobParams, req.params, 'params');
  const known = knownQueue(ctx, queue);
  const tenant = scopeOf(res);
  if (!(await call(store.get(known, id, tenant)))) throw unknownJob(queue, id);
  const stream = openEventStream(req, res);
  const since = lastEventId(req);
  // Subscribed before the snapshot is read, so that nothing falls between the two.
  const pending: JobEvent[] = [];
  let deliver = (event: JobEvent) => void pending.push(event);
  stream.onClose(store.events.subscribe(known, (event) => deliver(event), id));
  try {
    const follower = jobFollower(ctx, stream, { queue: known, id, tenant, admin: isAdmin(res) });
    if (since) for (const event of await call(store.events.since(known, since, id))) await follower.forward(event);
    const snapshot = await call(store.get(known, id, tenant));
    if (!snapshot || follower.ended(snapshot)) return;
    deliver = (event) => void follower.forward(event).catch(() => stream.end());
    for (const event of pending.splice(0)) deliver(event);
  } catch {
    stream.end(); // the store stopped answering: the client reconnects with its Last-Event-ID
  }
}

/** A tenant's jobs (an admin's: every tenant's, or the one asked for), on one queue or all. */
async function followTenant(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const { store, call, queues } = ctx;
  const query = parse(eventsQuery, req.query, 'query');
  const watched = query.queue !== undefined ? [knownQueue(ctx, query.queue)] : [...queues];
  const tenant = scopeOf(res) ?? query.tenant;
  if (query.tenant !== undefined && tenant !== query.tenant) throw new ApiError(403, 'forbidden', 'only admin keys may choose a tenant');
  const stream = openEventStream(req, res);
  const inProject = jobFilter(ctx, tenant, query.projectId);
  const send = (event: JobEvent) => {
    void inProject(event).then((ok) => ok && stream.send(event.type, frame(event), `${event.queue}/${event.eventId}`), () => {});
  };
  for (const queue of watched) stream.onClose(store.events.subscribe(queue, send));
  const since = req.get('last-event-id')?.split('/');
  if (since?.length === 2 && watched.includes(since[0] as QueueName) && EVENT_ID.test(since[1]!)) {
    for (const event of await call(store.events.since(since[0]!, since[1]!)).catch(() => [])) send(event);
  }
  stream.send('ready', { queues: watched });
}

/** Forwards one job's events, in order, and ends the stream once the job has. */
function jobFollower(ctx: ApiContext, stream: EventStream, job: { queue: string; id: string; tenant: string | undefined; admin: boolean }) {
  const { queue, id, tenant, admin } = job;
  let lastSent: string | undefined;
  let chain = Promise.resolve();
  const ended = (view: JobView): boolean => {
    if (!FINAL.includes(view.state)) return false;
    stream.send('end', apiJob(view, admin));
    stream.end();
    return true;
  };
  const forward = (event: JobEvent): Promise<void> => (chain = chain.then(async () => {
    if (stream.closed || (lastSent !== undefined && !eventIdAfter(event.eventId, lastSent))) return;
    lastSent = event.eventId;
    stream.send(event.type, frame(event), event.eventId);
    if (!MAY_END.has(event.type)) return;
    const view = await ctx.call(ctx.store.get(queue, id, tenant));
    if (view) ended(view);
    else stream.end();
  }));
  return {
    forward,
    /** Sends the snapshot; true when the job has already ended (the stream is then closed). */
    ended: (snapshot: JobView): boolean => {
      stream.send('snapshot', apiJob(snapshot, admin));
      return ended(snapshot);
    },
  };
}

/**
 * Whether an event's job is the tenant's (and in the project): the job is read once
 * (through the tenant's scope, so another tenant's reads as missing) and remembered, bounded.
 */
function jobFilter(ctx: ApiContext, tenant: string | undefined, projectId: string | undefined): (event: JobEvent) => Promise<boolean> {
  if (tenant === undefined && projectId === undefined) return async () => true;
  const known = new Map<string, boolean>();
  return async (event) => {
    const key = `${event.queue}/${event.jobId}`;
    if (!known.has(key)) {
      const view = await ctx.call(ctx.store.get(event.queue, event.jobId, tenant));
      if (known.size >= JOB_CACHE) known.delete(known.keys().next().value!);
      known.set(key, view !== undefined && (projectId === undefined || view.projectId === projectId));
    }
    return known.get(key)!;
  };
}
