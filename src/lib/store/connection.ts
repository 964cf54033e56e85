// Which backend, and how to reach it: the mode decides the BullMQ connection,
// the backend factory (PostgreSQL only) and where the side data lives.
import { Redis } from 'ioredis';
import pg from 'pg';
import { FlowProducer, Queue, QueueEvents, Worker, createPostgresBackend, type ConnectionOptions, type Processor, type WorkerOptions } from 'bullmq';
import { openPgSideData, openRedisSideData, type SideData } from './side/index.js';
import { FAIL_FAST_CONNECT_MS } from './side/pg.js';
import { ensureEmbeddedPostgres, type EmbeddedServer } from './embedded.js';
import { blinkTolerantPostgresBackend } from './pg-blink.js';

export interface EngineOptions {
  mode: 'redis' | 'postgres' | 'embedded';
  redisUrl?: string;
  databaseUrl?: string;
  dataDir?: string;
  embeddedPgPort?: number;
  /** The embedded server's password, for a process that cannot read the data folder's (embedded.ts). */
  embeddedPgPassword?: string;
  /** Redis key prefix, or PostgreSQL schema. */
  prefix: string;
  /**
   * The api's connections: a call while the store is unreachable fails at once, and nothing
   * waits in a client's queue to be sent after its caller gave up (a 503 that created a job).
   */
  failFast?: boolean;
}

interface QueueArgs {
  opts: { connection: ConnectionOptions; prefix?: string };
  factory?: typeof createPostgresBackend;
}

export interface Engine {
  mode: EngineOptions['mode'];
  /** Arguments for `new Queue(name, {...}, factory)` and friends. */
  queueArgs(role: 'queue' | 'worker'): QueueArgs;
  side: SideData;
  /**
   * False while a fail-fast connection is down: BullMQ would hold a command until it reconnects
   * and send it after its caller gave up, so the store refuses it instead.
   */
  sendable(): boolean;
  /** Resolves once the connections are up, or after a few seconds of trying. */
  connected?(): Promise<void>;
  close(): Promise<void>;
}

// BullMQ types each class by its backend; jobvisor picks the backend at run
// time, so the classes are built here, once, behind a cast.
type QueueCtor = new (name: string, opts: object, factory?: unknown) => Queue;
type WorkerCtor = new (name: string, processor: Processor, opts: object, factory?: unknown) => Worker;
type FlowProducerCtor = new (opts: object, factory?: unknown) => FlowProducer;

export function createQueue(engine: Engine, name: string): Queue {
  const { opts, factory } = engine.queueArgs('queue');
  return new (Queue as unknown as QueueCtor)(name, opts, factory);
}

export function createWorker(engine: Engine, name: string, processor: Processor, options: Omit<WorkerOptions, 'connection'>): Worker {
  const { opts, factory } = engine.queueArgs('worker');
  return new (Worker as unknown as WorkerCtor)(name, processor, { ...options, ...opts }, factory);
}

type QueueEventsCtor = new (name: string, opts: object, factory?: unknown) => QueueEvents;

/** A reader of a queue's event stream: it blocks, so it gets a connection of its own (the worker's kind). */
export function createQueueEvents(engine: Engine, name: string): QueueEvents {
  const { opts, factory } = engine.queueArgs('worker');
  return new (QueueEvents as unknown as QueueEventsCtor)(name, opts, factory);
}

export function createFlowProducer(engine: Engine): FlowProducer {
  const { opts, factory } = engine.queueArgs('queue');
  return new (FlowProducer as unknown as FlowProducerCtor)(opts, factory);
}

/** ioredis options of a fail-fast connection: no offline queue, no resend after a reconnect, no retry. */
const FAIL_FAST_REDIS = { maxRetriesPerRequest: 0, enableOfflineQueue: false, autoResendUnfulfilledCommands: false };

const FIRST_CONNECT_WAIT_MS = 5000;

