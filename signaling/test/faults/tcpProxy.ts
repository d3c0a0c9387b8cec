// A TCP proxy on loopback between a client and a real server, that a fault test can cut (every connection reset, new
// ones refused: the server unreachable) and restore on the same port. The server itself keeps running untouched.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A running proxy to `127.0.0.1:<target>`. */
export interface TcpProxy {
  /** The port clients connect to. */
  readonly port: number;
  /** Whether connections are passed through (false while cut). */
  readonly open: boolean;
  /** Resets every connection and stops listening: connecting is refused until `restore()`. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Cuts and stops for good; safe to call twice. */
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port to `targetPort` on loopback. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server: Server = createServer((client) => {
    track(client);
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // Either side failing takes the other down with it, as a dropped link does.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('proxy has no port');
  const { port } = address;
  let open = true;
  let closed: Promise<void> | undefined;

  const cut = async (): Promise<void> => {
    if (!open) return;
    open = false;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    // A reset, not a clean close: the client sees the link drop.
    for (const socket of sockets) socket.resetAndDestroy();
    await stopped;
  };
  return {
    port,
    get open() {
      return open;
    },
    cut,
    restore: async () => {
      if (open) return;
      await listen(port);
      open = true;
    },
    close() {
      closed ??= cut();
      return closed;
    },
  };
}
