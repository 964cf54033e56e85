// The api's Prometheus series: HTTP traffic, jobs enqueued, and jobs per queue
// and state read from the store, cached so that a storm of scrapes costs the
// backend one read per queue every few seconds.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PREFIX } from '../lib/metric-names.js';
import type { Logger } from '../lib/logger.js';
import { JOB_STATES, type StateCounts, type Store } from '../lib/store/index.js';
import type { StoreCall } from './store-call.js';

const COUNTS_TIMEOUT_MS = 2000;

export interface ApiMetricsOptions {
  store: Store;
  queues: readonly string[];
  call: StoreCall;
  logger: Logger;
  /** How long counts read from the store are served before the next scrape reads them again. */
  countsTtlMs?: number;
}

export function apiMetrics(options: ApiMetricsOptions) {
  const { store, queues, call, logger } = options;
  const countsTtlMs = options.countsTtlMs ?? 5000;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `${PREFIX}api_` });

  let cached: { at: number; counts: Map<string, StateCounts> } | undefined;
  let refreshing: Promise<void> | undefined;
  async function refresh(): Promise<void> {
    // Shorter than a request's store timeout: a scrape must not wait out a backend that is down.
    const counts = await Promise.all(queues.map((queue) => call(store.counts(queue), COUNTS_TIMEOUT_MS)));
    cached = { at: Date.now(), counts: new Map(queues.map((queue, i) => [queue, counts[i]!])) };
  }
  async function freshCounts(): Promise<Map<string, StateCounts> | undefined> {
    if (!cached || Date.now() - cached.at > countsTtlMs) {
      // Concurrent scrapes share one refresh; a failed one serves the last counts, if any.
      refreshing ??= refresh().catch((error) => logger.warn({ err: error }, 'metrics: could not read queue counts'))
        .finally(() => (refreshing = undefined));
      await refreshing;
    }
    return cached?.counts;
  }

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
    queueJobs: new Gauge({
      name: `${PREFIX}queue_jobs`, help: 'Jobs per queue and state, as the store counts them (cached a few seconds)',
      labelNames: ['queue', 'state'], registers: [registry],
      async collect() {
        const counts = await freshCounts();
        if (!counts) return;
        for (const [queue, byState] of counts) for (const state of JOB_STATES) this.set({ queue, state }, byState[state]);
      },
    }),
  };
}

export type ApiMetrics = ReturnType<typeof apiMetrics>;
