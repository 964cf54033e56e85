// The index of every job of every queue by creation time, for the list across queues
// (README, "One list across queues"). Each entry carries what the list filters on that
// never changes (queue, name, tenant, project), so a page is found without reading a
// job; only its state is read, and only when a state is asked for. A position is
// `<created ms, 15 digits>|<queue>|<id>|<name>`: ordered as the list is, so it is also
// the cursor. Interface, Redis and PostgreSQL side by side.
import type { PgSide } from './pg.js';
import { execAll, type RedisSide } from './redis.js';

/** The newest this many entries are kept in the index of every job (one write in a hundred trims it). */
export const ALL_JOBS_CAP = 1_000_000;
const TRIM_CHANCE = 0.01;

export interface AllJobsEntry {
  queue: string;
  id: string;
  name: string;
  createdAt: number;
  tenant?: string;
  projectId?: string;
}

/** Which entries, newest first, strictly older than `before` (a position) and within the window. */
export interface AllJobsRange {
  tenant?: string;
  projectId?: string;
  before?: string;
  createdAfter?: number;
  createdBefore?: number;
}

export interface AllJobsIndex {
  add(entries: AllJobsEntry[]): Promise<void>;
  /** Up to `limit` entries in the range, newest first, each with its position. */
  list(range: AllJobsRange, limit: number): Promise<(AllJobsEntry & { position: string })[]>;
  /** Drops the positions (of jobs gone) from every index they were written to. */
  remove(entries: AllJobsEntry[]): Promise<void>;
}

const pad = (ms: number) => String(Math.max(0, Math.floor(ms))).padStart(15, '0');

export function positionOf(e: Pick<AllJobsEntry, 'createdAt' | 'queue' | 'id' | 'name'>): string {
  return `${pad(e.createdAt)}|${e.queue}|${e.id}|${e.name}`;
}

/** Queue names and job ids hold no `|` (ids are UUIDv7 or BullMQ scheduler ids); the name is the rest. */
export function parsePosition(position: string): Pick<AllJobsEntry, 'createdAt' | 'queue' | 'id' | 'name'> | undefined {
  const [created, queue, id, ...name] = position.split('|');
  if (!created || !/^\d{15}$/.test(created) || !queue || !id || name.length === 0) return undefined;
  return { createdAt: Number(created), queue, id, name: name.join('|') };
}

/** Tenant names hold no `:`, so the key of a tenant's project cannot meet another's. */
function redisKeys(key: RedisSide['key'], e: Pick<AllJobsEntry, 'tenant' | 'projectId'>): string[] {
  const keys = [key('all')];
  if (e.tenant !== undefined) keys.push(key('all', 't', e.tenant));
  if (e.projectId !== undefined) keys.push(key('all', 'p', e.projectId));
  if (e.tenant !== undefined && e.projectId !== undefined) keys.push(key('all', 'tp', e.tenant, e.projectId));
  return keys;
}

function redisRangeKey(key: RedisSide['key'], { tenant, projectId }: AllJobsRange): string {
  if (tenant !== undefined && projectId !== undefined) return key('all', 'tp', tenant, projectId);
  if (tenant !== undefined) return key('all', 't', tenant);
  return projectId !== undefined ? key('all', 'p', projectId) : key('all');
}

export function redisAllJobs({ client, key }: RedisSide): AllJobsIndex {
  return {
    async add(entries) {
      if (entries.length === 0) return;
      // One ZADD per key with all its members: a bulk of 500 is a few commands, not a thousand.
      const members = new Map<string, string[]>();
      for (const e of entries) {
        const position = positionOf(e);
        for (const k of redisKeys(key, e)) {
          const list = members.get(k);
          if (list) list.push('0', position);
          else members.set(k, ['0', position]);
        }
      }
      const batch = client.multi();
      for (const [k, list] of members) batch.zadd(k, ...list);
      if (Math.random() < TRIM_CHANCE) batch.zremrangebyrank(key('all'), 0, -(ALL_JOBS_CAP + 1));
      await execAll(batch);
    },
    async list(range, limit) {
      // Every member scores 0, so BYLEX orders them by position: newest first with REV.
      const max = range.before !== undefined ? `(${range.before}`
        : range.createdBefore !== undefined ? `(${pad(range.createdBefore)}` : '+';
      const min = range.createdAfter !== undefined ? `[${pad(range.createdAfter)}` : '-';
      const members = await client.zrange(redisRangeKey(key, range), max, min, 'BYLEX', 'REV', 'LIMIT', 0, limit);
      return members.flatMap((position) => {
        const parsed = parsePosition(position);
        if (!parsed || (range.createdBefore !== undefined && parsed.createdAt >= range.createdBefore)) return [];
        return [{ ...parsed, position, ...pick(range) }];
      });
    },
    async remove(entries) {
      if (entries.length === 0) return;
      const batch = client.multi();
      for (const e of entries) for (const k of redisKeys(key, e)) batch.zrem(k, positionOf(e));
      await execAll(batch);
    },
  };
}

