import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeSchedules } from './describe-schedules.js';
import { describeStore, type ModeHarness } from './describe-store.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-embedded-'));
const port = 55_000 + Math.floor(Math.random() * 1000);
const harness: ModeHarness = {
  require: async () => {}, // needs nothing but the npm package
  config: (jobs) => ({ mode: 'embedded', dataDir, embeddedPgPort: port, prefix: 'jobvisor', jobs: jobs as never }),
  workerEnv: () => ({ REDIS_URL: '', DATABASE_URL: '', JOBVISOR_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) }),
  cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
};

describeStore('embedded', harness);
describeSchedules('embedded', harness);
