// How every jobvisor process ends: with its main's exit code, or, when it fails,
// with a one-line reason on stderr and 78 (EX_CONFIG) for a refused
// configuration, so that the runner and pm2 can tell "will never start" from a crash.
import { ConfigError } from './config.js';

export const CONFIG_ERROR_EXIT = 78;

export function runMain(failure: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      const message = error instanceof ConfigError ? error.message : (error.stack ?? error.message);
      process.stderr.write(`${failure}: ${message}\n`);
      process.exit(error instanceof ConfigError ? CONFIG_ERROR_EXIT : 1);
    },
  );
}
