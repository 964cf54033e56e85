// OpenTelemetry traces across the queue: the api's enqueue span, its context
// carried inside the job (W3C trace context), and the worker's process span
// continuing the same trace. Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
// …_TRACES_ENDPOINT) is set; off, no span is made and nothing is carried, so
// a deployment without a collector pays one boolean test per job.
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

export type TraceContext = Record<string, string>;

let enabled = false;
const tracer = () => trace.getTracer('jobvisor');

export interface Tracing {
  /** Flushes what is buffered and stops exporting. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Starts exporting this process's spans when the environment names a
 * collector (or a test hands an exporter); undefined otherwise. The SDK is
 * loaded only then, so an untraced process never loads it.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env, exporter?: SpanExporter): Tracing | undefined {
  if (!exporter && !env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  const { NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const processor = exporter
    ? new SimpleSpanProcessor(exporter)
    : new BatchSpanProcessor(new (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter());
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || service }),
    spanProcessors: [processor],
  });
  provider.register(); // also the W3C trace-context propagator
  enabled = true;
  let stopped: Promise<void> | undefined;
  return {
    shutdown: () => (stopped ??= provider.shutdown().catch(() => {}).finally(() => { enabled = false; })),
  };
}

const messaging = (queue: string, operation: 'create' | 'process'): Attributes => ({
  'messaging.system': 'bullmq',
  'messaging.operation.type': operation,
  'messaging.operation.name': operation === 'create' ? 'enqueue' : 'process',
  'messaging.destination.name': queue,
});

/**
 * Runs an enqueue inside a producer span; `add` gets the context to store in
 * the job (undefined when tracing is off) and returns the job's id.
 */
export async function traceEnqueue<T extends { id: string }>(queue: string, attributes: Attributes, add: (carried?: TraceContext) => Promise<T>): Promise<T> {
  if (!enabled) return add();
  return tracer().startActiveSpan(`create ${queue}`, { kind: SpanKind.PRODUCER, attributes: { ...messaging(queue, 'create'), ...attributes } }, async (span) => {
    const carried: TraceContext = {};
    propagation.inject(context.active(), carried);
    try {
      const added = await add(carried);
      span.setAttribute('messaging.message.id', added.id);
      return added;
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A consumer span for one attempt, a child of the enqueue's span when the job carried one. */
export function startProcessSpan(queue: string, jobId: string, carried: TraceContext | undefined, attributes: Attributes): Span | undefined {
  if (!enabled) return undefined;
  const parent = carried ? propagation.extract(context.active(), carried) : context.active();
  return tracer().startSpan(`process ${queue}`, {
    kind: SpanKind.CONSUMER,
    attributes: { ...messaging(queue, 'process'), 'messaging.message.id': jobId, ...attributes },
  }, parent);
}

/** Ends a process span with the attempt's outcome. */
export function endProcessSpan(span: Span | undefined, outcome: string, error?: Error): void {
  if (!span) return;
  span.setAttribute('jobvisor.outcome', outcome);
  if (error) failed(span, error);
  span.end();
}

function failed(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
