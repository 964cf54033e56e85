// The real queues' handlers run by the real runtime over a real Redis store
// (a unique key prefix per suite), writing into a temp output directory, with
// the suite's scratch folder and the document fixtures as input roots and the
// local test servers (127.0.0.1) on the URL allowlist.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { openStore, type JobView, type Store } from '../../../src/lib/store/index.js';
import type { HandlerDefinition } from '../../../src/queues/define.js';
import { startRuntime, type Runtime } from '../../../src/workers/runtime.js';
import { dropRedisPrefix, REDIS_URL, redisAnswers, requireService, uniqueName } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import { TEST_JOBS } from '../../conformance/describe-store.js';

export interface Harness {
  store: Store;
  prefix: string;
  /** The temp JOBVISOR_OUTPUT_DIR of this suite. */
  output: string;
  /** A temp folder for the suite's inputs: an input root. */
  scratch: string;
  /** A file a result names (relative to the output folder), as a path. */
  file(relative: string): string;
  /** Runs a queue's handler (imported by the test: mocha's tsx/cjs hook does not serve the registry's dynamic import). */
  start(queue: string, handler: HandlerDefinition<any>, options?: { concurrency?: number; limiter?: { max: number; durationMs: number } }): Runtime;
  settled(queue: string, id: string, timeoutMs?: number): Promise<JobView>;
}

// The conformance suite's settings, with room for real work (a transcode) inside a lock.
const HANDLER_JOBS = { ...TEST_JOBS, backoffMs: 200, timeoutMs: 60_000, lockMs: 5000, stalledIntervalMs: 2000 };

export interface HarnessOptions {
  /** Environment for the handlers, given the suite's folders; the defaults below are overridden key by key. */
  env?: (folders: { scratch: string; output: string }) => NodeJS.ProcessEnv;
}

/** Call at the top of a describe: before/after hooks open and clean everything. */
export function useHarness(options: HarnessOptions = {}): Harness {
  const runtimes: Runtime[] = [];
  const previous: NodeJS.ProcessEnv = {};
  const harness = { prefix: uniqueName('jvh') } as Harness;

  before(async function () {
    await requireService(this, `Redis at ${REDIS_URL}`, () => redisAnswers());
    harness.scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'jv-in-'));
    harness.output = await fs.mkdtemp(path.join(os.tmpdir(), 'jv-out-'));
    const folders = { scratch: harness.scratch, output: harness.output };
    const env = {
      JOBVISOR_OUTPUT_DIR: harness.output, JOBVISOR_INPUT_ROOTS: `${harness.scratch},${FIXTURES}`, JOBVISOR_URL_ALLOWLIST: '127.0.0.1',
      ...options.env?.(folders),
    };
    for (const [key, value] of Object.entries(env)) {
      previous[key] = process.env[key];
      process.env[key] = value;
    }
    harness.store = await openStore({ mode: 'redis', redisUrl: REDIS_URL, prefix: harness.prefix, jobs: HANDLER_JOBS });
  });

  after(async () => {
    await Promise.all(runtimes.map((r) => r.close()));
    await harness.store?.close();
    await dropRedisPrefix(harness.prefix).catch(() => {});
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    for (const dir of [harness.scratch, harness.output]) if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  harness.file = (relative) => path.join(harness.output, relative);

  harness.start = (queue, handler, options = {}) => {
    const runtime = startRuntime({
      store: harness.store, queue, handler: handler as HandlerDefinition, concurrency: options.concurrency ?? 1, logger: pino({ level: 'silent' }),
      heartbeatMs: 500, ...(options.limiter ? { limiter: options.limiter } : {}),
    });
    runtimes.push(runtime);
    return runtime;
  };

  harness.settled = (queue, id, timeoutMs = 30_000) => waitFor(async () => {
    const job = await harness.store.get(queue, id);
    // finishedAt too: the store reads a job, then its state, and a job finishing in between looks failed without its error.
    return job && ['completed', 'failed', 'cancelled'].includes(job.state) && job.finishedAt ? job : undefined;
  }, { timeoutMs, intervalMs: 100, message: `job ${queue}/${id} to finish` });

  return harness;
}

export const FIXTURES = path.resolve(__dirname, '../../fixtures/documents');

export async function readJsonLines<T = Record<string, unknown>>(file: string): Promise<T[]> {
  return (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as T);
}
