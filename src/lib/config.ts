// The environment, read once into one typed object. A bad value stops the
// process at start with the variable's name and what it expects.
import path from 'node:path';
import { z } from 'zod';
import { QUEUES, QUEUE_NAMES, envName, type QueueName } from '../queues/index.js';
import { bytes, inputEnv, toInputConfig, type InputConfig } from './config-inputs.js';
import { DEFAULT_TENANT, TENANT_NAME } from './tenants.js';

export type { InputConfig } from './config-inputs.js';

export type StoreMode = 'redis' | 'postgres' | 'embedded';

/** How many worker processes of a queue this host runs: fixed when min = max, else autoscaled between them. */
export interface ProcessRange {
  min: number;
  max: number;
}

export interface QueueConfig {
  name: QueueName;
  concurrency: number;
  processes: ProcessRange;
  /** The autoscaler adds a process when the oldest ready job has waited longer than this. */
  targetWaitMs: number;
  maxMemoryMb: number;
  maxJobs: number;
  /** RSS past this many times the budget: killed at once, not drained. */
  hardMemoryFactor: number;
  drainTimeoutMs: number;
  rank: number;
  /** BullMQ's rate limiter for the queue, from QUEUE_<NAME>_RATE_LIMIT="<max>/<durationMs>"; unset = no limit. */
  rateLimit?: { max: number; durationMs: number };
}

export interface Config {
  mode: StoreMode;
  redisUrl?: string;
  databaseUrl?: string;
  dataDir: string;
  embeddedPgPort: number;
  /** Set for workers run as another user, who cannot read the data folder's password file; otherwise read from it. */
  embeddedPgPassword?: string;
  /** Namespace for every key or table: the Redis key prefix, the PostgreSQL schema. */
  prefix: string;
  /** The api's listen address. */
  host: string;
  port: number;
  metricsPort: number;
  workerQueues: QueueName[];
  queues: Record<QueueName, QueueConfig>;
  jobs: {
    attempts: number;
    backoffMs: number;
    timeoutMs: number;
    keepCompleted: { count: number; ageSeconds: number };
    keepFailed: { count: number; ageSeconds: number };
    lockMs: number;
    stalledIntervalMs: number;
    /** How long a worker may hear nothing from its store before it stops fetching (README, Many hosts); half the lock time when unset. */
    storeCutOffMs?: number;
  };
  shutdownTimeoutMs: number;
  /** How long a silent worker (and a host all of whose workers are silent) stays listed as unreachable after its last heartbeat. */
  hostForgetMs: number;
  /** User keys, each with the tenant its jobs belong to (README, Tenants). */
  apiKeys: TenantKey[];
  adminApiKeys: string[];
  /** What a worker process is forked with (README, Security model: what runs as whom). */
  workerProcess: WorkerProcessConfig;
  api: ApiConfig;
  /** What job data may reach, and the caps on what it may cause. */
  inputs: InputConfig;
  logLevel: string;
  production: boolean;
}

/** Node's timers hold at most 2^31−1 ms (24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A silent host is shown unreachable this long after its last heartbeat (JOBVISOR_HOST_FORGET_MS), then forgotten. */
export const DEFAULT_HOST_FORGET_MS = 10 * 60_000;

export interface ApiConfig {
  /** Largest JSON body accepted, in bytes; larger → 413. */
  bodyLimitBytes: number;
  /** Enqueue requests per minute per API key (or per IP when open); 0 turns the limit off. */
  enqueueRateLimit: number;
  /** How long a request waits on the store before answering 503. */
  storeTimeoutMs: number;
  /** JSON bodies nested deeper than this are a 400. */
  maxJsonDepth: number;
  /** Jobs one POST /api/jobs/bulk may carry (API_BULK_MAX). */
  bulkMax: number;
  /** Failed authentications per minute per address before a 429; 0 turns the limit off. */
  authFailureLimit: number;
}

/** A user key and its tenant: `tenant:key` in API_KEYS, or a bare key of the default tenant. */
export interface TenantKey {
  tenant: string;
  key: string;
}

export interface WorkerProcessConfig {
  /** Variables never handed to a worker, besides the api's keys: exact names, or prefixes ending in `*`. */
  envDeny: string[];
  /** Run workers as this user (a name or a uid); unset: as the supervisor's own user. */
  user?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const keyList = z.string().transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean));

