// Prometheus for the whole host on METRICS_PORT: the supervisor's own series
// (restarts, workers by state, worker memory) plus every worker's registry,
// fetched over IPC and summed with prom-client's AggregatorRegistry.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { PREFIX } from '../metrics.js';

export function supervisorMetrics(registry = new Registry()) {
  return {
    registry,
    restarts: new Counter({
      name: `${PREFIX}worker_restarts_total`, help: 'Worker processes recycled, restarted or killed, by reason',
      labelNames: ['queue', 'reason'], registers: [registry],
    }),
    workers: new Gauge({ name: `${PREFIX}workers`, help: 'Worker processes by state', labelNames: ['queue', 'state'], registers: [registry] }),
    memory: new Gauge({ name: `${PREFIX}worker_memory_bytes`, help: 'Resident set size of worker processes, summed per queue', labelNames: ['queue'], registers: [registry] }),
  };
}

export type SupervisorMetrics = ReturnType<typeof supervisorMetrics>;

/** Series the supervisor keeps itself (from heartbeats, which a busy worker still sends) are dropped from the workers' copies. */
const OWNED = new Set([`${PREFIX}worker_memory_bytes`]);

export async function exposition(own: Registry, workerMetrics: unknown[][]): Promise<{ contentType: string; body: string }> {
  const fromWorkers = workerMetrics.map((list) => list.filter((m) => !OWNED.has((m as { name?: string }).name ?? '')));
  const aggregated = AggregatorRegistry.aggregate(fromWorkers as Parameters<typeof AggregatorRegistry.aggregate>[0]);
  const merged = Registry.merge([own, aggregated as Registry]);
  return { contentType: merged.contentType, body: await merged.metrics() };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(port: number, render: () => Promise<{ contentType: string; body: string }>): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
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
