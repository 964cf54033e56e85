// The README's "add your own queue" done for real on a copy of the source tree:
// one folder and one registry line, and the config, the api's check, the
// handler loader and the type checker all see the new queue.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../../helpers/fork.js';

const FILES = {
  'schema.ts': `import { z } from 'zod';
export const echoSchema = z.object({ word: z.string().min(1) });
`,
  'handler.ts': `import { defineHandler } from '../define.js';
import { echoSchema } from './schema.js';
export default defineHandler({ schema: echoSchema, async run(data) { return { echoed: data.word }; } });
`,
  'index.ts': `import { defineQueue } from '../define.js';
import { echoSchema } from './schema.js';
export default defineQueue({
  name: 'echo',
  defaults: { concurrency: 2, maxMemoryMb: 128, drainTimeoutMs: 5000, rank: 5, targetWaitMs: 10_000 },
  access: 'user',
  schema: echoSchema,
  handler: () => import('./handler.js'),
});
`,
};

/** A copy of src/ and the tsconfigs, with node_modules linked, in a fresh folder. */
function copyTree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-add-queue-'));
  fs.cpSync(path.join(ROOT, 'src'), path.join(dir, 'src'), { recursive: true });
  for (const file of ['tsconfig.json', 'package.json']) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function addQueue(dir: string, definition = FILES['index.ts']): void {
  const folder = path.join(dir, 'src/queues/echo');
  fs.mkdirSync(folder);
  for (const [name, text] of Object.entries({ ...FILES, 'index.ts': definition })) fs.writeFileSync(path.join(folder, name), text);
  const registry = path.join(dir, 'src/queues/index.ts');
  const source = fs.readFileSync(registry, 'utf8')
    .replace(/^(import video from .*)$/m, `$1\nimport echo from './echo/index.js';`)
    .replace('const QUEUE_LIST = [', 'const QUEUE_LIST = [echo, ');
  fs.writeFileSync(registry, source);
}

function typecheck(dir: string) {
  return spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir, '--noEmit'], { encoding: 'utf8' });
}

describe('adding a queue: one folder and one registry line', function () {
  this.timeout(90_000);
  const made: string[] = [];
  after(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('makes the queue known to the config, the api check and the worker, and it type-checks', () => {
    const dir = copyTree();
    made.push(dir);
    addQueue(dir);
    const checked = typecheck(dir);
    expect(checked.status, checked.stdout + checked.stderr).to.equal(0);
    const script = `
      const { loadConfig } = require('./src/lib/config.ts');
      const { validateJobData } = require('./src/queues/validate.ts');
      const { loadHandler } = require('./src/workers/registry.ts');
      (async () => {
        const config = loadConfig({ QUEUE_ECHO_CONCURRENCY: '7' });
        const handler = await loadHandler('echo');
        const result = await handler.run({ word: 'hi' }, {});
        process.stdout.write(JSON.stringify({
          concurrency: config.queues.echo.concurrency, budget: config.queues.echo.maxMemoryMb,
          good: validateJobData('echo', { word: 'hi' }).ok, bad: validateJobData('echo', { word: '' }), result,
        }));
      })();`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out)).to.deep.equal({
      concurrency: 7, budget: 128, good: true,
      bad: { ok: false, field: 'data.word', message: 'Too small: expected string to have >=1 characters' },
      result: { echoed: 'hi' },
    });
  });

  it('refuses to compile a queue defined without a schema', () => {
    const dir = copyTree();
    made.push(dir);
    addQueue(dir, FILES['index.ts'].replace('  schema: echoSchema,\n', ''));
    const checked = typecheck(dir);
    expect(checked.status).to.not.equal(0);
    expect(checked.stdout).to.match(/src\/queues\/echo\/index\.ts.*schema/s);
  });
});
