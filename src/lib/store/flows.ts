// Flows: a tree of jobs, added atomically by BullMQ's FlowProducer, where a
// parent waits for its children (which may sit on other queues). Each node gets
// the same options as a single enqueue, so retries and timeouts hold.
import type { FlowJob, FlowProducer, JobNode, JobsOptions } from 'bullmq';
import { newJobId } from './job-id.js';
import type { EnqueueInput, FlowInput, FlowResult } from './types.js';

export type JobOptionsFor = (input: EnqueueInput, jobId: string) => JobsOptions;

function toFlowJob(node: FlowInput, optionsFor: JobOptionsFor): FlowJob {
  const opts: JobsOptions = {
    ...optionsFor(node, newJobId()),
    // A child that fails for good does not hold its parent back: the parent runs and reads the failure.
    ...(node.ignoreFailure ? { ignoreDependencyOnFailure: true } : { failParentOnFailure: true }),
  };
  const children = node.children?.map((child) => toFlowJob(child, optionsFor));
  return {
    name: node.name ?? 'default', queueName: node.queue, data: node.data, opts,
    ...(children?.length ? { children } : {}),
  } as FlowJob;
}

function toResult(node: JobNode): FlowResult {
  return {
    queue: node.job.queueName,
    id: String(node.job.id),
    children: (node.children ?? []).map(toResult),
  };
}

export async function addFlow(producer: FlowProducer, flow: FlowInput, optionsFor: JobOptionsFor): Promise<FlowResult> {
  if (flow.ignoreFailure) throw new Error('enqueueFlow: ignoreFailure applies to children, not to the root');
  return toResult(await producer.add(toFlowJob(flow, optionsFor)));
}
