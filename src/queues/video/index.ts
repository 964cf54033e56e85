// video: transcode a local file with ffmpeg. Its budget covers the worker process
// only: ffmpeg runs as a child with its own memory (BENCHMARKS.md, "Video worker
// memory": ~110 MB peak for the worker, ~155 MB for two ffmpeg children at 480p).
import { defineQueue } from '../define.js';
import { videoSchema } from './schema.js';

export default defineQueue({
  name: 'video',
  defaults: { concurrency: 2, maxMemoryMb: 512, drainTimeoutMs: 120_000, rank: 2, targetWaitMs: 60_000 },
  access: 'user',
  schema: videoSchema,
  handler: () => import('./handler.js'),
});
