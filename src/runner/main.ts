// `npm run dev:full` and `npm start`: the whole system in one terminal, with
// no process manager. It starts the embedded PostgreSQL (unless REDIS_URL or
// DATABASE_URL is set), then the children of children.ts, each with its log
// lines under its name. A child that crashes is restarted with backoff.
// Ctrl-C (SIGINT) or SIGTERM: every child drains and exits, PostgreSQL stops
// last, exit 0; a second Ctrl-C kills what is left.
// Children run detached (their own process group), so that a Ctrl-C reaches
// this runner alone and each child is asked to stop exactly once.
import { fork } from 'node:child_process';
import { loadConfig, type Config } from '../lib/config.js';
import { childSpecs, POSTGRES_HOLDER, type ChildSpec } from './children.js';
import { Inbox, type Running } from './events.js';
import { formatLine, logFormat, pipeLines, type LogFormat } from './log-lines.js';
import type { PostgresReady } from './postgres.js';
import { CONFIG_ERROR_EXIT, runMain } from '../lib/entry.js';
import { backoffDelay, isHealthy } from '../supervisor/policy.js';

/** The supervisor's crash backoff (backoffBaseMs × 2^n), capped lower: one terminal, a person waiting on it. */
const BACKOFF = { backoffBaseMs: 1000, backoffMaxMs: 30_000 };
const HEALTHY_UPTIME_MS = 60_000;
const POSTGRES_STOP_MS = 20_000;

type Log = (msg: string, fields?: Record<string, unknown>, level?: number) => void;

function createLog(format: LogFormat): Log {
  return (msg, fields = {}, level = 30) =>
    process.stdout.write(`${formatLine('jobvisor', JSON.stringify({ level, time: Date.now(), msg, ...fields }), format, process.stdout.isTTY)}\n`);
}

/** How long after a child's exit its output may still be read before the runner acts on the exit. */
const OUTPUT_GRACE_MS = 250;
const alive = (running: Running) => running.child.exitCode === null && running.child.signalCode === null;
const within = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function killGroup(running: Running): void {
  try {
    process.kill(-running.child.pid!, 'SIGKILL');
  } catch {
    running.child.kill('SIGKILL');
  }
}

