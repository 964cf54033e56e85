// pm2 apps for production (`npm run build`, then `pm2 start ecosystem.config.js`).
// `api`: stateless, so pm2's cluster mode runs API_INSTANCES copies behind one port.
// `workers`: one supervisor per host, in fork mode; it forks and watches the
// worker processes itself, so pm2 must neither cluster it nor kill its children:
// on stop or reload pm2 sends SIGINT to the supervisor only (treekill: false),
// which drains every worker within SHUTDOWN_TIMEOUT_MS, and pm2 waits longer
// than that (kill_timeout) before it would SIGKILL.
const shutdownTimeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS || 30_000);

module.exports = {
  apps: [
    {
      name: 'api',
      script: 'dist/api/server.js',
      cwd: __dirname,
      exec_mode: 'cluster',
      instances: Number(process.env.API_INSTANCES || 2),
      kill_timeout: 15_000,
      exp_backoff_restart_delay: 100,
    },
    {
      name: 'workers',
      script: 'workers/index.js',
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      treekill: false,
      kill_timeout: shutdownTimeoutMs + 15_000,
      exp_backoff_restart_delay: 100,
    },
  ],
};
