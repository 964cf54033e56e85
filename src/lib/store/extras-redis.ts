// Extras on Redis: plain keys under the deployment's prefix, beside BullMQ's own.
import { Redis } from 'ioredis';
import { BUCKET_MS, BUCKETS_PER_MINUTE, CREATED_INDEX_CAP, type Extras, type Retention, type ScheduleRun } from './extras.js';
import type { JobView, ProcessRecord, ScheduleRecord } from './types.js';

export class RedisExtras implements Extras {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private key(...parts: string[]): string {
    return [this.prefix, 'jv', ...parts].join(':');
  }

  async heartbeat(record: ProcessRecord, ttlMs: number): Promise<void> {
    await this.redis.multi()
      .set(this.key('proc', record.id), JSON.stringify(record), 'PX', ttlMs)
      .sadd(this.key('procs'), record.id)
      .exec();
  }

  async removeProcess(id: string): Promise<void> {
    await this.redis.multi().del(this.key('proc', id)).srem(this.key('procs'), id).exec();
  }

  async listProcesses(): Promise<ProcessRecord[]> {
    const ids = await this.redis.smembers(this.key('procs'));
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.key('proc', id)));
    const expired = ids.filter((_, i) => values[i] === null);
    if (expired.length > 0) await this.redis.srem(this.key('procs'), ...expired);
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as ProcessRecord);
  }

  async requestCancel(queue: string, id: string): Promise<void> {
    await this.redis.sadd(this.key('cancelreq', queue), id);
  }

  async cancelRequested(queue: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const flags = await this.redis.smismember(this.key('cancelreq', queue), ...ids);
    return ids.filter((_, i) => flags[i] === 1);
  }

  async clearCancel(queue: string, id: string): Promise<void> {
    await this.redis.srem(this.key('cancelreq', queue), id);
  }

  async archiveCancelled(view: JobView, retention: Retention): Promise<void> {
    const index = this.key('cancelled-idx', view.queue);
    const data = this.key('cancelled', view.queue);
    const now = Date.now();
    await this.redis.multi()
      .hset(data, view.id, JSON.stringify(view))
      .zadd(index, now, view.id)
      .exec();
    const stale = [
      ...(await this.redis.zrangebyscore(index, 0, now - retention.ageSeconds * 1000)),
      ...(await this.redis.zrevrange(index, retention.count, -1)),
    ];
    if (stale.length > 0) await this.redis.multi().zrem(index, ...stale).hdel(data, ...stale).exec();
  }

  async getCancelled(queue: string, id: string): Promise<JobView | undefined> {
    const raw = await this.redis.hget(this.key('cancelled', queue), id);
    return raw ? (JSON.parse(raw) as JobView) : undefined;
  }

  async listCancelled(queue: string, offset: number, limit: number): Promise<JobView[]> {
    if (limit <= 0) return [];
    const ids = await this.redis.zrevrange(this.key('cancelled-idx', queue), offset, offset + limit - 1);
    if (ids.length === 0) return [];
    const raws = await this.redis.hmget(this.key('cancelled', queue), ...ids);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as JobView);
  }

  async countCancelled(queue: string): Promise<number> {
    return this.redis.zcard(this.key('cancelled-idx', queue));
  }

  async deleteCancelled(queue: string, id: string): Promise<void> {
    await this.redis.multi().zrem(this.key('cancelled-idx', queue), id).hdel(this.key('cancelled', queue), id).exec();
  }

  async indexCreated(queue: string, entries: { id: string; createdAt: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const key = this.key('created', queue);
    await this.redis.zadd(key, ...entries.flatMap((e) => [e.createdAt, e.id]));
    // Now and then, not on every write: drop what lies beyond the newest CREATED_INDEX_CAP.
    if (Math.random() < 0.01) await this.redis.zremrangebyrank(key, 0, -(CREATED_INDEX_CAP + 1));
  }

  async listCreated(queue: string, offset: number, limit: number): Promise<string[]> {
    return this.redis.zrevrange(this.key('created', queue), offset, offset + limit - 1);
  }

  async unindexCreated(queue: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zrem(this.key('created', queue), ...ids);
  }

  async indexProject(queue: string, projectId: string, id: string, createdAt: number): Promise<void> {
    await this.redis.zadd(this.key('project', queue, projectId), createdAt, id);
  }

  async listProject(queue: string, projectId: string, offset: number, limit: number): Promise<string[]> {
    return this.redis.zrevrange(this.key('project', queue, projectId), offset, offset + limit - 1);
  }

  async unindexProject(queue: string, projectId: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zrem(this.key('project', queue, projectId), ...ids);
  }

  async addThroughput(queue: string, completed: number, failed: number): Promise<void> {
    const key = this.key('tp', queue, String(Math.floor(Date.now() / BUCKET_MS)));
    await this.redis.multi().hincrby(key, 'c', completed).hincrby(key, 'f', failed).pexpire(key, 2 * 60_000).exec();
  }

  async lastMinute(queue: string): Promise<{ completed: number; failed: number }> {
    const now = Math.floor(Date.now() / BUCKET_MS);
    const pipeline = this.redis.pipeline();
    for (let b = now - BUCKETS_PER_MINUTE + 1; b <= now; b++) pipeline.hmget(this.key('tp', queue, String(b)), 'c', 'f');
    const results = (await pipeline.exec()) ?? [];
    let completed = 0;
    let failed = 0;
    for (const [, value] of results) {
      const [c, f] = (value as (string | null)[]) ?? [];
      completed += Number(c ?? 0);
      failed += Number(f ?? 0);
    }
    return { completed, failed };
  }

  async saveSchedule(record: ScheduleRecord): Promise<void> {
    await this.redis.hset(this.key('schedules'), record.name, JSON.stringify(record));
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    const all = await this.redis.hgetall(this.key('schedules'));
    return Object.values(all).map((v) => JSON.parse(v) as ScheduleRecord);
  }

  async deleteSchedule(name: string): Promise<void> {
    await this.redis.multi().hdel(this.key('schedules'), name).hdel(this.key('schedule-runs'), name).exec();
  }

  async recordScheduleRun(name: string, run: ScheduleRun): Promise<void> {
    await this.redis.hset(this.key('schedule-runs'), name, JSON.stringify(run));
  }

  async scheduleRuns(): Promise<Map<string, ScheduleRun>> {
    const all = await this.redis.hgetall(this.key('schedule-runs'));
    return new Map(Object.entries(all).map(([name, v]) => [name, JSON.parse(v) as ScheduleRun]));
  }

  async getValue(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.key('kv', key))) ?? undefined;
  }

  async setValue(key: string, json: string): Promise<void> {
    await this.redis.set(this.key('kv', key), json);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