function start(spec: ChildSpec, format: LogFormat, inbox: Inbox, log: Log): Running {
  const child = fork(spec.module, spec.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  pipeLines(spec.name, child.stdout!, process.stdout, format);
  pipeLines(spec.name, child.stderr!, process.stderr, format);
  child.on('error', () => {}); // reported by its exit
  const running: Running = {
    spec, child, startedAt: Date.now(),
    // 'exit', then 'close' or a moment, whichever comes first: the child's last log lines are read
    // by then, and a dead supervisor's orphaned workers, which hold its output open until they
    // finish their jobs, do not hold up its restart.
    exited: new Promise((resolve) => child.once('exit', (code, signal) => {
      const closed = new Promise<void>((done) => (child.stdout!.closed && child.stderr!.closed ? done() : child.once('close', () => done())));
      void Promise.race([closed, within(OUTPUT_GRACE_MS)]).then(() => {
        inbox.record({ type: 'exit', running, code, signal });
        resolve();
      });
    })),
  };
  log(`started ${spec.name}`, { childPid: child.pid });
  return running;
}

/** The holder of the embedded PostgreSQL, once the server answers; undefined if it could not start. */
async function startPostgres(config: Config, format: LogFormat, inbox: Inbox, log: Log): Promise<Running | undefined> {
  const holder = start(POSTGRES_HOLDER, format, inbox, log);
  const ready = await new Promise<PostgresReady | undefined>((resolve) => {
    holder.child.on('message', (message: PostgresReady) => message.type === 'postgres-ready' && resolve(message));
    void holder.exited.then(() => resolve(undefined));
  });
  if (!ready) return undefined;
  log(`embedded PostgreSQL on 127.0.0.1:${config.embeddedPgPort}`, { dataDir: config.dataDir, postmasterPid: ready.postmasterPid });
  return holder;
}

/** Keeps the children running until a signal, or a failure that must stop everything; returns the exit code. */
async function supervise(specs: ChildSpec[], running: Map<string, Running>, postgres: Running | undefined, inbox: Inbox, start: (spec: ChildSpec) => Running, log: Log): Promise<number> {
  const failures = new Map<string, number>();
  for (const spec of specs) running.set(spec.name, start(spec));
  while (inbox.signals === 0) {
    const event = await inbox.next();
    if (event.type === 'restart') running.set(event.spec.name, start(event.spec));
    if (event.type !== 'exit') continue;
    if (event.running === postgres) {
      log('embedded PostgreSQL stopped unexpectedly; stopping everything', {}, 50);
      return 1;
    }
    const { spec } = event.running;
    if (running.get(spec.name) !== event.running) continue;
    if (event.code === CONFIG_ERROR_EXIT) {
      log(`${spec.name} refused its configuration; stopping everything`, {}, 50);
      return CONFIG_ERROR_EXIT;
    }
    const healthy = isHealthy(event.running.startedAt, undefined, Date.now(), HEALTHY_UPTIME_MS);
    const n = healthy ? 0 : (failures.get(spec.name) ?? 0);
    failures.set(spec.name, n + 1);
    const delayMs = backoffDelay(n, BACKOFF);
    log(`${spec.name} exited (code ${event.code}, signal ${event.signal}); restarting in ${delayMs} ms`, {}, 40);
    setTimeout(() => inbox.signals === 0 && inbox.record({ type: 'restart', spec }), delayMs).unref();
  }
  return 0;
}

/** SIGTERM to every child; what is left after the grace period (or a second Ctrl-C) is killed. PostgreSQL last. */
async function stopAll(children: Running[], postgres: Running | undefined, graceMs: number, inbox: Inbox, log: Log): Promise<boolean> {
  for (const child of children) child.child.kill('SIGTERM');
  await Promise.race([Promise.all(children.map((c) => c.exited)), within(graceMs), inbox.forced()]);
  const left = children.filter(alive);
  if (left.length > 0) {
    log(`killing ${left.map((c) => c.spec.name).join(', ')}`, {}, 40);
    for (const child of left) killGroup(child);
    await Promise.race([Promise.all(left.map((c) => c.exited)), within(5000)]);
  }
  if (postgres && alive(postgres)) {
    postgres.child.kill('SIGTERM');
    await Promise.race([postgres.exited, within(POSTGRES_STOP_MS)]);
    if (alive(postgres)) killGroup(postgres);
  }
  return left.length === 0;
}

async function main(): Promise<number> {
  const config = loadConfig();
  const format = logFormat();
  const log = createLog(format);
  const inbox = new Inbox();
  const onSignal = () => inbox.record({ type: 'signal' });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const startChild = (spec: ChildSpec) => start(spec, format, inbox, log);

  let postgres: Running | undefined;
  if (config.mode === 'embedded') {
    postgres = await startPostgres(config, format, inbox, log);
    if (!postgres) {
      log('embedded PostgreSQL did not start; see the lines above', {}, 50);
      return 1;
    }
  } else {
    log(`store: ${config.mode}`);
  }

  const running = new Map<string, Running>();
  let exitCode = inbox.signals > 0 ? 0 : await supervise(childSpecs(config), running, postgres, inbox, startChild, log);
  log(inbox.signals > 0 ? 'stopping: workers finish their jobs, the api its requests (Ctrl-C again to force)' : 'stopping');
  const clean = await stopAll([...running.values()].filter(alive), postgres, config.shutdownTimeoutMs + 5000, inbox, log);
  if (!clean && exitCode === 0) exitCode = inbox.signals > 1 ? 130 : 1;
  log('stopped', { exitCode });
  return exitCode;
}

runMain('jobvisor failed', main);
