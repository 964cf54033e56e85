import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { describeBacklog } from './describe-backlog.js';
import { describeSchedules } from './describe-schedules.js';
import { describeRegistry } from './describe-registry.js';
import { describeStore, type ModeHarness } from './describe-store.js';
import { describeTenants } from './describe-tenants.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-embedded-'));
let port = 0;
const harness: ModeHarness = {
  // A port from the OS at each suite's start: each suite starts its own server on a fresh data folder,
  // and a port held from an earlier suite can meanwhile be an outgoing connection's.
  require: async () => {
    port = await freePort(); // needs nothing but the npm package, and a port
  },
  config: (jobs) => ({ mode: 'embedded', dataDir, embeddedPgPort: port, prefix: 'jobvisor', jobs: jobs as never }),
  workerEnv: () => ({ REDIS_URL: '', DATABASE_URL: '', JOBVISOR_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) }),
  cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
};

describeStore('embedded', harness);
describeSchedules('embedded', harness);
describeTenants('embedded', harness);
describeBacklog('embedded', harness);
describeRegistry('embedded', harness);