function whenReady(client: Redis): Promise<void> {
  return client.status === 'ready' ? Promise.resolve() : new Promise((resolve) => client.once('ready', () => resolve()));
}

function redisEngine(url: string, prefix: string, failFast: boolean): Engine {
  // Queues share one connection; each Worker makes its own blocking one from the options.
  const shared = new Redis(url, { lazyConnect: false, ...(failFast ? FAIL_FAST_REDIS : { maxRetriesPerRequest: null }) });
  shared.on('error', () => {});
  const side = openRedisSideData(url, prefix, failFast);
  const workerConnection = { url, maxRetriesPerRequest: null } as unknown as ConnectionOptions;
  return {
    mode: 'redis',
    queueArgs: (role) => ({ opts: { connection: role === 'queue' ? shared : workerConnection, prefix } }),
    side,
    sendable: () => !failFast || shared.status === 'ready',
    connected: () => Promise.race([
      Promise.all([whenReady(shared), side.ping().catch(() => {})]).then(() => {}),
      new Promise<void>((resolve) => setTimeout(resolve, FIRST_CONNECT_WAIT_MS).unref()),
    ]),
    close: async () => {
      await shared.quit().catch(() => shared.disconnect());
    },
  };
}

function postgresEngine(mode: 'postgres' | 'embedded', connectionString: string, schema: string, failFast: boolean, server?: EmbeddedServer): Engine {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`store: "${schema}" is not a plain schema name`);
  const connection = {
    connectionString, schema, migrate: true, max: 3, ...(failFast ? { connectionTimeoutMillis: FAIL_FAST_CONNECT_MS } : {}),
  } as unknown as ConnectionOptions;
  return {
    mode,
    // A worker's backend reports a restarting server as BullMQ expects a lost connection (pg-blink.ts).
    queueArgs: (role) => ({ opts: { connection }, factory: role === 'worker' ? blinkTolerantPostgresBackend : createPostgresBackend }),
    side: openPgSideData(connectionString, schema, failFast),
    sendable: () => true, // pg's pool gives up connecting after FAIL_FAST_CONNECT_MS, within the api's timeout
    close: async () => {
      await server?.stop();
    },
  };
}

/**
 * BullMQ's migration and the side data's both run `CREATE SCHEMA IF NOT EXISTS`, which is not safe
 * against itself across sessions: when several processes start on a fresh schema, one loses with
 * a unique violation, and a BullMQ queue whose migration failed stays failed in that process.
 * Creating the schema first, here, where losing that race is harmless, leaves them nothing to race
 * on. Best effort: a server that is down is reported by the calls that need it.
 */
async function ensureSchema(connectionString: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch {
    // lost the race (23505, 42P06): the schema exists; unreachable: see above
  } finally {
    await client.end().catch(() => {});
  }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`store: ${what} is required in this mode`);
  return value;
}

export async function openEngine(options: EngineOptions, log?: (line: string) => void): Promise<Engine> {
  switch (options.mode) {
    case 'redis': {
      const engine = redisEngine(required(options.redisUrl, 'redisUrl'), options.prefix, options.failFast ?? false);
      // Without an offline queue a command before the first connect fails: a fail-fast store starts connected (or gives up waiting).
      if (options.failFast) await engine.connected?.();
      return engine;
    }
    case 'postgres': {
      const url = required(options.databaseUrl, 'databaseUrl');
      await ensureSchema(url, options.prefix);
      return postgresEngine('postgres', url, options.prefix, options.failFast ?? false);
    }
    case 'embedded': {
      const server = await ensureEmbeddedPostgres(
        required(options.dataDir, 'dataDir'), required(options.embeddedPgPort, 'embeddedPgPort'), log, options.embeddedPgPassword);
      await ensureSchema(server.connectionString, options.prefix);
      return postgresEngine('embedded', server.connectionString, options.prefix, options.failFast ?? false, server);
    }
  }
}
