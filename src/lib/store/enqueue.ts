// Adding jobs: one, many, or a flow. Each new job enters its queue's creation index (and its
// tenant's) beside the add (not after it), and its project's index; a dedup hit returns the
// existing job of the same tenant.
import type { Job } from 'bullmq';
import { StateConflictError } from '../errors.js';
import { DEFAULT_TENANT } from '../tenants.js';
import { addFlow } from './flows.js';
import { jobOptions } from './job-options.js';
import { newJobId } from './job-id.js';
import { viewOf } from './read.js';
import type { AllJobsEntry } from './side/index.js';
import type { StoreContext } from './store-context.js';
import type { EnqueueInput, EnqueueResult, FlowInput, FlowResult, JobView } from './types.js';

export async function enqueue(ctx: StoreContext, input: EnqueueInput): Promise<EnqueueResult> {
  ctx.assertSendable();
  const jobId = input.jobId ?? newJobId();
  const now = Date.now();
  const [job] = await Promise.all([
    // One creation time for the job and its index entries, so that a window over the index agrees with the job's createdAt.
    ctx.queue(input.queue).add(input.name ?? 'default', input.data, { ...jobOptions(ctx.defaults, input, jobId), timestamp: now }),
    // Once BullMQ has the job, a lost index entry must not turn the enqueue into a failure a client retries into a duplicate.
    ctx.indexCreated(input.queue, [{ id: jobId, createdAt: now, tenant: tenantOf(input) }]).catch(() => {}),
    ctx.indexAll([allEntry(input, jobId, now)]).catch(() => {}),
  ]);
  return afterAdd(ctx, input, job, jobId);
}

export async function enqueueBulk(ctx: StoreContext, inputs: EnqueueInput[]): Promise<EnqueueResult[]> {
  ctx.assertSendable();
  const groups = groupBy(inputs, (input) => input.queue);
  if (groups.size === 1) return addGroup(ctx, inputs[0]!.queue, inputs); // the common bulk: in input order already
  const results = new Map<EnqueueInput, EnqueueResult>();
  for (const [queue, group] of groups) {
    const added = await addGroup(ctx, queue, group);
    for (const [i, result] of added.entries()) results.set(group[i]!, result);
  }
  return inputs.map((input) => results.get(input)!);
}

/** One queue's jobs in one addBulk, beside their index writes. */
async function addGroup(ctx: StoreContext, queue: string, group: EnqueueInput[]): Promise<EnqueueResult[]> {
  const ids = group.map((input) => input.jobId ?? newJobId());
  const now = Date.now();
  const [jobs] = await Promise.all([
    ctx.queue(queue).addBulk(group.map((input, i) => {
      const opts = jobOptions(ctx.defaults, input, ids[i]!);
      opts.timestamp = now; // assigned, not spread: a thousand of these per bulk
      return { name: input.name ?? 'default', data: input.data, opts };
    })),
    ctx.indexCreated(queue, ids.map((id, i) => ({ id, createdAt: now, tenant: tenantOf(group[i]!) }))),
    ctx.indexAll(group.map((input, i) => allEntry(input, ids[i]!, now))),
  ]);
  return Promise.all(jobs.map((job, i) => afterAdd(ctx, group[i]!, job, ids[i]!)));
}

export async function enqueueFlow(ctx: StoreContext, flow: FlowInput): Promise<FlowResult> {
  ctx.assertSendable();
  // A flow is one tenant's: its children are the root's tenant's, whatever they say.
  const tenant = tenantOf(flow);
  const result = await addFlow(ctx.flowProducer(), flow, (input, jobId) => jobOptions(ctx.defaults, { ...input, tenant }, jobId));
  // Every node into its queue's creation index, so the jobs of a flow show in lists like any other.
  const now = Date.now();
  const nodes: FlowResult[] = [];
  const walk = (node: FlowResult) => {
    nodes.push(node);
    node.children.forEach(walk);
  };
  walk(result);
  const byQueue = groupBy(nodes, (node) => node.queue);
  await Promise.all([...byQueue].map(([queue, group]) => ctx.indexCreated(queue, group.map(({ id }) => ({ id, createdAt: now, tenant })))));
  const inputs = new Map<string, FlowInput>();
  const gather = (input: FlowInput, node: FlowResult) => {
    inputs.set(node.id, input);
    node.children.forEach((child, i) => gather(input.children?.[i] ?? input, child));
  };
  gather(flow, result);
  await ctx.indexAll(nodes.map((node) => allEntry({ ...inputs.get(node.id)!, tenant }, node.id, now)));
  return result;
}

const tenantOf = (input: { tenant?: string }) => input.tenant ?? DEFAULT_TENANT;

/** The list across queues' entry: a job whose add turns out a dedup hit is dropped when a scan meets it. */
function allEntry(input: Omit<EnqueueInput, 'data'>, id: string, createdAt: number): AllJobsEntry {
  return {
    queue: input.queue, id, name: input.name ?? 'default', createdAt, tenant: tenantOf(input),
    ...(input.projectId ? { projectId: input.projectId } : {}),
  };
}

/** Synchronous unless the add met a dedup key or the job has a project: a bulk of plain jobs makes no promise per job. */
function afterAdd(ctx: StoreContext, input: EnqueueInput, job: Job, jobId: string): EnqueueResult | Promise<EnqueueResult> {
  const state = (job.opts.delay ?? 0) > 0 ? 'delayed' : 'waiting';
  if (job.id === jobId && !input.projectId) return new CreatedResult(ctx, input.queue, job, jobId, state);
  return (async () => {
    if (job.id !== jobId) {
      const existing = await ctx.get(input.queue, String(job.id));
      // Only a job from before tenants, whose dedup id is the bare key, can be another tenant's: never handed over.
      if (existing && existing.tenant !== tenantOf(input)) throw new StateConflictError('this dedupKey is held by an earlier job', 'waiting');
      if (existing) return { id: existing.id, state: existing.state, job: existing, created: false };
    }
    if (input.projectId) {
      await ctx.side.jobIndex.addToProject(input.queue, input.projectId, { id: jobId, createdAt: job.timestamp, tenant: tenantOf(input) });
    }
    return new CreatedResult(ctx, input.queue, job, jobId, state);
  })();
}

/** The view of a new job is built on first read: the api's 202 needs only the id and state. A class, so no closure per job. */
class CreatedResult implements EnqueueResult {
  readonly created = true;
  // Private by the language: nothing but id, state and created is enumerable, as in any other result.
  readonly #ctx: StoreContext;
  readonly #queue: string;
  readonly #bullJob: Job;
  #view: JobView | undefined = undefined;

  constructor(ctx: StoreContext, queue: string, job: Job, readonly id: string, readonly state: 'waiting' | 'delayed') {
    this.#ctx = ctx;
    this.#queue = queue;
    this.#bullJob = job;
  }

  get job(): JobView {
    return (this.#view ??= viewOf(this.#ctx, this.#queue, this.#bullJob, this.state));
  }
}

/** In first-seen order of the keys, each group in input order. */
function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
