// The anchors bench/http.ts measures jobvisor's api against: what an
// application would write by hand to enqueue over HTTP, with no auth, no
// validation and no logging. Plain JavaScript, run by node as is (no tsx).
//   node bench/http-anchors.mjs express|node   (REDIS_URL, JOBVISOR_PREFIX; answers 'api-listening' over IPC)
import http from 'node:http';
import { Queue } from 'bullmq';
import express from 'express';

const kind = process.argv[2];
const queues = new Map();
const queueOf = (name) => {
  if (!queues.has(name)) queues.set(name, new Queue(name, { connection: { url: process.env.REDIS_URL, maxRetriesPerRequest: null }, prefix: process.env.JOBVISOR_PREFIX }));
  return queues.get(name);
};
const view = (job, queue) => ({ id: job.id, queue, state: 'waiting', statusUrl: `/api/jobs/${queue}/${job.id}` });

async function enqueue(body) {
  const job = await queueOf(body.queue).add(body.name ?? 'default', body.data);
  return view(job, body.queue);
}

async function enqueueBulk(body) {
  const jobs = await queueOf(body.jobs[0].queue).addBulk(body.jobs.map((j) => ({ name: j.name ?? 'default', data: j.data })));
  return { jobs: jobs.map((job, i) => view(job, body.jobs[i].queue)) };
}

function expressApp() {
  const app = express();
  app.use(express.json({ limit: '1mb' }));
  app.post('/api/jobs', async (req, res) => void res.status(202).json(await enqueue(req.body)));
  app.post('/api/jobs/bulk', async (req, res) => void res.status(202).json(await enqueueBulk(req.body)));
  return app;
}

function nodeApp() {
  const routes = { '/api/jobs': enqueue, '/api/jobs/bulk': enqueueBulk };
  return (req, res) => {
    const route = req.method === 'POST' ? routes[req.url] : undefined;
    if (!route) return void res.writeHead(404).end();
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const answer = JSON.stringify(await route(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
    });
  };
}

const server = http.createServer(kind === 'express' ? expressApp() : nodeApp());
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'api-listening', port: server.address().port }));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void Promise.all([...queues.values()].map((queue) => queue.close())).then(() => process.exit(0));
});