const base = inputEnv.extend({
  REDIS_URL: z.string().url().optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').optional(),
  JOBVISOR_PREFIX: z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'lower-case letters, digits and _').default('jobvisor'),
  EMBEDDED_PG_PORT: int(1, 65535).default(54329),
  JOBVISOR_EMBEDDED_PG_PASSWORD: z.string().optional(),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(3000),
  METRICS_PORT: int(0, 65535).default(9464),
  WORKER_QUEUES: z.string().default('all'),
  JOB_DEFAULT_ATTEMPTS: int(1, 100).default(3),
  JOB_DEFAULT_BACKOFF_MS: int(0).default(2000),
  JOB_DEFAULT_TIMEOUT_MS: int(1, MAX_TIMER_MS).default(600_000),
  JOB_KEEP_COMPLETED_COUNT: int(0).default(1000),
  JOB_KEEP_COMPLETED_AGE_S: int(0).default(24 * 3600),
  JOB_KEEP_FAILED_COUNT: int(0).default(5000),
  JOB_KEEP_FAILED_AGE_S: int(0).default(7 * 24 * 3600),
  JOB_LOCK_MS: int(1000).default(30_000),
  JOB_STALLED_INTERVAL_MS: int(500).default(30_000),
  JOBVISOR_HOST_FORGET_MS: int(10_000).default(DEFAULT_HOST_FORGET_MS),
  JOBVISOR_STORE_CUTOFF_MS: int(100).optional(),
  SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
  WORKER_HARD_MEMORY_FACTOR: z.coerce.number().min(1).default(2),
  API_KEYS: keyList.default([]),
  JOBVISOR_WORKER_ENV_DENY: keyList.default([]),
  JOBVISOR_WORKER_USER: z.string().trim().regex(/^[a-z_][a-z0-9_-]{0,31}\$?$|^\d+$/, 'a user name or a uid').optional(),
  ADMIN_API_KEYS: keyList.default([]),
  API_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)?$/i, 'a size such as 1mb, 512kb or 65536').default('1mb'),
  ENQUEUE_RATE_LIMIT: int(0).default(600),
  API_STORE_TIMEOUT_MS: int(50).default(5000),
  API_MAX_JSON_DEPTH: int(2, 1000).default(32),
  API_BULK_MAX: int(1, 100_000).default(1000),
  AUTH_FAILURE_LIMIT: int(0).default(20),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().optional(),
});

function fail(variable: string, expected: string): never {
  throw new ConfigError(`${variable}: expected ${expected}`);
}

function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(String(issue.path[0]), issue.message);
  }
  return parsed.data;
}

/** A per-queue number; `whole` for counts and milliseconds, not for factors. */
function readQueueNumber(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, whole = true): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(whole ? Number.isInteger(value) : Number.isFinite(value)) || value < min) {
    fail(variable, `${whole ? 'a whole number' : 'a number'} ≥ ${min}, got "${raw}"`);
  }
  return value;
}

/** `N` (fixed; 0 runs none here) or `MIN..MAX` with 1 ≤ MIN ≤ MAX (autoscaled; README, Autoscaling). */
function readProcesses(env: NodeJS.ProcessEnv, variable: string, fallback: ProcessRange): ProcessRange {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const fixed = /^\d+$/.test(raw) ? Number(raw) : undefined;
  if (fixed !== undefined) return { min: fixed, max: fixed };
  const range = /^(\d+)\.\.(\d+)$/.exec(raw);
  const [min, max] = [Number(range?.[1]), Number(range?.[2])];
  // A range starts at 1: readiness wants a live worker per queue, and the first job would wait for a whole start.
  if (!range || min < 1 || max < min) fail(variable, `a whole number, or a range "MIN..MAX" with 1 ≤ MIN ≤ MAX (e.g. "1..4"); got "${raw}"`);
  return { min, max };
}

function readRateLimit(env: NodeJS.ProcessEnv, variable: string): QueueConfig['rateLimit'] {
  const raw = env[variable];
  if (raw === undefined || raw === '') return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(raw.trim());
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) fail(variable, `"<max jobs>/<per milliseconds>", e.g. "60/60000"; got "${raw}"`);
  return { max: Number(match[1]), durationMs: Number(match[2]) };
}

function queueConfig(env: NodeJS.ProcessEnv, name: QueueName, hardMemoryFactor: number): QueueConfig {
  const defaults = QUEUES[name].defaults;
  const key = `QUEUE_${envName(name)}`;
  return {
    name,
    concurrency: readQueueNumber(env, `${key}_CONCURRENCY`, defaults.concurrency, 1),
    processes: readProcesses(env, `${key}_PROCESSES`, defaults.processes ?? { min: 1, max: 1 }),
    targetWaitMs: readQueueNumber(env, `${key}_TARGET_WAIT_MS`, defaults.targetWaitMs, 1),
    maxMemoryMb: readQueueNumber(env, `${key}_MAX_MEMORY_MB`, defaults.maxMemoryMb, 32),
    maxJobs: readQueueNumber(env, `${key}_MAX_JOBS`, 0, 0),
    hardMemoryFactor: readQueueNumber(env, `${key}_HARD_MEMORY_FACTOR`, hardMemoryFactor, 1, false),
    drainTimeoutMs: readQueueNumber(env, `${key}_DRAIN_TIMEOUT_MS`, defaults.drainTimeoutMs, 0),
    rank: defaults.rank,
    ...(env[`${key}_RATE_LIMIT`] ? { rateLimit: readRateLimit(env, `${key}_RATE_LIMIT`) } : {}),
  };
}

