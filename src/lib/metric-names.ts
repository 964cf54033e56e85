// Every process names its Prometheus series under one prefix, so that a
// dashboard or alert finds the api's, the supervisor's and the workers' alike.
export const PREFIX = 'jobvisor_';

/**
 * Why a worker was replaced: the `reason` label of worker_restarts_total, which the
 * supervisor counts and the api sums across supervisors.
 */
export type RestartReason = 'memory' | 'max_jobs' | 'crash' | 'heartbeat' | 'pressure' | 'timeout';
export const RESTART_REASONS: readonly RestartReason[] = ['memory', 'max_jobs', 'crash', 'heartbeat', 'pressure', 'timeout'];
