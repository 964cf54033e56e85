// Command-line tools some suites drive (promtool, Chromium): where they are, and
// the rule for when they are missing (skip loudly here, fail under REQUIRE_SERVICES=1).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { REQUIRE_SERVICES } from './services.js';

export const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** In a mocha `before`: the suite needs this executable (.ci/run installs it with apt-get). */
export async function requireTool(ctx: Mocha.Context, name: string, file: string): Promise<void> {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return;
  } catch {
    const message = `${name} is not installed at ${file}: this suite needs it (.ci/run installs it with apt-get)`;
    if (REQUIRE_SERVICES) throw new Error(`${message} (REQUIRE_SERVICES=1)`);
    console.warn(`\n  !!! SKIPPED: ${message}. Install it, or set REQUIRE_SERVICES=1 to make this a failure.\n`);
    ctx.skip();
  }
}

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to its end, with `input` on its stdin; never rejects on a non-zero exit. */
export function run(file: string, args: string[], input?: string): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (error && code === -1) return reject(error);
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}
