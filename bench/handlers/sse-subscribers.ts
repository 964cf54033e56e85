// The subscribers of bench/sse-idle.ts: opens one event stream per path and keeps it open.
import http from 'node:http';

export const openSubscribers = __filename;

if (process.send) {
  process.once('message', ({ port, paths }: { port: number; paths: string[] }) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    let open = 0;
    for (const path of paths) {
      http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.on('data', () => {});
        if (++open === paths.length) process.send!('open');
      });
    }
  });
}
