// Request bodies checked before any route reads them: no NUL byte in any
// string or key (PostgreSQL refuses them, and an id holding one is never what a
// client meant), and no nesting deeper than API_MAX_JSON_DEPTH (every reader
// after the parser, zod, msgpack and the store among them, recurses). Walked
// without recursion, so a body deep enough to matter cannot hurt the check.
import type { FieldIssue } from '../lib/errors.js';

/** A value to look at, with the way to it kept as a link to its parent: a path is spelled only for an issue. */
interface Pending {
  value: unknown;
  key: string;
  parent: Pending | undefined;
  depth: number;
}

const segment = (key: string) => (key.includes('\0') ? JSON.stringify(key) : key);

function pathOf(at: Pending): string[] {
  const path: string[] = [];
  for (let p: Pending | undefined = at; p?.parent; p = p.parent) path.unshift(p.key);
  return path;
}

export function jsonShapeIssue(body: unknown, maxDepth: number): FieldIssue | undefined {
  const stack: Pending[] = [{ value: body, key: '', parent: undefined, depth: 0 }];
  while (stack.length > 0) {
    const at = stack.pop()!;
    const { value, depth } = at;
    if (typeof value === 'string') {
      if (value.includes('\0')) return { field: pathOf(at).join('.') || 'body', message: 'contains a NUL byte' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth + 1 > maxDepth) return { field: pathOf(at)[0] ?? 'body', message: `nested deeper than ${maxDepth} levels (API_MAX_JSON_DEPTH)` };
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (key.includes('\0')) return { field: [...pathOf(at), segment(key)].join('.'), message: 'has a key that contains a NUL byte' };
      stack.push({ value: (value as Record<string, unknown>)[key], key, parent: at, depth: depth + 1 });
    }
  }
  return undefined;
}
