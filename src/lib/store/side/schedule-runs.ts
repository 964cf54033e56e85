// Schedules beside BullMQ's job schedulers: each schedule's definition (a disabled one has no
// scheduler) and the last job it started. Interface, Redis and PostgreSQL side by side.
import type { ScheduleRecord } from '../types.js';
import type { PgSide } from './pg.js';
import { execAll, type RedisSide } from './redis.js';

export interface ScheduleRun {
  queue: string;
  jobId: string;
  at: number;
}

export interface ScheduleRuns {
  save(record: ScheduleRecord): Promise<void>;
  list(): Promise<ScheduleRecord[]>;
  /** Removes the record and its last run. */
  remove(name: string): Promise<void>;
  /** The last job a schedule started, written by the consumer: BullMQ does not keep it. */
  recordRun(name: string, run: ScheduleRun): Promise<void>;
  /** By schedule name. */
  runs(): Promise<Map<string, ScheduleRun>>;
}

export function redisScheduleRuns({ client, key }: RedisSide): ScheduleRuns {
  const records = key('schedules');
  const lastRuns = key('schedule-runs');
  return {
    async save(record) {
      await client.hset(records, record.name, JSON.stringify(record));
    },
    async list() {
      return Object.values(await client.hgetall(records)).map((v) => JSON.parse(v) as ScheduleRecord);
    },
    async remove(name) {
      await execAll(client.multi().hdel(records, name).hdel(lastRuns, name));
    },
    async recordRun(name, run) {
      await client.hset(lastRuns, name, JSON.stringify(run));
    },
    async runs() {
      const all = await client.hgetall(lastRuns);
      return new Map(Object.entries(all).map(([name, v]) => [name, JSON.parse(v) as ScheduleRun]));
    },
  };
}

export const SCHEDULE_TABLES = `
CREATE TABLE IF NOT EXISTS jv_schedules (name text PRIMARY KEY, record jsonb NOT NULL, last_run jsonb);`;

export function pgScheduleRuns(db: PgSide): ScheduleRuns {
  return {
    async save(record) {
      await db.query(
        'INSERT INTO jv_schedules (name, record) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record',
        [record.name, JSON.stringify(record)]);
    },
    async list() {
      const { rows } = await db.query<{ record: ScheduleRecord }>('SELECT record FROM jv_schedules ORDER BY name');
      return rows.map((r) => r.record);
    },
    async remove(name) {
      await db.query('DELETE FROM jv_schedules WHERE name = $1', [name]);
    },
    async recordRun(name, run) {
      // No row, no run kept: a schedule removed meanwhile stays removed.
      await db.query('UPDATE jv_schedules SET last_run = $2 WHERE name = $1', [name, JSON.stringify(run)]);
    },
    async runs() {
      const { rows } = await db.query<{ name: string; last_run: ScheduleRun }>(
        'SELECT name, last_run FROM jv_schedules WHERE last_run IS NOT NULL');
      return new Map(rows.map((r) => [r.name, r.last_run]));
    },
  };
}
