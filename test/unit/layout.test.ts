// The folders are the architecture (ARCHITECTURE.md, "What may import what"):
// this test reads every import in src/ and fails on one that crosses a line.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const SRC = path.resolve(__dirname, '../../src');
const ENGINE_PACKAGES = /^(bullmq|ioredis|pg|@bull-board\/api\/bullMQAdapter)(\/|$)/;

/** What each process folder may import from src/, besides itself. */
const ALLOWED: Record<string, RegExp[]> = {
  lib: [/^queues\/(index|define)\.ts$/, /^queues\/[^/]+\/(index|schema)\.ts$/],
  queues: [/^lib\//],
  api: [/^lib\//, /^queues\/(index|define|validate|schedules)\.ts$/],
  supervisor: [/^lib\//, /^queues\/(index|schedules)\.ts$/],
  workers: [/^lib\//, /^queues\//, /^supervisor\/messages\.ts$/],
  runner: [/^lib\//, /^supervisor\/policy\.ts$/],
  // The client ships on its own: Node's fetch and crypto, the one file that defines the webhook signature, and the queues' data types.
  client: [/^lib\/webhook-signature\.ts$/, /^queues\/[^/]+\/schema\.ts$/],
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

interface Import { from: string; to: string; dynamic: boolean }

/** Static, type-only and dynamic imports alike; relative ones resolved to a path under src/. */
function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8');
  const from = path.relative(SRC, file);
  const found: Import[] = [];
  for (const match of text.matchAll(/(?:from\s+|import\s+|import\s*\(\s*|require\(\s*)'([^']+)'/g)) {
    const specifier = match[1]!;
    const dynamic = /\(/.test(match[0]);
    const to = specifier.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), specifier)).replace(/\.js$/, '.ts') : specifier;
    found.push({ from, to, dynamic });
  }
  return found;
}

const ALL = sourceFiles(SRC).flatMap(importsOf);
const top = (p: string) => p.split('/')[0]!;

describe('layout: what may import what', () => {
  it('has every process folder listed, so that a new one gets rules', () => {
    const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(folders).to.deep.equal(Object.keys(ALLOWED).sort());
  });

  it('imports bullmq, ioredis and pg only inside src/lib/store', () => {
    const outside = ALL.filter((i) => ENGINE_PACKAGES.test(i.to) && !i.from.startsWith('lib/store/'));
    expect(outside.map((i) => `${i.from} → ${i.to}`)).to.deep.equal([]);
  });

  it('keeps each process folder to its own code, src/lib and what its rules allow', () => {
    const crossing = ALL.filter((i) => !i.to.startsWith('.') && i.to.includes('/') && fs.existsSync(path.join(SRC, i.to)))
      .filter((i) => top(i.to) !== top(i.from) && !ALLOWED[top(i.from)]!.some((rule) => rule.test(i.to)));
    expect(crossing.map((i) => `${i.from} → ${i.to}`)).to.deep.equal([]);
  });

  it('loads a queue handler only lazily, from its own definition', () => {
    const handlerCode = (p: string) => /^queues\/(?!io\/)[^/]+\/(?!index\.ts$|schema\.ts$)/.test(p);
    const eager = ALL.filter((i) => handlerCode(i.to) && !i.dynamic && i.from.split('/').slice(0, 2).join('/') !== i.to.split('/').slice(0, 2).join('/'));
    expect(eager.map((i) => `${i.from} → ${i.to}`)).to.deep.equal([]);
  });
});
