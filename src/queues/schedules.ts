// The cron schedules jobvisor declares, their overrides from the environment,
// and the reconcile a process runs at start. BullMQ's job schedulers keep the
// clock (src/lib/store/schedules.ts); this file decides what they should be.
import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { ConfigError } from '../lib/config.js';
import { fieldIssues, NotFoundError } from '../lib/errors.js';
import type { ScheduleRecord, ScheduleSpec, ScheduleView, Store } from '../lib/store/index.js';
import { QUEUE_NAMES, QUEUES, envName, isQueueName } from './index.js';
import { validateWith } from './validate.js';

/** Every queue's declared schedules; a job's name is its schedule's name. */
export const DECLARED_SCHEDULES: readonly ScheduleSpec[] = QUEUE_NAMES.flatMap((queue) =>
  (QUEUES[queue].schedules ?? []).map((schedule) => ({ ...schedule, queue })));

/** A schedule field that does not hold, named so the api and the env check can say which. */
export class InvalidScheduleError extends Error {
  override name = 'InvalidScheduleError';
  /** `cron`, `timezone`, `queue`, `priority`, or a field of the payload (`payload.maxAgeDays`). */
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new InvalidScheduleError('timezone', `"${timezone}" is not an IANA time zone (such as Europe/Paris)`);
  }
}

/** Parsed with the cron-parser BullMQ itself uses, so whatever passes here, BullMQ can run. */
export function checkCron(cron: string, timezone?: string): void {
  if (timezone) checkTimezone(timezone);
  try {
    CronExpressionParser.parse(cron, { currentDate: new Date(), ...(timezone ? { tz: timezone } : {}) }).next();
  } catch (error) {
    throw new InvalidScheduleError('cron', `"${cron}" is not a cron expression (5 fields, or 6 with seconds first): ${(error as Error).message}`);
  }
}

/**
 * A schedule that can fire, or whose payload was just given, must carry data
 * its queue accepts: the same check as an enqueue. A disabled catalog entry
 * may keep a placeholder payload until someone turns it on.
 */
export function validateSchedule(spec: ScheduleSpec, { payloadGiven = false } = {}): ScheduleSpec {
  checkCron(spec.cron, spec.timezone);
  if (!Number.isInteger(spec.priority) || spec.priority < 1 || spec.priority > 10) {
    throw new InvalidScheduleError('priority', 'a whole number from 1 to 10');
  }
  if ((spec.enabled || payloadGiven) && isQueueName(spec.queue)) {
    const checked = validateWith(QUEUES[spec.queue].schema, spec.payload ?? {}, 'payload');
    if (!checked.ok) throw new InvalidScheduleError(checked.field, checked.message);
  }
  return spec;
}

/** `news-fetch` → `CRON_NEWS_FETCH`. */
export function scheduleEnvName(name: string): string {
  return `CRON_${envName(name)}`;
}

const overrideSchema = z.strictObject({
  cron: z.string().min(1).optional(),
  timezone: z.string().min(1).nullable().optional(),
  enabled: z.boolean().optional(),
  payload: z.unknown().optional(),
  priority: z.number().int().min(1).max(10).optional(),
});
export type SchedulePatch = z.infer<typeof overrideSchema>;
export { overrideSchema as schedulePatchSchema };

export function applyPatch<T extends ScheduleSpec>(spec: T, patch: SchedulePatch): T {
  const { timezone, ...rest } = patch;
  const next: T = { ...spec, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
  if (timezone === null) delete next.timezone;
  else if (timezone !== undefined) next.timezone = timezone;
  return next;
}

/** A cron expression, `off`, or a JSON object of the fields to change. */
function parseOverride(variable: string, raw: string): SchedulePatch {
  const value = raw.trim();
  if (value === 'off') return { enabled: false };
  if (!value.startsWith('{')) return { cron: value };
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new ConfigError(`${variable}: expected a cron expression, "off", or a JSON object; got invalid JSON`);
  }
  const parsed = overrideSchema.safeParse(json);
  if (!parsed.success) {
    const issue = fieldIssues(parsed.error)[0]!;
    throw new ConfigError(`${variable}: ${issue.field}: ${issue.message}`);
  }
  return parsed.data;
}

/** The catalog's schedules with CRON_<NAME> applied; a bad value stops the process naming the variable. */
export function declaredSchedules(env: NodeJS.ProcessEnv = process.env, catalog: readonly ScheduleSpec[] = DECLARED_SCHEDULES): ScheduleSpec[] {
  return catalog.map((spec) => {
    const variable = scheduleEnvName(spec.name);
    const raw = env[variable];
    const declared = raw === undefined || raw.trim() === '' ? spec : applyPatch(spec, parseOverride(variable, raw));
    try {
      if (!isQueueName(declared.queue)) throw new InvalidScheduleError('queue', `"${declared.queue}" is not a queue of the catalog`);
      return validateSchedule(declared);
    } catch (error) {
      throw new ConfigError(`${variable}: ${(error as Error).message}`);
    }
  });
}

/** Key order is fixed here so a hash changes only when a value does. */
export function declaredHash(spec: ScheduleSpec): string {
  const canonical = [spec.name, spec.queue, spec.cron, spec.timezone ?? null, spec.payload ?? {}, spec.priority, spec.enabled];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}

export interface ReconcileReport {
  added: string[];
  changed: string[];
  kept: string[];
  removed: string[];
}

/**
 * Brings the stored schedules in line with the declared ones. A schedule whose
 * declaration is unchanged keeps what the api changed; a changed declaration
 * resets it. Safe to run from many processes at once: BullMQ's scheduler ids
 * make a second upsert of the same tick a replacement, never a second job.
 */
export async function reconcileSchedules(store: Store, declared: readonly ScheduleSpec[]): Promise<ReconcileReport> {
  const existing = new Map((await store.schedules.records()).map((r) => [r.name, r]));
  const report: ReconcileReport = { added: [], changed: [], kept: [], removed: [] };
  for (const spec of declared) {
    const hash = declaredHash(spec);
    const current = existing.get(spec.name);
    if (current && current.declaredHash === hash) {
      await store.schedules.save(current); // re-creates its BullMQ scheduler if that was lost
      report.kept.push(spec.name);
      continue;
    }
    await store.schedules.save({ ...spec, declaredHash: hash, changedBy: 'catalog', updatedAt: new Date().toISOString() });
    (current ? report.changed : report.added).push(spec.name);
  }
  const names = new Set(declared.map((s) => s.name));
  for (const name of existing.keys()) {
    if (names.has(name)) continue;
    await store.schedules.remove(name);
    report.removed.push(name);
  }
  return report;
}

/** A change made over the api: kept across restarts until the declaration itself changes. */
export async function updateSchedule(store: Store, name: string, patch: SchedulePatch): Promise<ScheduleView> {
  const record = (await store.schedules.records()).find((r) => r.name === name);
  if (!record) throw new NotFoundError(`no schedule ${name}`);
  const next: ScheduleRecord = applyPatch(record, patch);
  validateSchedule(next, { payloadGiven: patch.payload !== undefined });
  await store.schedules.save({ ...next, changedBy: 'api', updatedAt: new Date().toISOString() });
  return (await store.schedules.get(name))!;
}
