// The job index: every job of a queue by creation time (so lists are newest first whatever
// BullMQ's order), each tenant's jobs, and each project's jobs (across tenants, and within
// one). A tenant's list reads its own index, so its cost does not grow with other tenants'
// jobs. Interface, Redis and PostgreSQL side by side.
import { DEFAULT_TENANT } from '../../tenants.js';
import type { PgSide } from './pg.js';
import { execAll, type RedisSide } from './redis.js';

/** The creation index keeps the newest this many jobs of a queue. */
export const CREATED_INDEX_CAP = 100_000;
/** Trimming to the cap costs a scan: done on one write in a hundred, not on every one. */
const TRIM_CHANCE = 0.01;

export interface IndexEntry {
  id: string;
  createdAt: number;
  tenant: string;
}

/** Which jobs of a queue an index lists; `tenant` unset: every tenant's. */
export interface IndexScope {
  queue: string;
  tenant?: string;
  projectId?: string;
}

export interface JobIndex {
  /** Into the queue's index and its tenant's. */
  addCreated(queue: string, entries: IndexEntry[]): Promise<void>;
  addToProject(queue: string, projectId: string, entry: IndexEntry): Promise<void>;
  /** Job ids in the scope, newest first. */
  list(scope: IndexScope, offset: number, limit: number): Promise<string[]>;
  /** Drops ids (of jobs gone) from the scope's index. */
  remove(scope: IndexScope, ids: string[]): Promise<void>;
}

/** Tenant names hold no `:` (src/lib/tenants.ts), so a tenant's keys cannot meet another's. */
function redisKeyOf(key: RedisSide['key'], { queue, tenant, projectId }: IndexScope): string {
  if (projectId !== undefined) return tenant === undefined ? key('project', queue, projectId) : key('tproject', queue, tenant, projectId);
  return tenant === undefined ? key('created', queue) : key('tenant', queue, tenant);
}

export function redisJobIndex({ client, key }: RedisSide): JobIndex {
  const keyOf = (scope: IndexScope) => redisKeyOf(key, scope);
  return {
    async addCreated(queue, entries) {
      if (entries.length === 0) return;
      // One ZADD per key: the queue's, and each tenant's (whose key is made once per tenant, not per job).
      const all: (string | number)[] = [];
      const byTenant = new Map<string, (string | number)[]>();
      for (const e of entries) {
        all.push(e.createdAt, e.id);
        const list = byTenant.get(e.tenant);
        if (list) list.push(e.createdAt, e.id);
        else byTenant.set(e.tenant, [e.createdAt, e.id]);
      }
      const members = new Map([[keyOf({ queue }), all], ...[...byTenant].map(([tenant, list]) => [keyOf({ queue, tenant }), list] as const)]);
      // A pipeline, not a MULTI: the sets need not change together (a list drops an id whose job is gone).
      const batch = client.pipeline();
      for (const [k, list] of members) batch.zadd(k, ...list);
      await execAll(batch);
      if (Math.random() < TRIM_CHANCE) await Promise.all([...members.keys()].map((k) => client.zremrangebyrank(k, 0, -(CREATED_INDEX_CAP + 1))));
    },
    async addToProject(queue, projectId, entry) {
      await execAll(client.pipeline()
        .zadd(keyOf({ queue, projectId }), entry.createdAt, entry.id)
        .zadd(keyOf({ queue, projectId, tenant: entry.tenant }), entry.createdAt, entry.id));
    },
    list: (scope, offset, limit) => client.zrevrange(keyOf(scope), offset, offset + limit - 1),
    async remove(scope, ids) {
      if (ids.length > 0) await client.zrem(keyOf(scope), ...ids);
    },
  };
}

// Rows from before tenants take the default tenant: every job then was the default tenant's.
export const JOB_INDEX_TABLES = `
CREATE TABLE IF NOT EXISTS jv_projects (queue text NOT NULL, project_id text NOT NULL, id text NOT NULL,
  created_at bigint NOT NULL, PRIMARY KEY (queue, id));
CREATE TABLE IF NOT EXISTS jv_created (queue text NOT NULL, id text NOT NULL, created_at bigint NOT NULL, PRIMARY KEY (queue, id));
ALTER TABLE jv_projects ADD COLUMN IF NOT EXISTS tenant text NOT NULL DEFAULT '${DEFAULT_TENANT}';
ALTER TABLE jv_created ADD COLUMN IF NOT EXISTS tenant text NOT NULL DEFAULT '${DEFAULT_TENANT}';
CREATE INDEX IF NOT EXISTS jv_created_newest ON jv_created (queue, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jv_created_by_tenant ON jv_created (queue, tenant, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jv_projects_by_project ON jv_projects (queue, project_id, created_at DESC);
CREATE INDEX IF NOT EXISTS jv_projects_by_tenant ON jv_projects (queue, tenant, project_id, created_at DESC);`;

/** The rows of a scope, as a WHERE clause over `$1` (the queue) and the parameters after it. */
function pgWhere({ queue, tenant, projectId }: IndexScope): { table: string; where: string; params: unknown[] } {
  const params: unknown[] = [queue];
  const where = ['queue = $1'];
  if (tenant !== undefined) where.push(`tenant = $${params.push(tenant)}`);
  if (projectId !== undefined) where.push(`project_id = $${params.push(projectId)}`);
  return { table: projectId === undefined ? 'jv_created' : 'jv_projects', where: where.join(' AND '), params };
}

export function pgJobIndex(db: PgSide): JobIndex {
  const ids = ({ rows }: { rows: { id: string }[] }) => rows.map((r) => r.id);
  return {
    async addCreated(queue, entries) {
      if (entries.length === 0) return;
      await db.query(
        `INSERT INTO jv_created (queue, id, created_at, tenant)
         SELECT $1, unnest($2::text[]), unnest($3::bigint[]), unnest($4::text[]) ON CONFLICT DO NOTHING`,
        [queue, entries.map((e) => e.id), entries.map((e) => e.createdAt), entries.map((e) => e.tenant)]);
      if (Math.random() >= TRIM_CHANCE) return;
      await db.query(
        `DELETE FROM jv_created WHERE queue = $1 AND created_at < (
           SELECT created_at FROM jv_created WHERE queue = $1 ORDER BY created_at DESC OFFSET $2 LIMIT 1)`,
        [queue, CREATED_INDEX_CAP]);
    },
    async addToProject(queue, projectId, entry) {
      await db.query(
        'INSERT INTO jv_projects (queue, project_id, id, created_at, tenant) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [queue, projectId, entry.id, entry.createdAt, entry.tenant]);
    },
    async list(scope, offset, limit) {
      const { table, where, params } = pgWhere(scope);
      const n = params.length;
      return ids(await db.query<{ id: string }>(
        `SELECT id FROM ${table} WHERE ${where} ORDER BY created_at DESC, id DESC OFFSET $${n + 1} LIMIT $${n + 2}`, [...params, offset, limit]));
    },
    async remove(scope, removed) {
      if (removed.length === 0) return;
      const { table, where, params } = pgWhere(scope);
      await db.query(`DELETE FROM ${table} WHERE ${where} AND id = ANY($${params.length + 1})`, [...params, removed]);
    },
  };
}
