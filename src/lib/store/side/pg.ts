// Shared PostgreSQL plumbing for the side data: one small pool per store, and one
// migration, run before the first query, that creates every concern's tables.
import pg from 'pg';

export interface PgSide {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A fail-fast pool (the api's) gives up connecting after this long. */
export const FAIL_FAST_CONNECT_MS = 2000;

/** `tables`: each concern's idempotent DDL (CREATE … IF NOT EXISTS), run in this order. */
export function openPgSide(connectionString: string, schema: string, tables: string[], failFast = false): PgSide {
  const pool = new pg.Pool({ connectionString, max: 4, options: `-c search_path=${schema}`, ...(failFast ? { connectionTimeoutMillis: FAIL_FAST_CONNECT_MS } : {}) });
  pool.on('error', () => {}); // an idle client's error surfaces on the next query instead
  let ready: Promise<void> | undefined;
  return {
    async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      ready ??= migrate(pool, schema, tables.join('\n')).catch((error: unknown) => {
        ready = undefined; // unreachable now (a server still starting): the next query tries again
        throw error;
      });
      await ready;
      return pool.query<R>(sql, params);
    },
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: async () => {
      await pool.end().catch(() => {});
    },
  };
}

async function migrate(pool: pg.Pool, schema: string, ddl: string): Promise<void> {
  const client = await pool.connect();
  // A checked-out client that loses its server emits 'error'; with no listener that kills the process.
  const ignore = () => {};
  client.on('error', ignore);
  // The key predates the split into concerns: processes of either version still serialize on it.
  const key = `jobvisor-extras:${schema}`;
  let failure: Error | undefined;
  try {
    // One advisory lock so concurrent first starts do not race on CREATE.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await client.query(ddl);
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
