// The process registry: each worker's heartbeat, kept with a TTL, so any api copy lists the
// live workers of every host, and the silent ones for a while after. Interface, Redis and
// PostgreSQL side by side: they must agree.
//
// Every time here is the store's clock, never a reader's or a writer's: a worker is live while
// its last beat plus its TTL lies ahead of the store's now, and forgotten once its last beat lies
// `forgetMs` behind it. Hosts whose clocks drift apart a little still agree on who is silent.
import type { ProcessClaims, ProcessListing, ProcessRecord } from '../types.js';
import type { PgSide } from './pg.js';
import { execAll, type RedisSide } from './redis.js';

export interface ProcessRegistry {
  heartbeat(record: ProcessRecord, ttlMs: number): Promise<void>;
  /** A clean exit: the record goes at once, so its host never shows silent. */
  remove(id: string): Promise<void>;
  /**
   * The live records, and the silent ones (TTL past) last seen less than `forgetMs` ago, each
   * with `lastSeen`; older ones are dropped on the way.
   */
  list(forgetMs: number): Promise<ProcessListing>;
  /** What a worker holds, kept longer than its record: a dead worker's claims outlive its heartbeat. */
  claim(claims: ProcessClaims, ttlMs: number): Promise<void>;
  claimsOf(host: string): Promise<ProcessClaims[]>;
}

/** The store's clock in ms, inside a script: Redis 7 replicates a script's effects, so TIME is allowed before writes. */
const REDIS_NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: records (hash id → JSON), seen (zset id → last beat), expires (zset id → last beat + TTL). ARGV: id, JSON, TTL. */
const REDIS_BEAT = `${REDIS_NOW}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])`;

/** KEYS as above; ARGV: forgetMs. Returns now, then per record: JSON, last beat, expiry. */
const REDIS_LIST = `${REDIS_NOW}
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[1])))
for _, id in ipairs(old) do
  local expires = tonumber(redis.call('ZSCORE', KEYS[3], id) or '0')
  if expires < now then
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
  end
end
local seen = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
local out = { tostring(now) }
for i = 1, #seen, 2 do
  local record = redis.call('HGET', KEYS[1], seen[i])
  if record then
    table.insert(out, record)
    table.insert(out, seen[i + 1])
    table.insert(out, redis.call('ZSCORE', KEYS[3], seen[i]) or '0')
  end
end
return out`;

const byId = (a: ProcessRecord, b: ProcessRecord) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function redisRegistry({ client, key }: RedisSide): ProcessRegistry {
  // Not the `procs` set of earlier versions: during a rolling upgrade the two layouts must not collide.
  const keys = [key('registry'), key('registry-seen'), key('registry-expires')] as const;
  return {
    async heartbeat(record, ttlMs) {
      await client.eval(REDIS_BEAT, 3, ...keys, record.id, JSON.stringify(record), ttlMs);
    },
    async remove(id) {
      const host = id.split(':')[0]!;
      const [records, seen, expires] = keys;
      await execAll(client.multi().hdel(records, id).zrem(seen, id).zrem(expires, id)
        .del(key('claims', id)).srem(key('claims-of', host), id));
    },
    async list(forgetMs) {
      const [now, ...rest] = (await client.eval(REDIS_LIST, 3, ...keys, forgetMs)) as string[];
      const listing: ProcessListing = { live: [], silent: [] };
      for (let i = 0; i < rest.length; i += 3) {
        const record: ProcessRecord = { ...(JSON.parse(rest[i]!) as ProcessRecord), lastSeen: Number(rest[i + 1]) };
        (Number(rest[i + 2]) > Number(now) ? listing.live : listing.silent).push(record);
      }
      listing.live.sort(byId);
      listing.silent.sort(byId);
      return listing;
    },
    async claim(claims, ttlMs) {
      await execAll(client.multi()
        .set(key('claims', claims.id), JSON.stringify(claims), 'PX', ttlMs)
        .sadd(key('claims-of', claims.host), claims.id));
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
ALTER TABLE jv_processes ADD COLUMN IF NOT EXISTS last_seen timestamptz NOT NULL DEFAULT now();
CREATE TABLE IF NOT EXISTS jv_claims (id text PRIMARY KEY, host text NOT NULL, claims jsonb NOT NULL, expires_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS jv_claims_host ON jv_claims (host);`;

export function pgRegistry(db: PgSide): ProcessRegistry {
  return {
    async heartbeat(record, ttlMs) {
      await db.query(
        `INSERT INTO jv_processes (id, record, expires_at, last_seen) VALUES ($1, $2, now() + $3 * interval '1 millisecond', now())
         ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at, last_seen = EXCLUDED.last_seen`,
        [record.id, JSON.stringify(record), ttlMs],
      );
    },
    async remove(id) {
      await db.query('WITH gone AS (DELETE FROM jv_processes WHERE id = $1) DELETE FROM jv_claims WHERE id = $1', [id]);
    },
    async list(forgetMs) {
      const forgotten = `expires_at < now() AND last_seen < now() - $1 * interval '1 millisecond'`;
      await db.query(`DELETE FROM jv_processes WHERE ${forgotten}`, [forgetMs]);
      const { rows } = await db.query<{ record: ProcessRecord; last_seen: number; live: boolean }>(
        `SELECT record, (extract(epoch FROM last_seen) * 1000)::float8 AS last_seen, expires_at >= now() AS live
         FROM jv_processes WHERE NOT (${forgotten}) ORDER BY id`, [forgetMs]);
      const listing: ProcessListing = { live: [], silent: [] };
      for (const row of rows) (row.live ? listing.live : listing.silent).push({ ...row.record, lastSeen: Math.round(row.last_seen) });
      return listing;
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
