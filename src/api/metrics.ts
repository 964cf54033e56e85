// The api's Prometheus series: HTTP traffic, jobs enqueued, and what the store
// says of every queue (jobs per state, the oldest active and waiting job, live
// workers, orphaned jobs, the crash-loop mark, worker memory) and of the hosts
// (how many are unreachable), from a snapshot cached so that
// a storm of scrapes costs the backend one read per queue every few seconds.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PREFIX } from '../lib/metric-names.js';
import type { Logger } from '../lib/logger.js';
import { JOB_STATES, type Store } from '../lib/store/index.js';
import { snapshotReader, type QueueSnapshot } from './queue-snapshot.js';
import { orphanedOf, unreachableHosts } from './hosts.js';
import { workersOf, type MemoryLimits } from './stats.js';
import { SupervisorMemory } from './supervisor-memory.js';
import type { StoreCall } from './store-call.js';

/**
 * prom-client's defaults include gauges named `…_total` (a sum over the `type`
 * label of their namesakes), which `promtool check metrics` rejects: a `_total`
 * suffix means a counter. The per-type gauges stay.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface ApiMetricsOptions {
  store: Store;
  queues: readonly string[];
  call: StoreCall;
  logger: Logger;
  /** How long counts read from the store are served before the next scrape reads them again. */
  countsTtlMs?: number;
  /** Queues that should have a live worker somewhere (WORKER_QUEUES, as readiness expects); default: every queue. */
  expectedQueues?: readonly string[];
  /** Each queue's memory limits per worker process (QUEUE_<NAME>_MAX_MEMORY_MB). */
  limits?: Partial<Record<string, MemoryLimits>>;
  /** The app's memory of what supervisors said of their queues (shared with queue-stats). */
  supervisors?: SupervisorMemory;
}

type Read = (snapshot: QueueSnapshot, queue: string) => number;

const MIB = 1024 * 1024;
const ageSeconds = (since: number | null | undefined) => (since ? Math.max(0, Date.now() - since) / 1000 : 0);

/** The gauges read from the cached snapshot of the store. */
function queueGauges(registry: Registry, snapshot: () => Promise<QueueSnapshot | undefined>, options: ApiMetricsOptions & { supervisors: SupervisorMemory }) {
  const { queues, limits = {}, supervisors } = options;
  const configured = queues.filter((queue) => limits[queue] !== undefined);
  const perQueue = (name: string, help: string, read: Read, only: readonly string[] = queues) => new Gauge({
    name: `${PREFIX}${name}`, help, labelNames: ['queue'], registers: [registry],
    async collect() {
      const current = await snapshot();
      if (current) for (const queue of only) this.set({ queue }, read(current, queue));
    },
  });
  return {
    queueJobs: new Gauge({
      name: `${PREFIX}queue_jobs`, help: 'Jobs per queue and state, as the store counts them (cached a few seconds)',
      labelNames: ['queue', 'state'], registers: [registry],
      async collect() {
        const current = await snapshot();
        if (!current) return;
        for (const [queue, byState] of current.counts) for (const state of JOB_STATES) this.set({ queue, state }, byState[state]);
      },
    }),
    oldestActive: perQueue('queue_oldest_active_seconds', 'How long the longest-running active job has run; 0 when none runs',
      (s, queue) => ageSeconds(s.oldest.get(queue)?.activeSince)),
    oldestWaiting: perQueue('queue_oldest_waiting_seconds', 'How long the longest-waiting ready job has waited (queue latency); 0 when none waits',
      (s, queue) => ageSeconds(s.oldest.get(queue)?.waitingSince)),
    orphaned: perQueue('jobs_orphaned', 'Active jobs held by no live worker (their host silent), until the stalled check takes them back',
      (s, queue) => orphanedOf(queue, s.counts.get(queue)!.active, s.fleet)),
    unreachableHosts: new Gauge({
      name: `${PREFIX}hosts_unreachable`, help: 'Hosts all of whose workers are silent past their heartbeat TTL, not yet forgotten (JOBVISOR_HOST_FORGET_MS)',
      registers: [registry],
      async collect() {
        const current = await snapshot();
        if (current) this.set(unreachableHosts(current.fleet).length);
      },
    }),
    liveWorkers: perQueue('queue_live_workers', 'Worker processes of the queue on any host that are not draining, from the process registry',
      (s, queue) => workersOf(queue, s.fleet.live).liveWorkers, options.expectedQueues ?? queues),
    crashLooping: perQueue('queue_crash_looping', '1 while a supervisor marks the queue crash-looping',
      (_s, queue) => Number(supervisors.queue(queue).crashLooping)),
    largestWorker: perQueue('queue_worker_max_rss_bytes', "Resident set size of the queue's largest live worker process, on any host",
      (s, queue) => Math.max(0, ...s.fleet.live.filter((p) => p.queue === queue).map((p) => p.rss))),
    budget: perQueue('queue_memory_budget_bytes', 'RSS budget of one worker process (QUEUE_<NAME>_MAX_MEMORY_MB, as the api is configured)',
      (_s, queue) => limits[queue]!.maxMemoryMb * MIB, configured),
    ceiling: perQueue('queue_memory_ceiling_bytes', 'RSS past which a worker is killed, not drained (budget × hard memory factor, as the api is configured)',
      (_s, queue) => Math.round(limits[queue]!.maxMemoryMb * MIB * limits[queue]!.hardMemoryFactor), configured),
  };
}

export function apiMetrics(options: ApiMetricsOptions) {
  const registry = new Registry();
  const defaultsPrefix = `${PREFIX}api_`;
  collectDefaultMetrics({ register: registry, prefix: defaultsPrefix });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(`${defaultsPrefix}${name}`);
  const supervisors = options.supervisors ?? new SupervisorMemory();
  const snapshot = snapshotReader({ ...options, ttlMs: options.countsTtlMs ?? 5000, onProcesses: (records) => supervisors.observe(records) });
  return {
    registry,
    requests: new Counter({
      name: `${PREFIX}http_requests_total`, help: 'HTTP requests answered by the api',
      labelNames: ['method', 'route', 'status'], registers: [registry],
    }),
    latency: new Histogram({
      name: `${PREFIX}http_request_duration_seconds`, help: 'Time to answer an HTTP request',
      labelNames: ['method', 'route'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry],
    }),
    enqueued: new Counter({
      name: `${PREFIX}jobs_enqueued_total`, help: 'Jobs enqueued through this api (dedup hits not counted)',
      labelNames: ['queue'], registers: [registry],
    }),
    ...queueGauges(registry, snapshot, { ...options, supervisors }),
  };
}

export type ApiMetrics = ReturnType<typeof apiMetrics>;
