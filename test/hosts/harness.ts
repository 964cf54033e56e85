// The many-hosts suite's hooks: hosts built once per file (skipped loudly without root or `ip`,
// failed under REQUIRE_SERVICES=1), one private Redis listening only on the addresses the suite
// created, and per test a prefix, a ledger, and real supervisors (and an api) run inside the
// hosts, everything in the hosts killed afterwards and every link set up again, even when the test failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/lib/config.js';
import { openStore, type JobView, type Store } from '../../src/lib/store/index.js';
import { haveServers, privateRedis, type Server } from '../faults/servers.js';
import { fixture, ROOT } from '../helpers/fork.js';
import { REQUIRE_SERVICES, uniqueName } from '../helpers/services.js';
import { allJobs, readLedger, SUPERVISOR_MAIN, watchSupervisor, workerPids, type LogLine, type RunningSupervisor } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { embeddingsServer, type EmbeddingsServer } from './embeddings.js';
import { canBuildHosts, createHost, heal, killProcessesIn, removeHost, removeLeftovers, spawnInHost, type HostNet } from './network.js';

/**
 * Short enough that a partition resolves in seconds, long enough that a silent host is marked
 * unreachable (the registry TTL, 5 s) before its locks expire, as with the defaults.
 */
export const LOCK_MS = 8000;
export const STALLED_INTERVAL_MS = 2000;
/** Long enough that a worker's ai jobs overlap, each on a pooled connection of its own. */
const EMBEDDINGS_ANSWER_MS = 250;
const API_PORT = 3000; // inside host A's own namespace, so no other process on the machine holds it

export interface HostSupervisor extends RunningSupervisor {
  host: HostNet;
  /** Worker pids the supervisor has forked so far, from its log. */
  workers(): number[];
  /** Its and its workers' lines at warn level or above. */
  warnings(): LogLine[];
}

/** One ledger line of the host-ledger fixture. */
export interface LedgerEntry {
  event: 'start' | 'end' | 'aborted';
  id: string;
  host: string;
  at: number;
  /** The attempt for `start`, the signal's reason for `aborted`. */
  detail: string;
}

export interface HostsContext {
  hosts: HostNet[];
  redis: Server;
  /** What the real ai handler calls (EMBEDDINGS_PROVIDER=openai); each answer takes EMBEDDINGS_ANSWER_MS. */
  embeddings: EmbeddingsServer;
  /** The suite's own client, from the root namespace. */
  store: Store;
  env: NodeJS.ProcessEnv;
  supervise(host: HostNet, extra?: NodeJS.ProcessEnv): HostSupervisor;
  /** Starts the api inside `host`; resolves with its base URL once it answers. */
  api(host: HostNet): Promise<string>;
  queueStats(base: string): Promise<QueueStatsBody>;
  /** Jobs of the host-ledger fixture on the document queue. */
  sleepers(jobs: { ms: number; retryMs?: number }[]): Promise<string[]>;
  /** Jobs of the real ai handler, one text each: a request to the embeddings stand-in. */
  embeds(count: number): Promise<string[]>;
  ledger(): LedgerEntry[];
  jobs(queue: string, ids: string[]): Promise<JobView[]>;
}

/** The parts of GET /api/jobs/queue-stats the suite reads. */
export interface QueueStatsBody {
  queues: Record<string, { counts: Record<string, number>; orphaned?: number }>;
  workers: { host: string; pid: number; queue: string; state: string }[];
  hosts?: { host: string; state: string }[];
}

