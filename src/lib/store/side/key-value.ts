// Handlers' own small durable state (Store.getValue / setValue, a sync cursor), kept as
// JSON text. Interface, Redis and PostgreSQL side by side: they must agree.
import type { PgSide } from './pg.js';
import type { RedisSide } from './redis.js';

export interface KeyValue {
  get(key: string): Promise<string | undefined>;
  set(key: string, json: string): Promise<void>;
}

export function redisKeyValue({ client, key }: RedisSide): KeyValue {
  return {
    get: async (name) => (await client.get(key('kv', name))) ?? undefined,
    async set(name, json) {
      await client.set(key('kv', name), json);
    },
  };
}

export const KEY_VALUE_TABLES = `
CREATE TABLE IF NOT EXISTS jv_kv (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());`;

export function pgKeyValue(db: PgSide): KeyValue {
  return {
    async get(key) {
      const { rows } = await db.query<{ value: string }>('SELECT value::text AS value FROM jv_kv WHERE key = $1', [key]);
      return rows[0]?.value;
    },
    async set(key, json) {
      await db.query(
        `INSERT INTO jv_kv (key, value) VALUES ($1, $2::jsonb)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, [key, json]);
    },
  };
}
