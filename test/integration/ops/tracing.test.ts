// OpenTelemetry across the queue: a real api process and a real forked worker
// export to a local OTLP/HTTP collector, and the worker's process span must
// continue the trace of the HTTP enqueue's span.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { exited, forkWorker } from '../../helpers/fork.js';
import { killApi, startApi, type RunningApi } from '../../helpers/api.js';
import { dropRedisPrefix, REDIS_URL, redisAnswers, requireService, uniqueName } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import type { ChildProcess } from 'node:child_process';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** An OTLP/HTTP (JSON) trace receiver on loopback that keeps every span it is sent. */
async function collector(): Promise<{ url: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const payload = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const resource of payload.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, spans, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue !== undefined ? Number(value.intValue) : undefined);
};

describe('tracing: an HTTP enqueue and its run in a forked worker share one trace', function () {
  this.timeout(60_000);
  const prefix = uniqueName('jvtrace');
  const output = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-trace-'));
  let otlp: Awaited<ReturnType<typeof collector>>;
  let api: RunningApi | undefined;
  let worker: ChildProcess | undefined;

  before(async function () {
    await requireService(this, `Redis at ${REDIS_URL}`, () => redisAnswers());
    otlp = await collector();
  });

  after(async () => {
    killApi(api);
    if (worker && worker.exitCode === null) {
      worker.kill('SIGKILL');
      await exited(worker);
    }
    await otlp?.close();
    await dropRedisPrefix(prefix);
    fs.rmSync(output, { recursive: true, force: true });
  });

  it('links the api span (producer) to the worker span (consumer), with the messaging attributes', async () => {
    const env = {
      REDIS_URL, JOBVISOR_PREFIX: prefix, JOBVISOR_OUTPUT_DIR: output, JOBVISOR_DATA_DIR: output,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    api = startApi({ ...env, API_KEYS: '', ADMIN_API_KEYS: '' });
    worker = forkWorker('document', env);
    const base = await api.base;
    const response = await fetch(`${base}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ queue: 'document', data: { content: '# Traced\n\nOne job, one trace.' } }),
    });
    expect(response.status).to.equal(202);
    const { id } = (await response.json()) as { id: string };

    const process = await waitFor(() => otlp.spans.find((s) => s.name === 'process document' && attribute(s, 'messaging.message.id') === id),
      { timeoutMs: 30_000, message: 'the worker span' });
    const create = await waitFor(() => otlp.spans.find((s) => s.name === 'create document' && attribute(s, 'messaging.message.id') === id),
      { timeoutMs: 10_000, message: 'the api span' });

    expect(process.traceId).to.equal(create.traceId);
    expect(process.parentSpanId).to.equal(create.spanId);
    expect(create.kind).to.equal(4); // PRODUCER
    expect(process.kind).to.equal(5); // CONSUMER
    for (const [span, operation] of [[create, 'create'], [process, 'process']] as const) {
      expect(attribute(span, 'messaging.system')).to.equal('bullmq');
      expect(attribute(span, 'messaging.operation.type')).to.equal(operation);
      expect(attribute(span, 'messaging.destination.name')).to.equal('document');
    }
    expect(attribute(process, 'jobvisor.outcome')).to.equal('completed');
    expect(attribute(process, 'jobvisor.attempt')).to.equal(1);
  });
});
