// Prometheus for the whole host on METRICS_PORT: the supervisor's own series
// (restarts, workers by state and desired, worker memory) plus every worker's registry,
// fetched over IPC and summed with prom-client's AggregatorRegistry.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { PREFIX } from '../lib/metric-names.js';

export function supervisorMetrics(registry = new Registry()) {
  return {
    registry,
    restarts: new Counter({
      name: `${PREFIX}worker_restarts_total`, help: 'Worker processes recycled, restarted or killed, by reason',
      labelNames: ['queue', 'reason'], registers: [registry],
    }),
    workers: new Gauge({ name: `${PREFIX}workers`, help: 'Worker processes by state', labelNames: ['queue', 'state'], registers: [registry] }),
    desired: new Gauge({ name: `${PREFIX}workers_desired`, help: 'Worker processes the autoscaler wants on this host', labelNames: ['queue'], registers: [registry] }),
    memory: new Gauge({ name: `${PREFIX}worker_memory_bytes`, help: 'Resident set size of worker processes, summed per queue', labelNames: ['queue'], registers: [registry] }),
  };
}

export type SupervisorMetrics = ReturnType<typeof supervisorMetrics>;

type MetricsJson = Parameters<typeof AggregatorRegistry.aggregate>[0][number];

function aggregate(lists: unknown[][]): Registry {
  return AggregatorRegistry.aggregate(lists as MetricsJson[]) as Registry;
}

/**
 * Counters and histograms of workers that are gone, summed, so that totals
 * survive recycles (a sum over live workers only would drop at each one, and
 * Prometheus would read a partial drop as a reset). Gauges leave with their worker.
 */
export class RetiredMetrics {
  private totals: unknown[] = [];
  /** How many adds `totals` holds, and after which add each worker was in it. */
  private version = 0;
  private readonly countedAt = new WeakMap<object, number>();
  /** Adds run one after another, so none is lost to another's await. */
  private chain = Promise.resolve();

  /** `worker` is any object that stands for the retired worker (the supervisor's handle). */
  add(worker: object, lastSeen: unknown[]): Promise<void> {
    const cumulative = lastSeen.filter((m) => ['counter', 'histogram'].includes((m as { type?: string }).type ?? ''));
    this.chain = this.chain.then(async () => {
      const totals = await aggregate([this.totals, cumulative]).getMetricsAsJSON();
      this.totals = totals;
      this.countedAt.set(worker, ++this.version);
    }).catch(() => {});
    return this.chain;
  }

  /** The totals, and whether they already count a worker: a scrape must not count it again. */
  async snapshot(): Promise<{ totals: unknown[]; counts: (worker: object) => boolean }> {
    await this.chain;
    const { totals, version } = this;
    return { totals, counts: (worker) => (this.countedAt.get(worker) ?? Infinity) <= version };
  }
}

export async function exposition(own: Registry, workerMetrics: unknown[][]): Promise<{ contentType: string; body: string }> {
  const merged = Registry.merge([own, aggregate(workerMetrics)]);
  return { contentType: merged.contentType, body: await merged.metrics() };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/metrics`, and `/ready`: the host's own readiness, 503 while a worker is cut off
 * from the store. The api on such a host fails its readiness too (it cannot reach
 * the store), but only the supervisor knows it is its workers that stopped.
 */
export async function startMetricsServer(
  port: number, render: () => Promise<{ contentType: string; body: string }>, readiness: () => { ready: boolean; storeCutOff: string[] },
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method === 'GET' && path === '/ready') {
      const { ready, storeCutOff } = readiness();
      const body = ready ? { status: 'ready', storeCutOff } : { status: 'not_ready', storeCutOff, error: { code: 'store_cut_off', message: `cut off from the store: ${storeCutOff.join(', ')}` } };
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    render().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: () => (closing ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    })),
  };
}
