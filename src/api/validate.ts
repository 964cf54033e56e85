// zod at the edge: a parsed value, or a 400 that names the field.
import type { z } from 'zod';
import { invalid } from './errors.js';

export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalid(result.error, where);
  return result.data;
}
