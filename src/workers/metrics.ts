// A worker process's Prometheus series (ARCHITECTURE.md, Metrics). Each worker
// has its own registry; the supervisor aggregates them over IPC on /metrics.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PREFIX } from '../lib/metric-names.js';

const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];

export function workerMetrics(registry = new Registry()) {
  return {
    registry,
    completed: new Counter({ name: `${PREFIX}jobs_completed_total`, help: 'Jobs completed', labelNames: ['queue'], registers: [registry] }),
    failed: new Counter({ name: `${PREFIX}jobs_failed_total`, help: 'Job attempts failed; final="true" when no retry follows', labelNames: ['queue', 'final'], registers: [registry] }),
    duration: new Histogram({ name: `${PREFIX}job_duration_seconds`, help: 'Time a job attempt ran', labelNames: ['queue'], buckets: DURATION_BUCKETS, registers: [registry] }),
    lockLost: new Counter({ name: `${PREFIX}jobs_lock_lost_total`, help: 'Job attempts given up because their lock could not be renewed; their outcome was discarded', labelNames: ['queue'], registers: [registry] }),
    // max, not sum, across a host's workers: 1 while any worker of the queue is cut off.
    storeCutOff: new Gauge({ name: `${PREFIX}worker_store_cut_off`, help: '1 while a worker of this queue hears nothing from the store and fetches nothing', labelNames: ['queue'], aggregator: 'max', registers: [registry] }),
    wait: new Histogram({ name: `${PREFIX}job_wait_seconds`, help: 'Time from enqueue (or runAt) to start', labelNames: ['queue'], buckets: DURATION_BUCKETS, registers: [registry] }),
  };
}

export type WorkerMetrics = ReturnType<typeof workerMetrics>;
