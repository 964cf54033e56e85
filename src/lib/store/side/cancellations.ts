// Cancellation, which BullMQ has no state for: requests that reach running jobs, and the
// record of cancelled jobs. Interface, Redis and PostgreSQL side by side: they must agree.
import { DEFAULT_TENANT } from '../../tenants.js';
import type { JobView } from '../types.js';

/** A view archived before tenants has none: it was the default tenant's. */
const withTenant = (view: JobView): JobView => ({ ...view, tenant: view.tenant ?? DEFAULT_TENANT });
import type { PgSide } from './pg.js';
import { execAll, type RedisSide } from './redis.js';

export interface Retention {
  count: number;
  ageSeconds: number;
}

/** Requests that reach running jobs: the worker holding the job polls for them. */
interface CancelRequests {
  /** Ask the worker running this job to abort it. */
  request(queue: string, id: string): Promise<void>;
  /** Which of these job ids have a cancel request pending. */
  requested(queue: string, ids: string[]): Promise<string[]>;
  clearRequest(queue: string, id: string): Promise<void>;
}

/** Cancelled jobs, which leave BullMQ: their last view, kept like failed jobs. */
interface CancelledRecord {
  /** Keep the view of a cancelled job (it leaves BullMQ), within the retention. */
  archive(view: JobView, retention: Retention): Promise<void>;
  archived(queue: string, id: string): Promise<JobView | undefined>;
  /** Newest first. */
  listArchived(queue: string, offset: number, limit: number): Promise<JobView[]>;
  countArchived(queue: string): Promise<number>;
  unarchive(queue: string, id: string): Promise<void>;
}

export interface Cancellations extends CancelRequests, CancelledRecord {}

export function redisCancellations(redis: RedisSide): Cancellations {
  return { ...redisRequests(redis), ...redisRecord(redis) };
}

function redisRequests({ client, key }: RedisSide): CancelRequests {
  const requests = (queue: string) => key('cancelreq', queue);
  return {
    async request(queue, id) {
      await client.sadd(requests(queue), id);
    },
    async requested(queue, ids) {
      if (ids.length === 0) return [];
      const flags = await client.smismember(requests(queue), ...ids);
      return ids.filter((_, i) => flags[i] === 1);
    },
    async clearRequest(queue, id) {
      await client.srem(requests(queue), id);
    },
  };
}

function redisRecord({ client, key }: RedisSide): CancelledRecord {
  const views = (queue: string) => key('cancelled', queue);
  const newest = (queue: string) => key('cancelled-idx', queue);
  return {
    async archive(view, retention) {
      const now = Date.now();
      await execAll(client.multi().hset(views(view.queue), view.id, JSON.stringify(view)).zadd(newest(view.queue), now, view.id));
      const stale = [
        ...(await client.zrangebyscore(newest(view.queue), 0, now - retention.ageSeconds * 1000)),
        ...(await client.zrevrange(newest(view.queue), retention.count, -1)),
      ];
      if (stale.length > 0) await execAll(client.multi().zrem(newest(view.queue), ...stale).hdel(views(view.queue), ...stale));
    },
    async archived(queue, id) {
      const raw = await client.hget(views(queue), id);
      return raw ? withTenant(JSON.parse(raw) as JobView) : undefined;
    },
    async listArchived(queue, offset, limit) {
      if (limit <= 0) return [];
      const ids = await client.zrevrange(newest(queue), offset, offset + limit - 1);
      if (ids.length === 0) return [];
      const raws = await client.hmget(views(queue), ...ids);
      return raws.filter((r): r is string => r !== null).map((r) => withTenant(JSON.parse(r) as JobView));
    },
    countArchived: (queue) => client.zcard(newest(queue)),
    async unarchive(queue, id) {
      await execAll(client.multi().zrem(newest(queue), id).hdel(views(queue), id));
    },
  };
}

export const CANCELLATION_TABLES = `
CREATE TABLE IF NOT EXISTS jv_cancel_requests (queue text NOT NULL, id text NOT NULL, PRIMARY KEY (queue, id));
CREATE TABLE IF NOT EXISTS jv_cancelled (queue text NOT NULL, id text NOT NULL, at timestamptz NOT NULL DEFAULT now(),
  view jsonb NOT NULL, PRIMARY KEY (queue, id));
CREATE INDEX IF NOT EXISTS jv_cancelled_at ON jv_cancelled (queue, at DESC);`;

export function pgCancellations(db: PgSide): Cancellations {
  return { ...pgRequests(db), ...pgRecord(db) };
}

function pgRequests(db: PgSide): CancelRequests {
  return {
    async request(queue, id) {
      await db.query('INSERT INTO jv_cancel_requests (queue, id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [queue, id]);
    },
    async requested(queue, ids) {
      if (ids.length === 0) return [];
      const { rows } = await db.query<{ id: string }>(
        'SELECT id FROM jv_cancel_requests WHERE queue = $1 AND id = ANY($2)', [queue, ids]);
      return rows.map((r) => r.id);
    },
    async clearRequest(queue, id) {
      await db.query('DELETE FROM jv_cancel_requests WHERE queue = $1 AND id = $2', [queue, id]);
    },
  };
}

function pgRecord(db: PgSide): CancelledRecord {
  return {
    async archive(view, retention) {
      await db.query(
        `INSERT INTO jv_cancelled (queue, id, view) VALUES ($1, $2, $3)
         ON CONFLICT (queue, id) DO UPDATE SET view = EXCLUDED.view, at = now()`,
        [view.queue, view.id, JSON.stringify(view)]);
      await db.query(
        `DELETE FROM jv_cancelled WHERE queue = $1 AND (at < now() - $2 * interval '1 second' OR id IN (
           SELECT id FROM jv_cancelled WHERE queue = $1 ORDER BY at DESC OFFSET $3))`,
        [view.queue, retention.ageSeconds, retention.count]);
    },
    async archived(queue, id) {
      const { rows } = await db.query<{ view: JobView }>('SELECT view FROM jv_cancelled WHERE queue = $1 AND id = $2', [queue, id]);
      return rows[0] && withTenant(rows[0].view);
    },
    async listArchived(queue, offset, limit) {
      if (limit <= 0) return [];
      const { rows } = await db.query<{ view: JobView }>(
        'SELECT view FROM jv_cancelled WHERE queue = $1 ORDER BY at DESC OFFSET $2 LIMIT $3', [queue, offset, limit]);
      return rows.map((r) => withTenant(r.view));
    },
    async countArchived(queue) {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM jv_cancelled WHERE queue = $1', [queue]);
      return Number(rows[0]?.n ?? 0);
    },
    async unarchive(queue, id) {
      await db.query('DELETE FROM jv_cancelled WHERE queue = $1 AND id = $2', [queue, id]);
    },
  };
}
