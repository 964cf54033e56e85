// Extras on PostgreSQL: five small tables in the deployment's schema, beside
// BullMQ's own. Created at connect; every statement is idempotent.
import pg from 'pg';
import { BUCKET_MS, BUCKETS_PER_MINUTE, CREATED_INDEX_CAP, type Extras, type Retention, type ScheduleRun } from './extras.js';
import type { JobView, ProcessRecord, ScheduleRecord } from './types.js';

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS jv_processes (id text PRIMARY KEY, record jsonb NOT NULL, expires_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS jv_cancel_requests (queue text NOT NULL, id text NOT NULL, PRIMARY KEY (queue, id));
CREATE TABLE IF NOT EXISTS jv_cancelled (queue text NOT NULL, id text NOT NULL, at timestamptz NOT NULL DEFAULT now(),
  view jsonb NOT NULL, PRIMARY KEY (queue, id));
CREATE INDEX IF NOT EXISTS jv_cancelled_at ON jv_cancelled (queue, at DESC);
CREATE TABLE IF NOT EXISTS jv_projects (queue text NOT NULL, project_id text NOT NULL, id text NOT NULL,
  created_at bigint NOT NULL, PRIMARY KEY (queue, id));
CREATE TABLE IF NOT EXISTS jv_throughput (queue text NOT NULL, bucket bigint NOT NULL, completed int NOT NULL DEFAULT 0,
  failed int NOT NULL DEFAULT 0, PRIMARY KEY (queue, bucket));
CREATE TABLE IF NOT EXISTS jv_kv (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS jv_created (queue text NOT NULL, id text NOT NULL, created_at bigint NOT NULL, PRIMARY KEY (queue, id));
CREATE INDEX IF NOT EXISTS jv_created_newest ON jv_created (queue, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jv_projects_by_project ON jv_projects (queue, project_id, created_at DESC);
CREATE TABLE IF NOT EXISTS jv_schedules (name text PRIMARY KEY, record jsonb NOT NULL, last_run jsonb);
`;

export class PgExtras implements Extras {
  private ready?: Promise<void>;

  constructor(private readonly pool: pg.Pool, private readonly schema: string) {}

  static create(connectionString: string, schema: string): PgExtras {
    const pool = new pg.Pool({ connectionString, max: 4, options: `-c search_path=${schema}` });
    pool.on('error', () => {}); // an idle client's error surfaces on the next query instead
    return new PgExtras(pool, schema);
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.ready ??= this.migrate().catch((error: unknown) => {
      this.ready = undefined; // unreachable now (a server still starting): the next query tries again
      throw error;
    });
    await this.ready;
    return this.pool.query<R>(sql, params);
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    // A checked-out client that loses its server emits 'error'; with no listener that kills the process.
    const ignore = () => {};
    client.on('error', ignore);
    const key = `jobvisor-extras:${this.schema}`;
    let failure: Error | undefined;
    try {
      // One advisory lock so concurrent first starts do not race on CREATE.
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
        await client.query(SCHEMA_SQL);
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
      }
    } catch (error) {
      // Closed, not returned to the pool: a session that failed here must not keep the advisory lock.
      failure = error as Error;
      throw error;
    } finally {
      client.off('error', ignore);
      client.release(failure);
    }
  }

  async heartbeat(record: ProcessRecord, ttlMs: number): Promise<void> {
    await this.query(
      `INSERT INTO jv_processes (id, record, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`,
      [record.id, JSON.stringify(record), ttlMs],
    );
  }

  async removeProcess(id: string): Promise<void> {
    await this.query('DELETE FROM jv_processes WHERE id = $1', [id]);
  }

  async listProcesses(): Promise<ProcessRecord[]> {
    await this.query('DELETE FROM jv_processes WHERE expires_at < now()');
    const { rows } = await this.query<{ record: ProcessRecord }>('SELECT record FROM jv_processes ORDER BY id');
    return rows.map((r) => r.record);
  }

  async requestCancel(queue: string, id: string): Promise<void> {
    await this.query('INSERT INTO jv_cancel_requests (queue, id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [queue, id]);
  }

  async cancelRequested(queue: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.query<{ id: string }>(
      'SELECT id FROM jv_cancel_requests WHERE queue = $1 AND id = ANY($2)', [queue, ids]);
    return rows.map((r) => r.id);
  }

  async clearCancel(queue: string, id: string): Promise<void> {
    await this.query('DELETE FROM jv_cancel_requests WHERE queue = $1 AND id = $2', [queue, id]);
  }

  async archiveCancelled(view: JobView, retention: Retention): Promise<void> {
    await this.query(
      `INSERT INTO jv_cancelled (queue, id, view) VALUES ($1, $2, $3)
       ON CONFLICT (queue, id) DO UPDATE SET view = EXCLUDED.view, at = now()`,
      [view.queue, view.id, JSON.stringify(view)],
    );
    await this.query(
      `DELETE FROM jv_cancelled WHERE queue = $1 AND (at < now() - $2 * interval '1 second' OR id IN (
         SELECT id FROM jv_cancelled WHERE queue = $1 ORDER BY at DESC OFFSET $3))`,
      [view.queue, retention.ageSeconds, retention.count],
    );
  }

  async getCancelled(queue: string, id: string): Promise<JobView | undefined> {
    const { rows } = await this.query<{ view: JobView }>('SELECT view FROM jv_cancelled WHERE queue = $1 AND id = $2', [queue, id]);
    return rows[0]?.view;
  }

  async listCancelled(queue: string, offset: number, limit: number): Promise<JobView[]> {
    if (limit <= 0) return [];
    const { rows } = await this.query<{ view: JobView }>(
      'SELECT view FROM jv_cancelled WHERE queue = $1 ORDER BY at DESC OFFSET $2 LIMIT $3', [queue, offset, limit]);
    return rows.map((r) => r.view);
  }

  async countCancelled(queue: string): Promise<number> {
    const { rows } = await this.query<{ n: string }>('SELECT count(*) AS n FROM jv_cancelled WHERE queue = $1', [queue]);
    return Number(rows[0]?.n ?? 0);
  }

  async deleteCancelled(queue: string, id: string): Promise<void> {
    await this.query('DELETE FROM jv_cancelled WHERE queue = $1 AND id = $2', [queue, id]);
  }

  async indexCreated(queue: string, entries: { id: string; createdAt: number }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.query(
      `INSERT INTO jv_created (queue, id, created_at) SELECT $1, unnest($2::text[]), unnest($3::bigint[]) ON CONFLICT DO NOTHING`,
      [queue, entries.map((e) => e.id), entries.map((e) => e.createdAt)]);
    if (Math.random() < 0.01) {
      // Now and then, not on every enqueue: drop what lies beyond the newest CREATED_INDEX_CAP.
      await this.query(
        `DELETE FROM jv_created WHERE queue = $1 AND created_at < (
           SELECT created_at FROM jv_created WHERE queue = $1 ORDER BY created_at DESC OFFSET $2 LIMIT 1)`,
        [queue, CREATED_INDEX_CAP]);
    }
  }

  async listCreated(queue: string, offset: number, limit: number): Promise<string[]> {
    const { rows } = await this.query<{ id: string }>(
      'SELECT id FROM jv_created WHERE queue = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT $3', [queue, offset, limit]);
    return rows.map((r) => r.id);
  }

  async unindexCreated(queue: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.query('DELETE FROM jv_created WHERE queue = $1 AND id = ANY($2)', [queue, ids]);
  }

  async indexProject(queue: string, projectId: string, id: string, createdAt: number): Promise<void> {
    await this.query(
      `INSERT INTO jv_projects (queue, project_id, id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [queue, projectId, id, createdAt]);
  }

  async listProject(queue: string, projectId: string, offset: number, limit: number): Promise<string[]> {
    const { rows } = await this.query<{ id: string }>(
      `SELECT id FROM jv_projects WHERE queue = $1 AND project_id = $2 ORDER BY created_at DESC, id DESC OFFSET $3 LIMIT $4`,
      [queue, projectId, offset, limit]);
    return rows.map((r) => r.id);
  }

  async unindexProject(queue: string, projectId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.query('DELETE FROM jv_projects WHERE queue = $1 AND project_id = $2 AND id = ANY($3)', [queue, projectId, ids]);
  }

  async addThroughput(queue: string, completed: number, failed: number): Promise<void> {
    const bucket = Math.floor(Date.now() / BUCKET_MS);
    await this.query(
      `INSERT INTO jv_throughput (queue, bucket, completed, failed) VALUES ($1, $2, $3, $4)
       ON CONFLICT (queue, bucket) DO UPDATE SET completed = jv_throughput.completed + $3, failed = jv_throughput.failed + $4`,
      [queue, bucket, completed, failed]);
    if (bucket % BUCKETS_PER_MINUTE === 0) {
      await this.query('DELETE FROM jv_throughput WHERE queue = $1 AND bucket < $2', [queue, bucket - 2 * BUCKETS_PER_MINUTE]);
    }
  }

  async lastMinute(queue: string): Promise<{ completed: number; failed: number }> {
    const since = Math.floor(Date.now() / BUCKET_MS) - BUCKETS_PER_MINUTE + 1;
    const { rows } = await this.query<{ c: string | null; f: string | null }>(
      'SELECT sum(completed) AS c, sum(failed) AS f FROM jv_throughput WHERE queue = $1 AND bucket >= $2', [queue, since]);
    return { completed: Number(rows[0]?.c ?? 0), failed: Number(rows[0]?.f ?? 0) };
  }

  async saveSchedule(record: ScheduleRecord): Promise<void> {
    await this.query(
      'INSERT INTO jv_schedules (name, record) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record',
      [record.name, JSON.stringify(record)]);
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    const { rows } = await this.query<{ record: ScheduleRecord }>('SELECT record FROM jv_schedules ORDER BY name');
    return rows.map((r) => r.record);
  }

  async deleteSchedule(name: string): Promise<void> {
    await this.query('DELETE FROM jv_schedules WHERE name = $1', [name]);
  }

  async recordScheduleRun(name: string, run: ScheduleRun): Promise<void> {
    await this.query('UPDATE jv_schedules SET last_run = $2 WHERE name = $1', [name, JSON.stringify(run)]);
  }

  async scheduleRuns(): Promise<Map<string, ScheduleRun>> {
    const { rows } = await this.query<{ name: string; last_run: ScheduleRun }>(
      'SELECT name, last_run FROM jv_schedules WHERE last_run IS NOT NULL');
    return new Map(rows.map((r) => [r.name, r.last_run]));
  }

  async getValue(key: string): Promise<string | undefined> {
    const { rows } = await this.query<{ value: string }>('SELECT value::text AS value FROM jv_kv WHERE key = $1', [key]);
    return rows[0]?.value;
  }

  async setValue(key: string, json: string): Promise<void> {
    await this.query(
      `INSERT INTO jv_kv (key, value) VALUES ($1, $2::jsonb)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, [key, json]);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
