// The process registry: each worker's heartbeat, kept with a TTL, so any api copy lists the
// live workers of every host. Interface, Redis and PostgreSQL side by side: they must agree.
import type { ProcessClaims, ProcessRecord } from '../types.js';
import type { PgSide } from './pg.js';
import type { RedisSide } from './redis.js';

export interface ProcessRegistry {
  heartbeat(record: ProcessRecord, ttlMs: number): Promise<void>;
  remove(id: string): Promise<void>;
  /** The records whose heartbeat has not expired; expired ones are dropped on the way. */
  list(): Promise<ProcessRecord[]>;
  /** What a worker holds, kept longer than its record: a dead worker's claims outlive its heartbeat. */
  claim(claims: ProcessClaims, ttlMs: number): Promise<void>;
  claimsOf(host: string): Promise<ProcessClaims[]>;
}

export function redisRegistry({ client, key }: RedisSide): ProcessRegistry {
  return {
    async heartbeat(record, ttlMs) {
      await client.multi()
        .set(key('proc', record.id), JSON.stringify(record), 'PX', ttlMs)
        .sadd(key('procs'), record.id)
        .exec();
    },
    async remove(id) {
      const host = id.split(':')[0]!;
      await client.multi().del(key('proc', id)).srem(key('procs'), id).del(key('claims', id)).srem(key('claims-of', host), id).exec();
    },
    async list() {
      const ids = await client.smembers(key('procs'));
      if (ids.length === 0) return [];
      const values = await client.mget(ids.map((id) => key('proc', id)));
      const expired = ids.filter((_, i) => values[i] === null);
      if (expired.length > 0) await client.srem(key('procs'), ...expired);
      return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as ProcessRecord);
    },
    async claim(claims, ttlMs) {
      await client.multi()
        .set(key('claims', claims.id), JSON.stringify(claims), 'PX', ttlMs)
        .sadd(key('claims-of', claims.host), claims.id)
        .exec();
    },
    async claimsOf(host) {
      const ids = await client.smembers(key('claims-of', host));
      if (ids.length === 0) return [];
      const values = await client.mget(ids.map((id) => key('claims', id)));
      const expired = ids.filter((_, i) => values[i] === null);
      if (expired.length > 0) await client.srem(key('claims-of', host), ...expired);
      return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as ProcessClaims);
    },
  };
}

export const REGISTRY_TABLES = `
CREATE TABLE IF NOT EXISTS jv_processes (id text PRIMARY KEY, record jsonb NOT NULL, expires_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS jv_claims (id text PRIMARY KEY, host text NOT NULL, claims jsonb NOT NULL, expires_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS jv_claims_host ON jv_claims (host);`;

export function pgRegistry(db: PgSide): ProcessRegistry {
  return {
    async heartbeat(record, ttlMs) {
      await db.query(
        `INSERT INTO jv_processes (id, record, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`,
        [record.id, JSON.stringify(record), ttlMs],
      );
    },
    async remove(id) {
      await db.query('WITH gone AS (DELETE FROM jv_processes WHERE id = $1) DELETE FROM jv_claims WHERE id = $1', [id]);
    },
    async list() {
      await db.query('DELETE FROM jv_processes WHERE expires_at < now()');
      const { rows } = await db.query<{ record: ProcessRecord }>('SELECT record FROM jv_processes ORDER BY id');
      return rows.map((r) => r.record);
    },
    async claim(claims, ttlMs) {
      await db.query(
        `INSERT INTO jv_claims (id, host, claims, expires_at) VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET claims = EXCLUDED.claims, expires_at = EXCLUDED.expires_at`,
        [claims.id, claims.host, JSON.stringify(claims), ttlMs],
      );
    },
    async claimsOf(host) {
      await db.query('DELETE FROM jv_claims WHERE expires_at < now()');
      const { rows } = await db.query<{ claims: ProcessClaims }>('SELECT claims FROM jv_claims WHERE host = $1 ORDER BY id', [host]);
      return rows.map((r) => r.claims);
    },
  };
}