export function useHosts(count: number): HostsContext {
  const t = {} as HostsContext;
  let dir: string;

  before(async function () {
    const missing = canBuildHosts() ?? (haveServers() ? undefined : 'the many-hosts suite needs redis-server');
    if (missing) {
      if (REQUIRE_SERVICES) throw new Error(`${missing} (REQUIRE_SERVICES=1)`);
      console.warn(`\n  !!! SKIPPED: ${missing}. Run it as root, or set REQUIRE_SERVICES=1 to make this a failure.\n`);
      this.skip();
    }
    removeLeftovers();
    t.hosts = [];
    for (let i = 1; i <= count; i++) t.hosts.push(createHost(i)); // one by one: a failure leaves the ones made to after()
    t.redis = await privateRedis(t.hosts.map((h) => h.gateway));
    t.embeddings = await embeddingsServer(t.hosts, EMBEDDINGS_ANSWER_MS);
  });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jv-hosts-'));
    t.env = {
      REDIS_URL: t.redis.url, JOBVISOR_PREFIX: uniqueName('h'), LEDGER_FILE: path.join(dir, 'ledger.txt'),
      JOB_LOCK_MS: String(LOCK_MS), JOB_STALLED_INTERVAL_MS: String(STALLED_INTERVAL_MS),
      JOB_KEEP_COMPLETED_COUNT: '100000', JOB_KEEP_FAILED_COUNT: '100000', BACKOFF_BASE_MS: '100',
      // The fixture runs the document and maintenance queues; the ai queue runs its real handler against the stand-in.
      JOBVISOR_HANDLER_MODULE_DOCUMENT: fixture('host-ledger'), JOBVISOR_HANDLER_MODULE_MAINTENANCE: fixture('host-ledger'),
      JOBVISOR_DATA_DIR: dir, EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_MODEL: 'stand-in',
    };
    t.store = await openStore(loadConfig(t.env));
  });

  afterEach(async () => {
    for (const host of t.hosts) {
      killProcessesIn(host.ns);
      heal(host);
    }
    await t.store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  after(async () => {
    for (const host of t.hosts ?? []) removeHost(host.ns);
    await t.embeddings?.close();
    await t.redis?.destroy();
  });

  /** Each host reaches Redis on its own link, at the root side's address. */
  const hostEnv = (host: HostNet, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env, LOG_LEVEL: 'info', METRICS_PORT: '0', ...t.env,
    REDIS_URL: t.redis.url.replace(t.hosts[0]!.gateway, host.gateway), OPENAI_BASE_URL: t.embeddings.baseUrl(host), ...extra,
  });

  t.supervise = (host, extra) => {
    const child = spawnInHost(host, ['--import', 'tsx', SUPERVISOR_MAIN], { env: hostEnv(host, extra), cwd: ROOT });
    const running = watchSupervisor(child);
    return {
      ...running, host,
      workers: () => workerPids(running.logs),
      warnings: () => running.logs.filter((line) => Number(line.level) >= 40),
    };
  };

  t.api = async (host) => {
    const child = spawnInHost(host, ['--import', 'tsx', path.join(ROOT, 'src/api/server.ts')], {
      env: hostEnv(host, { LOG_LEVEL: 'warn', HOST: host.address, PORT: String(API_PORT) }), cwd: ROOT,
    });
    child.stdout!.resume();
    child.stderr!.pipe(process.stderr);
    const base = `http://${host.address}:${API_PORT}`;
    await waitFor(async () => (await fetch(`${base}/api/health`)).ok, { timeoutMs: 30_000, intervalMs: 200, message: `the api on ${host.hostname}` });
    return base;
  };

  t.queueStats = async (base) => {
    const res = await fetch(`${base}/api/jobs/queue-stats`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`queue-stats answered ${res.status}`);
    return (await res.json()) as QueueStatsBody;
  };

  t.sleepers = async (jobs) => (await t.store.enqueueBulk(jobs.map((data) => ({ queue: 'document', data })))).map((r) => r.job.id);
  t.embeds = async (count) => (await t.store.enqueueBulk(Array.from({ length: count }, (_, i) => ({ queue: 'ai', data: { texts: [`text ${i}`] } })))).map((r) => r.job.id);

  t.ledger = () => readLedger(t.env.LEDGER_FILE!).map((line) => {
    const [event, id, host, at, ...detail] = line.split(' ');
    return { event: event as LedgerEntry['event'], id: id!, host: host!, at: Number(at), detail: detail.join(' ') };
  });

  t.jobs = (queue, ids) => allJobs(t.store, queue, ids);
  return t;
}