/** What a range's key says of its entries: a Redis member holds no tenant or project of its own. */
function pick({ tenant, projectId }: AllJobsRange): Pick<AllJobsEntry, 'tenant' | 'projectId'> {
  return { ...(tenant !== undefined ? { tenant } : {}), ...(projectId !== undefined ? { projectId } : {}) };
}

export const ALL_JOBS_TABLES = `
CREATE TABLE IF NOT EXISTS jv_all (position text COLLATE "C" PRIMARY KEY, queue text NOT NULL, id text NOT NULL,
  name text NOT NULL, created_at bigint NOT NULL, tenant text, project_id text);
CREATE INDEX IF NOT EXISTS jv_all_by_tenant ON jv_all (tenant, position DESC);
CREATE INDEX IF NOT EXISTS jv_all_by_project ON jv_all (project_id, position DESC);
CREATE INDEX IF NOT EXISTS jv_all_by_tenant_project ON jv_all (tenant, project_id, position DESC);`;

interface AllRow {
  position: string;
  queue: string;
  id: string;
  name: string;
  created_at: string;
  tenant: string | null;
  project_id: string | null;
}

function pgWhere(range: AllJobsRange): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = ['true'];
  if (range.tenant !== undefined) where.push(`tenant = $${params.push(range.tenant)}`);
  if (range.projectId !== undefined) where.push(`project_id = $${params.push(range.projectId)}`);
  if (range.before !== undefined) where.push(`position < $${params.push(range.before)}`);
  if (range.createdBefore !== undefined) where.push(`position < $${params.push(pad(range.createdBefore))}`);
  if (range.createdAfter !== undefined) where.push(`position >= $${params.push(pad(range.createdAfter))}`);
  return { where: where.join(' AND '), params };
}

export function pgAllJobs(db: PgSide): AllJobsIndex {
  return {
    async add(entries) {
      if (entries.length === 0) return;
      const column = <K extends keyof AllJobsEntry>(k: K) => entries.map((e) => e[k] ?? null);
      await db.query(
        `INSERT INTO jv_all (position, queue, id, name, created_at, tenant, project_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[])
         ON CONFLICT DO NOTHING`,
        [entries.map(positionOf), column('queue'), column('id'), column('name'), column('createdAt'), column('tenant'), column('projectId')]);
      if (Math.random() >= TRIM_CHANCE) return;
      await db.query(`DELETE FROM jv_all WHERE position < (SELECT position FROM jv_all ORDER BY position DESC OFFSET $1 LIMIT 1)`, [ALL_JOBS_CAP]);
    },
    async list(range, limit) {
      const { where, params } = pgWhere(range);
      const { rows } = await db.query<AllRow>(
        `SELECT * FROM jv_all WHERE ${where} ORDER BY position DESC LIMIT $${params.length + 1}`, [...params, limit]);
      return rows.map((r) => ({
        position: r.position, queue: r.queue, id: r.id, name: r.name, createdAt: Number(r.created_at),
        ...(r.tenant !== null ? { tenant: r.tenant } : {}), ...(r.project_id !== null ? { projectId: r.project_id } : {}),
      }));
    },
    async remove(entries) {
      if (entries.length > 0) await db.query('DELETE FROM jv_all WHERE position = ANY($1)', [entries.map(positionOf)]);
    },
  };
}
