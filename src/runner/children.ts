// The processes `npm run dev:full` and `npm start` run, in one place: the api,
// and the supervisor, which forks the worker processes of every queue itself.
import path from 'node:path';
import type { Config } from '../lib/config.js';

export interface ChildSpec {
  /** The log prefix: [api], [worker:video]. */
  name: string;
  module: string;
  args: string[];
}

/** Compiled (.js under dist) or run through tsx (.ts under src), the children are the runner's siblings. */
const sibling = (relative: string) => path.join(__dirname, '..', `${relative}${path.extname(__filename)}`);

export function childSpecs(_config: Pick<Config, 'workerQueues'>): ChildSpec[] {
  return [
    { name: 'api', module: sibling('api/server'), args: [] },
    { name: 'supervisor', module: sibling('supervisor/main'), args: [] },
  ];
}

export const POSTGRES_HOLDER: ChildSpec = { name: 'postgres', module: sibling('runner/postgres'), args: [] };
