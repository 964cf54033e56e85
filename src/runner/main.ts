// `npm run dev:full` and `npm start`: the whole system in one terminal, with
// no process manager. It starts the embedded PostgreSQL (unless REDIS_URL or
// DATABASE_URL is set), then the children of children.ts, each with its log
// lines under its name. A child that crashes is restarted with backoff.
// Ctrl-C (SIGINT) or SIGTERM: every child drains and exits, PostgreSQL stops
// last, exit 0; a second Ctrl-C kills what is left.
// Children run detached (their own process group), so that a Ctrl-C reaches
// this runner alone and each child is asked to stop exactly once.
// Signal and exit handlers only record; the loop in main() acts.
import { fork, type ChildProcess } from 'node:child_process';
import { ConfigError, loadConfig } from '../lib/config.js';
import { childSpecs, POSTGRES_HOLDER, type ChildSpec } from './children.js';
import { formatLine, logFormat, pipeLines, type LogFormat } from './log-lines.js';
import type { PostgresReady } from './postgres.js';

const CONFIG_ERROR_EXIT = 78;
const MAX_BACKOFF_MS = 30_000;
const HEALTHY_UPTIME_MS = 60_000;
const POSTGRES_STOP_MS = 20_000;

interface Running {
  spec: ChildSpec;
  child: ChildProcess;
  startedAt: number;
  exited: Promise<void>;
}

type Event = { type: 'signal' } | { type: 'exit'; running: Running; code: number | null; signal: string | null } | { type: 'restart'; spec: ChildSpec };

function createLog(format: LogFormat) {
  return (msg: string, fields: Record<string, unknown> = {}, level = 30) =>
    process.stdout.write(`${formatLine('jobvisor', JSON.stringify({ level, time: Date.now(), msg, ...fields }), format, process.stdout.isTTY)}\n`);
}

function alive(running: Running): boolean {
  return running.child.exitCode === null && running.child.signalCode === null;
}

function killGroup(running: Running): void {
  try {
    process.kill(-running.child.pid!, 'SIGKILL');
  } catch {
    running.child.kill('SIGKILL');
  }
}

const within = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

async function main(): Promise<number> {
  const config = loadConfig();
  const format = logFormat();
  const log = createLog(format);

  const events: Event[] = [];
  let wake: () => void = () => {};
  const record = (event: Event) => {
    events.push(event);
    wake();
  };
  let signals = 0;
  const onSignal = () => {
    signals++;
    record({ type: 'signal' });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  function start(spec: ChildSpec): Running {
    const child = fork(spec.module, spec.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    pipeLines(spec.name, child.stdout!, process.stdout, format);
    pipeLines(spec.name, child.stderr!, process.stderr, format);
    const running: Running = {
      spec, child, startedAt: Date.now(),
      // 'close', not 'exit': the child's last log lines have been read by then.
      exited: new Promise((resolve) => child.once('close', (code, signal) => {
        record({ type: 'exit', running, code, signal });
        resolve();
      })),
    };
    child.on('error', () => {}); // reported by its exit
    log(`started ${spec.name}`, { childPid: child.pid });
    return running;
  }

  let postgres: Running | undefined;
  if (config.mode === 'embedded') {
    postgres = start(POSTGRES_HOLDER);
    const ready = await new Promise<PostgresReady | undefined>((resolve) => {
      postgres!.child.on('message', (message: PostgresReady) => message.type === 'postgres-ready' && resolve(message));
      void postgres!.exited.then(() => resolve(undefined));
    });
    if (!ready) {
      log('embedded PostgreSQL did not start; see the lines above', {}, 50);
      return 1;
    }
    log(`embedded PostgreSQL on 127.0.0.1:${config.embeddedPgPort}`, { dataDir: config.dataDir, postmasterPid: ready.postmasterPid });
    events.length = 0; // the holder's own events are not the children's
  } else {
    log(`store: ${config.mode}`);
  }

  const running = new Map<string, Running>();
  const failures = new Map<string, number>();
  for (const spec of childSpecs(config)) running.set(spec.name, start(spec));

  let exitCode = 0;
  while (signals === 0) {
    if (events.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const event = events.shift()!;
    if (event.type === 'restart') {
      running.set(event.spec.name, start(event.spec));
    } else if (event.type === 'exit') {
      if (event.running === postgres) {
        log('embedded PostgreSQL stopped unexpectedly; stopping everything', {}, 50);
        exitCode = 1;
        break;
      }
      if (running.get(event.running.spec.name) !== event.running) continue;
      const { spec } = event.running;
      if (event.code === CONFIG_ERROR_EXIT) {
        log(`${spec.name} refused its configuration; stopping everything`, {}, 50);
        exitCode = CONFIG_ERROR_EXIT;
        break;
      }
      const healthy = Date.now() - event.running.startedAt > HEALTHY_UPTIME_MS;
      const n = healthy ? 0 : (failures.get(spec.name) ?? 0);
      failures.set(spec.name, n + 1);
      const delayMs = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** n);
      log(`${spec.name} exited (code ${event.code}, signal ${event.signal}); restarting in ${delayMs} ms`, {}, 40);
      setTimeout(() => signals === 0 && record({ type: 'restart', spec }), delayMs).unref();
    }
  }

  log(signals > 0 ? 'stopping: workers finish their jobs, the api its requests (Ctrl-C again to force)' : 'stopping');
  const children = [...running.values()].filter(alive);
  for (const child of children) child.child.kill('SIGTERM');
  const forced = new Promise<void>((resolve) => {
    const check = () => (signals > 1 ? resolve() : undefined);
    wake = () => {
      events.length = 0;
      check();
    };
    check();
  });
  await Promise.race([Promise.all(children.map((c) => c.exited)), within(config.shutdownTimeoutMs + 5000), forced]);
  const left = children.filter(alive);
  if (left.length > 0) {
    log(`killing ${left.map((c) => c.spec.name).join(', ')}`, {}, 40);
    for (const child of left) killGroup(child);
    await Promise.race([Promise.all(left.map((c) => c.exited)), within(5000)]);
    if (exitCode === 0) exitCode = signals > 1 ? 130 : 1;
  }
  if (postgres && alive(postgres)) {
    postgres.child.kill('SIGTERM');
    await Promise.race([postgres.exited, within(POSTGRES_STOP_MS)]);
    if (alive(postgres)) killGroup(postgres);
  }
  log('stopped', { exitCode });
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`jobvisor failed: ${error instanceof ConfigError ? error.message : (error.stack ?? error.message)}\n`);
    process.exit(error instanceof ConfigError ? CONFIG_ERROR_EXIT : 1);
  },
);
