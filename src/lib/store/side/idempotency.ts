// Idempotency keys of enqueue requests (`Idempotency-Key`), shared by every api copy: the first
// request with a key reserves it with the job id it will create, for 24 h; a later one finds that
// id. Interface, Redis and PostgreSQL side by side: they must agree.
import type { IdempotencyRecord } from '../types.js';
import type { PgSide } from './pg.js';
import type { RedisSide } from './redis.js';

export interface Idempotency {
  /** Reserves `key` for `record` unless a live reservation exists: then resolves with that one. */
  reserve(key: string, record: IdempotencyRecord, ttlMs: number): Promise<IdempotencyRecord | undefined>;
  /** Marks a reservation's job as created, keeping its expiry. */
  markCreated(key: string, record: IdempotencyRecord): Promise<void>;
}

export function redisIdempotency({ client, key }: RedisSide): Idempotency {
  return {
    async reserve(name, record, ttlMs) {
      const set = await client.set(key('idem', name), JSON.stringify(record), 'PX', ttlMs, 'NX');
      if (set === 'OK') return undefined;
      const existing = await client.get(key('idem', name));
      // Expired between the two calls: reserve again (at worst this answers with our own record).
      return existing ? (JSON.parse(existing) as IdempotencyRecord) : this.reserve(name, record, ttlMs);
    },
    async markCreated(name, record) {
      await client.set(key('idem', name), JSON.stringify({ ...record, created: true }), 'KEEPTTL', 'XX');
    },
  };
}

export const IDEMPOTENCY_TABLES = `
CREATE TABLE IF NOT EXISTS jv_idempotency (key text PRIMARY KEY, record jsonb NOT NULL, expires_at timestamptz NOT NULL);`;

export function pgIdempotency(db: PgSide): Idempotency {
  return {
    async reserve(name, record, ttlMs) {
      // Inserted, or an expired row taken over: ours. Otherwise the live row answers.
      const { rows } = await db.query<{ record: IdempotencyRecord; ours: boolean }>(
        `WITH taken AS (
           INSERT INTO jv_idempotency (key, record, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
           ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at
             WHERE jv_idempotency.expires_at < now()
           RETURNING record)
         SELECT record, true AS ours FROM taken
         UNION ALL SELECT record, false FROM jv_idempotency WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
        [name, JSON.stringify(record), ttlMs],
      );
      const row = rows[0];
      if (row) return row.ours ? undefined : row.record;
      // A racing reservation committed after this statement's snapshot: a new statement sees it.
      const again = await db.query<{ record: IdempotencyRecord }>('SELECT record FROM jv_idempotency WHERE key = $1', [name]);
      return again.rows[0]?.record;
    },
    async markCreated(name, record) {
      await db.query('UPDATE jv_idempotency SET record = $2 WHERE key = $1', [name, JSON.stringify({ ...record, created: true })]);
    },
  };
}
