// The list across queues over 100,000 stored jobs in four queues: the first page
// of everything, and the worst case, a state filter nothing matches (a full
// bounded scan reading 2,000 states). Run: node --import tsx bench/list-all.ts [redis|postgres] [jobs=100000]
import request from 'supertest';
import { fillQueues } from '../test/integration/api/fill.js';
import { openApi, postgresBackend, redisBackend } from '../test/integration/api/harness.js';
import { summary } from './stats-util.js';

const backend = process.argv[2] === 'postgres' ? postgresBackend() : redisBackend();
const JOBS = Number(process.argv[3] ?? 100_000);

async function time(api: Awaited<ReturnType<typeof openApi>>, path: string) {
  const samples: number[] = [];
  for (let i = 0; i < 25; i++) {
    const started = performance.now();
    await request(api.app).get(path).expect(200);
    if (i >= 5) samples.push(performance.now() - started);
  }
  const { p50, p95 } = summary(samples);
  console.log(`${backend.name} ${JOBS} jobs  GET ${path}: p50 ${p50} ms, p95 ${p95} ms`);
}

async function main() {
  const api = await openApi(backend);
  try {
    await fillQueues(api.store, JOBS);
    for (const path of ['/api/jobs?limit=100', '/api/jobs?state=completed&projectId=p&limit=100', '/api/jobs?state=completed&limit=100']) {
      await time(api, path);
    }
  } finally {
    await api.store.close();
    await backend.cleanup();
  }
}

void main();
