// The job index: every job of a queue by creation time (so lists are newest first whatever
// BullMQ's order), and each project's jobs. Interface, Redis and PostgreSQL side by side.
import type { PgSide } from './pg.js';
import type { RedisSide } from './redis.js';

/** The creation index keeps the newest this many jobs of a queue. */
export const CREATED_INDEX_CAP = 100_000;
/** Trimming to the cap costs a scan: done on one write in a hundred, not on every one. */
const TRIM_CHANCE = 0.01;

export interface IndexEntry {
  id: string;
  createdAt: number;
}

export interface JobIndex {
  addCreated(queue: string, entries: IndexEntry[]): Promise<void>;
  /** Job ids, newest first. */
  listCreated(queue: string, offset: number, limit: number): Promise<string[]>;
  removeCreated(queue: string, ids: string[]): Promise<void>;

  addToProject(queue: string, projectId: string, entry: IndexEntry): Promise<void>;
  /** Job ids of a project, newest first. */
  listProject(queue: string, projectId: string, offset: number, limit: number): Promise<string[]>;
  removeFromProject(queue: string, projectId: string, ids: string[]): Promise<void>;
}

export function redisJobIndex({ client, key }: RedisSide): JobIndex {
  const created = (queue: string) => key('created', queue);
  const project = (queue: string, projectId: string) => key('project', queue, projectId);
  return {
    async addCreated(queue, entries) {
      if (entries.length === 0) return;
      await client.zadd(created(queue), ...entries.flatMap((e) => [e.createdAt, e.id]));
      if (Math.random() < TRIM_CHANCE) await client.zremrangebyrank(created(queue), 0, -(CREATED_INDEX_CAP + 1));
    },
    listCreated: (queue, offset, limit) => client.zrevrange(created(queue), offset, offset + limit - 1),
    async removeCreated(queue, ids) {
      if (ids.length > 0) await client.zrem(created(queue), ...ids);
    },
    async addToProject(queue, projectId, entry) {
      await client.zadd(project(queue, projectId), entry.createdAt, entry.id);
    },
    listProject: (queue, projectId, offset, limit) => client.zrevrange(project(queue, projectId), offset, offset + limit - 1),
    async removeFromProject(queue, projectId, ids) {
      if (ids.length > 0) await client.zrem(project(queue, projectId), ...ids);
    },
  };
}

export const JOB_INDEX_TABLES = `
CREATE TABLE IF NOT EXISTS jv_projects (queue text NOT NULL, project_id text NOT NULL, id text NOT NULL,
  created_at bigint NOT NULL, PRIMARY KEY (queue, id));
CREATE TABLE IF NOT EXISTS jv_created (queue text NOT NULL, id text NOT NULL, created_at bigint NOT NULL, PRIMARY KEY (queue, id));
CREATE INDEX IF NOT EXISTS jv_created_newest ON jv_created (queue, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jv_projects_by_project ON jv_projects (queue, project_id, created_at DESC);`;

export function pgJobIndex(db: PgSide): JobIndex {
  const ids = ({ rows }: { rows: { id: string }[] }) => rows.map((r) => r.id);
  return {
    async addCreated(queue, entries) {
      if (entries.length === 0) return;
      await db.query(
        'INSERT INTO jv_created (queue, id, created_at) SELECT $1, unnest($2::text[]), unnest($3::bigint[]) ON CONFLICT DO NOTHING',
        [queue, entries.map((e) => e.id), entries.map((e) => e.createdAt)]);
      if (Math.random() >= TRIM_CHANCE) return;
      await db.query(
        `DELETE FROM jv_created WHERE queue = $1 AND created_at < (
           SELECT created_at FROM jv_created WHERE queue = $1 ORDER BY created_at DESC OFFSET $2 LIMIT 1)`,
        [queue, CREATED_INDEX_CAP]);
    },
    listCreated: async (queue, offset, limit) => ids(await db.query<{ id: string }>(
      'SELECT id FROM jv_created WHERE queue = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT $3', [queue, offset, limit])),
    async removeCreated(queue, removed) {
      if (removed.length > 0) await db.query('DELETE FROM jv_created WHERE queue = $1 AND id = ANY($2)', [queue, removed]);
    },
    async addToProject(queue, projectId, entry) {
      await db.query(
        'INSERT INTO jv_projects (queue, project_id, id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [queue, projectId, entry.id, entry.createdAt]);
    },
    listProject: async (queue, projectId, offset, limit) => ids(await db.query<{ id: string }>(
      'SELECT id FROM jv_projects WHERE queue = $1 AND project_id = $2 ORDER BY created_at DESC, id DESC OFFSET $3 LIMIT $4',
      [queue, projectId, offset, limit])),
    async removeFromProject(queue, projectId, removed) {
      if (removed.length === 0) return;
      await db.query('DELETE FROM jv_projects WHERE queue = $1 AND project_id = $2 AND id = ANY($3)', [queue, projectId, removed]);
    },
  };
}
