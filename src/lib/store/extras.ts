// What BullMQ does not keep for us, kept per backend: the process registry,
// cancellation (requests to running jobs, and the record of cancelled jobs,
// which BullMQ has no state for) and the project index.
import type { JobView, ProcessRecord, ScheduleRecord } from './types.js';

export const BUCKET_MS = 5000;
export const CREATED_INDEX_CAP = 100_000;
export const BUCKETS_PER_MINUTE = 12;

export interface Retention {
  count: number;
  ageSeconds: number;
}

export interface Extras {
  heartbeat(record: ProcessRecord, ttlMs: number): Promise<void>;
  removeProcess(id: string): Promise<void>;
  listProcesses(): Promise<ProcessRecord[]>;

  requestCancel(queue: string, id: string): Promise<void>;
  /** Which of these job ids have a cancel request pending. */
  cancelRequested(queue: string, ids: string[]): Promise<string[]>;
  clearCancel(queue: string, id: string): Promise<void>;

  archiveCancelled(view: JobView, retention: Retention): Promise<void>;
  getCancelled(queue: string, id: string): Promise<JobView | undefined>;
  /** Newest first. */
  listCancelled(queue: string, offset: number, limit: number): Promise<JobView[]>;
  countCancelled(queue: string): Promise<number>;
  deleteCancelled(queue: string, id: string): Promise<void>;

  /** Every job of a queue by creation time, so lists can be newest first whatever BullMQ's order; kept to the newest CREATED_INDEX_CAP. */
  indexCreated(queue: string, entries: { id: string; createdAt: number }[]): Promise<void>;
  /** Job ids, newest first. */
  listCreated(queue: string, offset: number, limit: number): Promise<string[]>;
  unindexCreated(queue: string, ids: string[]): Promise<void>;

  indexProject(queue: string, projectId: string, id: string, createdAt: number): Promise<void>;
  /** Job ids of a project, newest first. */
  listProject(queue: string, projectId: string, offset: number, limit: number): Promise<string[]>;
  unindexProject(queue: string, projectId: string, ids: string[]): Promise<void>;

  /** Count finished jobs into 5-second buckets; the consumer flushes once a second. */
  addThroughput(queue: string, completed: number, failed: number): Promise<void>;
  /** Jobs finished in the last 60 seconds (12 buckets). */
  lastMinute(queue: string): Promise<{ completed: number; failed: number }>;

  /** Schedule definitions, enabled or not (a disabled one has no BullMQ scheduler). */
  saveSchedule(record: ScheduleRecord): Promise<void>;
  listSchedules(): Promise<ScheduleRecord[]>;
  deleteSchedule(name: string): Promise<void>;
  /** The last job a schedule started, written by the consumer: BullMQ does not keep it. */
  recordScheduleRun(name: string, run: ScheduleRun): Promise<void>;
  scheduleRuns(): Promise<Map<string, ScheduleRun>>;
  /** Handlers' own small state (Store.getValue / setValue), JSON text. */
  getValue(key: string): Promise<string | undefined>;
  setValue(key: string, json: string): Promise<void>;

  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ScheduleRun {
  queue: string;
  jobId: string;
  at: number;
}
