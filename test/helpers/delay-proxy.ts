// A TCP proxy on loopback that delays what the upstream sends back by a settable number of
// milliseconds, keeping the byte order: a slow network between one client (a Keymesh node) and
// its server (an etcd member), so that a test can hold that client's view of the server a known
// time behind, without touching either process. Bytes sent to the upstream are not delayed.
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

export interface DelayProxy {
  /** http://127.0.0.1:PORT of the proxy, to give the client instead of the upstream's. */
  readonly url: string;
  /** Delay for what is received from now on (ms); earlier bytes keep their own release times. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startDelayProxy(upstreamUrl: string): Promise<DelayProxy> {
  const up = new URL(upstreamUrl);
  const sockets = new Set<Socket>();
  const proxy = { delayMs: 0 } as { delayMs: number };
  const server = createServer((client) => {
    const upstream = connect({ host: up.hostname, port: Number(up.port) });
    sockets.add(client).add(upstream);
    // Release times never go backwards, so a lowered delay cannot reorder bytes.
    let lastRelease = 0;
    upstream.on('data', (chunk: Buffer) => {
      const at = Math.max(Date.now() + proxy.delayMs, lastRelease);
      lastRelease = at;
      setTimeout(() => client.write(chunk), at - Date.now());
    });
    client.pipe(upstream);
    const end = () => {
      // After the delayed bytes, so that nothing is cut off.
      setTimeout(() => client.destroy(), Math.max(0, lastRelease - Date.now()));
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    upstream.on('close', end);
    upstream.on('error', end);
    client.on('close', end);
    client.on('error', end);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  });
}
