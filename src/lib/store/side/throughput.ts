// Throughput: finished jobs counted into 5-second buckets per queue, for "last minute" in
// queue stats. Interface, Redis and PostgreSQL side by side: they must agree.
import type { PgSide } from './pg.js';
import type { RedisSide } from './redis.js';

const BUCKET_MS = 5000;
const BUCKETS_PER_MINUTE = 12;
/** A bucket outlives the minute it counts in, so a reader at a bucket's edge still finds it. */
const KEEP_BUCKETS = 2 * BUCKETS_PER_MINUTE;

export interface Throughput {
  /** Count finished jobs into the current bucket; the consumer flushes once a second. */
  add(queue: string, completed: number, failed: number): Promise<void>;
  /** Jobs finished in the last 60 seconds (the last 12 buckets). */
  lastMinute(queue: string): Promise<{ completed: number; failed: number }>;
}

const bucketNow = () => Math.floor(Date.now() / BUCKET_MS);

export function redisThroughput({ client, key }: RedisSide): Throughput {
  const bucketKey = (queue: string, bucket: number) => key('tp', queue, String(bucket));
  return {
    async add(queue, completed, failed) {
      const bucket = bucketKey(queue, bucketNow());
      await client.multi().hincrby(bucket, 'c', completed).hincrby(bucket, 'f', failed).pexpire(bucket, KEEP_BUCKETS * BUCKET_MS).exec();
    },
    async lastMinute(queue) {
      const now = bucketNow();
      const pipeline = client.pipeline();
      for (let b = now - BUCKETS_PER_MINUTE + 1; b <= now; b++) pipeline.hmget(bucketKey(queue, b), 'c', 'f');
      let completed = 0;
      let failed = 0;
      for (const [, value] of (await pipeline.exec()) ?? []) {
        const [c, f] = (value as (string | null)[]) ?? [];
        completed += Number(c ?? 0);
        failed += Number(f ?? 0);
      }
      return { completed, failed };
    },
  };
}

export const THROUGHPUT_TABLES = `
CREATE TABLE IF NOT EXISTS jv_throughput (queue text NOT NULL, bucket bigint NOT NULL, completed int NOT NULL DEFAULT 0,
  failed int NOT NULL DEFAULT 0, PRIMARY KEY (queue, bucket));`;

export function pgThroughput(db: PgSide): Throughput {
  return {
    async add(queue, completed, failed) {
      const bucket = bucketNow();
      await db.query(
        `INSERT INTO jv_throughput (queue, bucket, completed, failed) VALUES ($1, $2, $3, $4)
         ON CONFLICT (queue, bucket) DO UPDATE SET completed = jv_throughput.completed + $3, failed = jv_throughput.failed + $4`,
        [queue, bucket, completed, failed]);
      // Once a minute, not on every flush: drop the buckets no reader needs any more.
      if (bucket % BUCKETS_PER_MINUTE === 0) {
        await db.query('DELETE FROM jv_throughput WHERE queue = $1 AND bucket < $2', [queue, bucket - KEEP_BUCKETS]);
      }
    },
    async lastMinute(queue) {
      const since = bucketNow() - BUCKETS_PER_MINUTE + 1;
      const { rows } = await db.query<{ c: string | null; f: string | null }>(
        'SELECT sum(completed) AS c, sum(failed) AS f FROM jv_throughput WHERE queue = $1 AND bucket >= $2', [queue, since]);
      return { completed: Number(rows[0]?.c ?? 0), failed: Number(rows[0]?.f ?? 0) };
    },
  };
}
