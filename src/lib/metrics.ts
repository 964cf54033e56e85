// Prometheus series, named as DESIGN.md's Metrics section. Each process has its
// own registry; the supervisor aggregates its workers' registries over IPC.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const PREFIX = 'jobvisor_';
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];

export function workerMetrics(registry = new Registry()) {
  return {
    registry,
    completed: new Counter({ name: `${PREFIX}jobs_completed_total`, help: 'Jobs completed', labelNames: ['queue'], registers: [registry] }),
    failed: new Counter({ name: `${PREFIX}jobs_failed_total`, help: 'Job attempts failed; final="true" when no retry follows', labelNames: ['queue', 'final'], registers: [registry] }),
    duration: new Histogram({ name: `${PREFIX}job_duration_seconds`, help: 'Time a job attempt ran', labelNames: ['queue'], buckets: DURATION_BUCKETS, registers: [registry] }),
    wait: new Histogram({ name: `${PREFIX}job_wait_seconds`, help: 'Time from enqueue (or runAt) to start', labelNames: ['queue'], buckets: DURATION_BUCKETS, registers: [registry] }),
    memory: new Gauge({ name: `${PREFIX}worker_memory_bytes`, help: 'Resident set size of worker processes', labelNames: ['queue'], registers: [registry] }),
  };
}

export type WorkerMetrics = ReturnType<typeof workerMetrics>;
