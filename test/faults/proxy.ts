// A TCP proxy a fault test cuts and heals: cut, it forwards nothing either way
// but keeps every connection open, as a network partition does (commands hang
// rather than fail); healed, it delivers what was held, as TCP retransmission
// would, and forwards again. Only the clients that connect through it are cut.
import net from 'node:net';

export interface Proxy {
  url: string;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function tcpProxy(target: { host: string; port: number }, scheme = 'redis'): Promise<Proxy> {
  let cut = false;
  const held: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const forward = (from: net.Socket, to: net.Socket) => from.on('data', (chunk: Buffer) => {
    if (cut) held.push(() => to.write(chunk));
    else to.write(chunk);
  });
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    cut: () => void (cut = true),
    heal: () => {
      cut = false;
      for (const deliver of held.splice(0)) deliver();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
