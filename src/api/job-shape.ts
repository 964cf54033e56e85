// The job as the HTTP API shows it (README.md, "The HTTP API"): the store's view
// without its internal fields, and never a stack trace. Its tenant is shown to
// admin keys only: a user key sees its own tenant's jobs and nothing else.
import type { JobView } from '../lib/store/index.js';

/** `withTenant`: the caller is an admin, who sees every tenant. */
export function apiJob(view: JobView, withTenant = false) {
  return {
    id: view.id,
    queue: view.queue,
    name: view.name,
    state: view.state,
    priority: view.priority,
    progress: view.progress,
    data: view.data,
    attempts: view.attempts,
    maxAttempts: view.maxAttempts,
    result: view.result,
    error: view.error ? { message: view.error.message } : null,
    ...(withTenant ? { tenant: view.tenant } : {}),
    projectId: view.projectId,
    createdAt: view.createdAt,
    runAt: view.runAt,
    startedAt: view.startedAt,
    finishedAt: view.finishedAt,
    timeline: view.timeline,
  };
}

/** A list entry: the job without its data and timeline, which lists never carry. */
export function apiListedJob(view: JobView, withTenant = false) {
  const { data: _data, timeline: _timeline, ...rest } = apiJob(view, withTenant);
  return rest;
}
