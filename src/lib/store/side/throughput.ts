// Throughput: finished jobs counted into 5-second buckets per queue, for "last minute" in
// queue stats, and a rolling mean of attempt durations per queue, for the estimated wait
// (README, "Estimated wait"). Interface, Redis and PostgreSQL side by side: they must agree.
import type { PgSide } from './pg.js';
import { execAll, type RedisSide } from './redis.js';

const BUCKET_MS = 5000;
const BUCKETS_PER_MINUTE = 12;
/** A bucket outlives the minute it counts in, so a reader at a bucket's edge still finds it. */
const KEEP_BUCKETS = 2 * BUCKETS_PER_MINUTE;

/**
 * A flush's attempts move the mean by count / MEAN_WINDOW of the way to their own mean
 * (all the way at MEAN_WINDOW or more): an exponential mean over roughly the last
 * MEAN_WINDOW attempts, kept in one number per queue whatever the volume.
 */
const MEAN_WINDOW = 20;

/** How long the attempts flushed together took: their summed duration and their number. */
export interface Durations {
  totalMs: number;
  count: number;
}

export interface Throughput {
  /** Count finished jobs into the current bucket and fold durations into the mean; the consumer flushes once a second. */
  add(queue: string, completed: number, failed: number, durations?: Durations): Promise<void>;
  /** Jobs finished in the last 60 seconds (the last 12 buckets). */
  lastMinute(queue: string): Promise<{ completed: number; failed: number }>;
  /** The rolling mean attempt duration in ms; null before any was recorded. */
  meanDuration(queue: string): Promise<number | null>;
}

/** One atomic read-modify-write of the mean, so two workers' flushes never lose one another. */
const FOLD_MEAN = `
local batch = tonumber(ARGV[1]) / tonumber(ARGV[2])
local weight = math.min(1, tonumber(ARGV[2]) / tonumber(ARGV[3]))
local mean = tonumber(redis.call('GET', KEYS[1]) or '')
if mean == nil then mean = batch else mean = mean + (batch - mean) * weight end
redis.call('SET', KEYS[1], tostring(mean))
return 1`;

const hasDurations = (d?: Durations): d is Durations => d !== undefined && d.count > 0;

const bucketNow = () => Math.floor(Date.now() / BUCKET_MS);

export function redisThroughput({ client, key }: RedisSide): Throughput {
  const bucketKey = (queue: string, bucket: number) => key('tp', queue, String(bucket));
  return {
    async add(queue, completed, failed, durations) {
      const bucket = bucketKey(queue, bucketNow());
      const multi = client.multi().hincrby(bucket, 'c', completed).hincrby(bucket, 'f', failed).pexpire(bucket, KEEP_BUCKETS * BUCKET_MS);
      if (hasDurations(durations)) multi.eval(FOLD_MEAN, 1, key('mean', queue), durations.totalMs, durations.count, MEAN_WINDOW);
      await execAll(multi);
    },
    async meanDuration(queue) {
      const mean = await client.get(key('mean', queue));
      return mean === null ? null : Number(mean);
    },
    async lastMinute(queue) {
      const now = bucketNow();
      const pipeline = client.pipeline();
      for (let b = now - BUCKETS_PER_MINUTE + 1; b <= now; b++) pipeline.hmget(bucketKey(queue, b), 'c', 'f');
      let completed = 0;
      let failed = 0;
      for (const value of await execAll(pipeline)) {
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
  failed int NOT NULL DEFAULT 0, PRIMARY KEY (queue, bucket));
CREATE TABLE IF NOT EXISTS jv_durations (queue text PRIMARY KEY, mean_ms double precision NOT NULL);`;

export function pgThroughput(db: PgSide): Throughput {
  return {
    async add(queue, completed, failed, durations) {
      const bucket = bucketNow();
      if (hasDurations(durations)) await foldMean(db, queue, durations);
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
    async meanDuration(queue) {
      const { rows } = await db.query<{ mean_ms: number }>('SELECT mean_ms FROM jv_durations WHERE queue = $1', [queue]);
      return rows[0] ? Number(rows[0].mean_ms) : null;
    },
  };
}

async function foldMean(db: PgSide, queue: string, { totalMs, count }: Durations): Promise<void> {
  await db.query(
    `INSERT INTO jv_durations (queue, mean_ms) VALUES ($1, $2::float8 / $3)
     ON CONFLICT (queue) DO UPDATE SET mean_ms = jv_durations.mean_ms + ($2::float8 / $3 - jv_durations.mean_ms) * LEAST(1, $3::float8 / $4)`,
    [queue, totalMs, count, MEAN_WINDOW]);
}
