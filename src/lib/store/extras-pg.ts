// Extras on PostgreSQL: four small tables in the deployment's schema, beside
// BullMQ's own. Created at connect; every statement is idempotent.
import pg from 'pg';
import { BUCKET_MS, BUCKETS_PER_MINUTE, type Extras, type Retention } from './extras.js';
import type { JobView, ProcessRecord } from './types.js';

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
CREATE INDEX IF NOT EXISTS jv_projects_by_project ON jv_projects (queue, project_id, created_at DESC);
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
    this.ready ??= this.migrate();
    await this.ready;
    return this.pool.query<R>(sql, params);
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      // One advisory lock so concurrent first starts do not race on CREATE.
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`jobvisor-extras:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await client.query(SCHEMA_SQL);
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`jobvisor-extras:${this.schema}`]);
      client.release();
    } catch (error) {
      this.ready = undefined;
      // Closed, not returned to the pool: a session that failed here (BullMQ's own migration can race
      // CREATE SCHEMA) would otherwise keep the advisory lock and block every later migration.
      client.release(error as Error);
      throw error;
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

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
