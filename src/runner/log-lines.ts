// Children's output, one line at a time, under their name. In development the
// pino JSON is shown as short readable lines; in production (NODE_ENV=production
// or JOBVISOR_LOG_FORMAT=json) JSON lines pass through whole, for a collector.
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { isProduction } from '../lib/config.js';

export type LogFormat = 'pretty' | 'json';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<string, string> = { WARN: '\x1b[33m', ERROR: '\x1b[31m', FATAL: '\x1b[31m', DEBUG: '\x1b[90m', TRACE: '\x1b[90m' };
// Shown in JSON only: the request log's message already says method, URL, status and time.
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'role', 'v', 'req', 'res', 'responseTime']);

export function logFormat(env: NodeJS.ProcessEnv = process.env): LogFormat {
  if (env.JOBVISOR_LOG_FORMAT === 'json' || env.JOBVISOR_LOG_FORMAT === 'pretty') return env.JOBVISOR_LOG_FORMAT;
  return isProduction(env.NODE_ENV) ? 'json' : 'pretty';
}

function pretty(name: string, line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
    if (typeof entry !== 'object' || entry === null || typeof entry.level !== 'number') throw new Error('not pino');
  } catch {
    return `[${name}] ${line}`;
  }
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now()).toISOString().slice(11, 23);
  const level = LEVELS[entry.level as number] ?? String(entry.level);
  const extra = Object.entries(entry).filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ');
  const paint = color && COLORS[level] ? (s: string) => `${COLORS[level]}${s}\x1b[0m` : (s: string) => s;
  // Worker processes write through the supervisor's output: their own role names them ([worker:video]).
  const label = typeof entry.role === 'string' ? entry.role : name;
  return `${time} ${paint(level.padEnd(5))} [${label}] ${String(entry.msg ?? '')}${extra ? `  ${extra}` : ''}`;
}

export function formatLine(name: string, line: string, format: LogFormat, color = false): string {
  if (format === 'pretty') return pretty(name, line, color);
  return line.startsWith('{') ? line : `[${name}] ${line}`;
}

export function pipeLines(name: string, from: Readable, to: NodeJS.WritableStream, format: LogFormat): void {
  const color = format === 'pretty' && Boolean((to as { isTTY?: boolean }).isTTY);
  readline.createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => to.write(`${formatLine(name, line, format, color)}\n`));
}