function parseWorkerQueues(raw: string): QueueName[] {
  if (raw.trim() === 'all') return [...QUEUE_NAMES];
  const names = raw.split(',').map((q) => q.trim()).filter(Boolean);
  for (const name of names) {
    if (!QUEUE_NAMES.includes(name as QueueName)) fail('WORKER_QUEUES', `"all" or a list of ${QUEUE_NAMES.join(', ')}; got "${name}"`);
  }
  return names as QueueName[];
}

/** `tenant:key` entries and bare keys (the default tenant); a key may not belong to two tenants. */
function tenantKeys(entries: string[]): TenantKey[] {
  const tenantOf = new Map<string, string>();
  return entries.map((entry) => {
    const colon = entry.indexOf(':');
    const [tenant, key] = colon < 0 ? [DEFAULT_TENANT, entry] : [entry.slice(0, colon).trim(), entry.slice(colon + 1).trim()];
    // The entry itself is never echoed: it holds a key.
    if (!TENANT_NAME.test(tenant)) fail('API_KEYS', 'entries "key" or "tenant:key", a tenant being letters, digits and ._- (at most 64)');
    if (!key) fail('API_KEYS', `a key after "${tenant}:"`);
    if ((tenantOf.get(key) ?? tenant) !== tenant) fail('API_KEYS', 'each key in one tenant only');
    tenantOf.set(key, tenant);
    return { tenant, key };
  });
}

/** Only the input settings: what a handler reads at call time, without the rest of the environment. */
export function loadInputConfig(env: NodeJS.ProcessEnv = process.env): InputConfig {
  return toInputConfig(parseEnv(inputEnv, env));
}

/** `Production`, `PRODUCTION ` and `production` alike: a typo in case must not run the api open. */
export function isProduction(nodeEnv: string | undefined): boolean {
  return nodeEnv?.trim().toLowerCase() === 'production';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseEnv(base, env);
  const mode: StoreMode = e.REDIS_URL ? 'redis' : e.DATABASE_URL ? 'postgres' : 'embedded';
  const queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, queueConfig(env, n, e.WORKER_HARD_MEMORY_FACTOR)])) as Record<QueueName, QueueConfig>;
  return {
    mode,
    redisUrl: e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.JOBVISOR_DATA_DIR),
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    ...(e.JOBVISOR_EMBEDDED_PG_PASSWORD ? { embeddedPgPassword: e.JOBVISOR_EMBEDDED_PG_PASSWORD } : {}),
    prefix: e.JOBVISOR_PREFIX,
    host: e.HOST,
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    workerQueues: parseWorkerQueues(e.WORKER_QUEUES),
    queues,
    jobs: {
      attempts: e.JOB_DEFAULT_ATTEMPTS,
      backoffMs: e.JOB_DEFAULT_BACKOFF_MS,
      timeoutMs: e.JOB_DEFAULT_TIMEOUT_MS,
      keepCompleted: { count: e.JOB_KEEP_COMPLETED_COUNT, ageSeconds: e.JOB_KEEP_COMPLETED_AGE_S },
      keepFailed: { count: e.JOB_KEEP_FAILED_COUNT, ageSeconds: e.JOB_KEEP_FAILED_AGE_S },
      lockMs: e.JOB_LOCK_MS,
      stalledIntervalMs: e.JOB_STALLED_INTERVAL_MS,
      storeCutOffMs: e.JOBVISOR_STORE_CUTOFF_MS, // unset: half the lock time, as the store applies it
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    hostForgetMs: e.JOBVISOR_HOST_FORGET_MS,
    apiKeys: tenantKeys(e.API_KEYS),
    adminApiKeys: e.ADMIN_API_KEYS,
    api: {
      bodyLimitBytes: bytes(e.API_BODY_LIMIT), enqueueRateLimit: e.ENQUEUE_RATE_LIMIT, storeTimeoutMs: e.API_STORE_TIMEOUT_MS,
      maxJsonDepth: e.API_MAX_JSON_DEPTH, authFailureLimit: e.AUTH_FAILURE_LIMIT, bulkMax: e.API_BULK_MAX,
    },
    inputs: toInputConfig(e),
    workerProcess: { envDeny: e.JOBVISOR_WORKER_ENV_DENY, ...(e.JOBVISOR_WORKER_USER ? { user: e.JOBVISOR_WORKER_USER } : {}) },
    logLevel: e.LOG_LEVEL,
    production: isProduction(e.NODE_ENV),
  };
}
