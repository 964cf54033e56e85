// Request bodies checked before any route reads them: no NUL byte in any
// string or key (PostgreSQL refuses them, and an id holding one is never what a
// client meant), and no nesting deeper than API_MAX_JSON_DEPTH (every reader
// after the parser, zod, msgpack and the store among them, recurses). Walked
// without recursion, so a body deep enough to matter cannot hurt the check.
import type { FieldIssue } from '../lib/errors.js';

interface Pending {
  value: unknown;
  path: string[];
  depth: number;
}

const segment = (key: string) => (key.includes('\0') ? JSON.stringify(key) : key);

export function jsonShapeIssue(body: unknown, maxDepth: number): FieldIssue | undefined {
  const stack: Pending[] = [{ value: body, path: [], depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\0')) return { field: path.join('.') || 'body', message: 'contains a NUL byte' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth + 1 > maxDepth) return { field: path[0] ?? 'body', message: `nested deeper than ${maxDepth} levels (API_MAX_JSON_DEPTH)` };
    for (const [key, child] of Object.entries(value)) {
      if (key.includes('\0')) return { field: [...path, segment(key)].join('.'), message: 'has a key that contains a NUL byte' };
      stack.push({ value: child, path: [...path, key], depth: depth + 1 });
    }
  }
  return undefined;
}
