// Entry of the supervisor for node and for pm2 (`node workers/index.js`, or the
// `workers` app in ecosystem.config.js). Build first: `npm run build`.
require('../dist/supervisor/main.js');
