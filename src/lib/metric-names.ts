// Every process names its Prometheus series under one prefix, so that a
// dashboard or alert finds the api's, the supervisor's and the workers' alike.
export const PREFIX = 'jobvisor_';
